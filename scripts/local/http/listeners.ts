// The two listeners of the local stack, the HTTP API's and the ALB's, with the limits both
// put on slow clients, and the way both are closed when the stack stops.
import type http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** How long stop() lets open client connections finish before closing them. */
const CLIENT_CLOSE_GRACE_MS = 1_000;
/**
 * How long a client may take to send a request's head, and the whole request, before the
 * listeners answer 408 and close. API Gateway cuts slow clients too, at limits it does not
 * publish; Node's defaults (60 s and 300 s, checked every 30 s) let a slowloris client hold a
 * connection for up to 90 s. The request limit matches the longest integration timeout.
 */
const CLIENT_HEADERS_TIMEOUT_MS = 10_000;
const CLIENT_REQUEST_TIMEOUT_MS = 30_000;

export interface ClientTimeouts {
  headersMs?: number;
  requestMs?: number;
  /** How long an early answer waits on a client that stopped sending its body (linger.ts). */
  lingerMs?: number;
}

export class ListenError extends Error {
  override name = 'ListenError';
}

export function serverOptions(timeouts: ClientTimeouts = {}): http.ServerOptions {
  const headersTimeout = timeouts.headersMs ?? CLIENT_HEADERS_TIMEOUT_MS;
  return {
    // A request with no Host is answered by the listener's own handler, in its own shape:
    // node:http's check would answer a bare 400 before any handler runs.
    requireHostHeader: false,
    headersTimeout,
    requestTimeout: timeouts.requestMs ?? CLIENT_REQUEST_TIMEOUT_MS,
    // Node enforces both limits only when it sweeps its connections; sweeping this often, a
    // slow client is cut at most a quarter of the head limit (and at most 1 s) late.
    connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.round(headersTimeout / 4))),
  };
}

export function listen(
  server: http.Server,
  port: number,
  host: string,
  what: string,
  flag: string,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new ListenError(
            `${what} could not listen on ${host}:${port}: the port is in use by another process.\n` +
              `Stop that process (lsof -i :${port}) or pick another port: npm start -- ${flag} ${port + 1}`,
          ),
        );
      } else {
        reject(new ListenError(`${what} could not listen on ${host}:${port}: ${error.message}`));
      }
    });
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Stops accepting, lets open requests finish for a moment, then closes what is left. */
export async function closeServers(servers: readonly http.Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          const force = setTimeout(() => server.closeAllConnections(), CLIENT_CLOSE_GRACE_MS);
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        }),
    ),
  );
}

/** Writes a whole answer on a socket no response owns, then closes the connection. */
export function answerAndClose(socket: Socket | Duplex, answer: string | Buffer): void {
  socket.on('error', () => {});
  socket.end(answer, () => socket.destroy());
}
