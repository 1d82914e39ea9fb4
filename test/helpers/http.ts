// HTTP clients for tests: `request`, one exchange on a fresh connection with any Host (fetch
// cannot set Host), and `rawExchange`, for the bytes no client library would send (a malformed
// request, a head of an exact size): written on a raw socket, the answer parsed by undici; and
// `rawConnection`, a socket kept open whose received text and close a test watches.
import http from 'node:http';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { Client } from 'undici';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string | number>;
    body?: Buffer;
    /** Default: none, a fresh connection per request. */
    agent?: http.Agent;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface RawReply {
  /** Undefined when the connection ended with no (complete) response head. */
  status: number | undefined;
  headers: Record<string, string>;
  body: Buffer;
  /** Bytes received, for diagnostics. */
  received: number;
  timedOut: boolean;
}

/**
 * Writes `bytes` on a fresh connection and reads until the server closes it (the request
 * should say `Connection: close`; `timeoutMs` bounds it otherwise), so anything a client could
 * put on the wire can be sent. The first final response is parsed by undici: its client is
 * handed a view of the socket whose writes go nowhere, so it reads the answer to our bytes as
 * the answer to the request it believes it sent.
 */
export async function rawExchange(
  port: number,
  bytes: Buffer,
  timeoutMs: number,
): Promise<RawReply> {
  const socket = net.connect({ host: '127.0.0.1', port });
  // The server may answer and close before it has read everything we sent.
  socket.on('error', () => {});
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    socket.destroy();
  }, timeoutMs);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // Not end(): Node's server takes a client's half-close as leaving, and drops the request.
  socket.write(bytes);
  const reply = await parseAnswer(socket, bytes.toString('latin1', 0, 5) === 'HEAD ');
  await closed;
  clearTimeout(timer);
  return { ...reply, received: socket.bytesRead, timedOut };
}

async function parseAnswer(
  socket: net.Socket,
  head: boolean,
): Promise<Pick<RawReply, 'status' | 'headers' | 'body'>> {
  const client = new Client('http://127.0.0.1', {
    connect: (_options, callback) => {
      const view = readOnlyView(socket);
      // As a real connector does: the socket is handed over once connected, never at once.
      if (!socket.connecting) process.nextTick(callback, null, view);
      else {
        const refused = () => callback(new Error('the connection closed before it opened'), null);
        socket.once('close', refused);
        socket.once('connect', () => {
          socket.off('close', refused);
          callback(null, view as never);
        });
      }
      return view as never;
    },
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const chunks: Buffer[] = [];
  try {
    const response = await client.request({ method: head ? 'HEAD' : 'GET', path: '/' });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    try {
      for await (const chunk of response.body) chunks.push(chunk as Buffer);
    } catch {
      // Closed mid-body: what came is the body.
    }
    return { status: response.statusCode, headers, body: Buffer.concat(chunks) };
  } catch {
    return { status: undefined, headers: {}, body: Buffer.alloc(0) };
  } finally {
    void client.destroy().catch(() => {});
  }
}

/** The socket's incoming bytes, as a stream undici can take for its connection. */
function readOnlyView(socket: net.Socket): Duplex {
  const view = new Duplex({
    read: () => socket.resume(),
    write: (_chunk, _encoding, callback) => callback(),
  });
  socket.on('data', (chunk: Buffer) => {
    if (!view.push(chunk)) socket.pause();
  });
  socket.once('close', () => view.push(null));
  // What undici calls on a net.Socket; the real socket's options are the test's business.
  return Object.assign(view, {
    setNoDelay: () => view,
    setKeepAlive: () => view,
    setTimeout: () => view,
    ref: () => view,
    unref: () => view,
  });
}

/** A raw connection to 127.0.0.1: what it has received so far, and whether the peer closed it. */
export function rawConnection(port: number): { socket: net.Socket; text: string; closed: boolean } {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const state = { socket, text: '', closed: false };
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    state.text += chunk;
  });
  socket.on('close', () => {
    state.closed = true;
  });
  return state;
}
