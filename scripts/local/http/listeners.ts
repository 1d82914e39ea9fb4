// The two listeners of the local stack, the HTTP API's and the ALB's, with the limits both
// put on slow clients, and the way both are closed when the stack stops.
import type http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
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

/** How many ports above a busy one are tried for the hint that names a free one. */
const HINT_PORTS_TRIED = 20;

/** Whether `port` of `host` can be listened on now (bound and released at once). */
function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/**
 * The first port above `port` that nothing listens on now and that `npm start` does not claim
 * for another of its listeners (`claimed`), for the hint after EADDRINUSE; undefined when none
 * of the next few is.
 */
export async function freePortAbove(
  port: number,
  host: string,
  claimed: readonly number[],
): Promise<number | undefined> {
  for (
    let candidate = port + 1;
    candidate <= Math.min(port + HINT_PORTS_TRIED, 65_535);
    candidate++
  ) {
    if (!claimed.includes(candidate) && (await canListen(candidate, host))) return candidate;
  }
  return undefined;
}

/**
 * Listens on `port` of `host`. A port in use is a ListenError naming the flag to change and a
 * port to change it to that is free now and none of `claimed` (the stack's other listeners').
 */
export function listen(
  server: http.Server,
  port: number,
  host: string,
  what: string,
  flag: string,
  claimed: readonly number[] = [],
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') {
        reject(new ListenError(`${what} could not listen on ${host}:${port}: ${error.message}`));
        return;
      }
      void freePortAbove(port, host, claimed).then((free) => {
        const other = free === undefined ? '0 (a free one)' : String(free);
        reject(
          new ListenError(
            `${what} could not listen on ${host}:${port}: the port is in use by another process.\n` +
              `Stop that process (lsof -i :${port}) or pick another port: npm start -- ${flag} ${other}`,
          ),
        );
      });
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
          // close() also closes the idle keep-alive connections (Node >= 19, the http docs'
          // server.closeIdleConnections()); the force is for requests still open.
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
        }),
    ),
  );
}

/** Writes a whole answer on a socket no response owns, then closes the connection. */
export function answerAndClose(socket: Socket | Duplex, answer: string | Buffer): void {
  socket.on('error', () => {});
  socket.end(answer, () => socket.destroy());
}
