// The local stack's two listeners (scripts/local/http/listeners.ts), driven in this process. A
// listener whose port is taken says which flag to change and to what: a port free at that
// moment that none of npm start's other listeners claims (before, it named the next port up,
// the console's default 8081 for a busy 8080, so following it failed again). Also: any other
// listen failure in its own words; the limits on slow clients; a request with no Host reaching
// the handler; stopping (open requests finish, idle connections go, a stuck one is cut); and
// an answer written on a raw socket whose client may already be gone.
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  answerAndClose,
  closeServers,
  ListenError,
  listen,
  serverOptions,
} from '../../scripts/local/http/listeners.ts';
import { rawExchange, request } from '../helpers/http.ts';

const HOST = '127.0.0.1';
const held: http.Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function hold(port: number): Promise<boolean> {
  const server = http.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => {
      held.push(server);
      resolve(true);
    });
  });
}

/** Two ports in a row, both held here: `port` and `port + 1`. */
async function twoBusyPorts(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await hold(port)) && (await hold(port + 1))) return port;
    await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  }
  throw new Error('no two free ports in a row');
}

describe('listen() on a port in use', () => {
  it('names a port that is free and not claimed by the stack', async () => {
    const busy = await twoBusyPorts();
    const claimed = busy + 2;
    const error = await listen(http.createServer(), busy, HOST, 'The local HTTP API', '--port', [
      claimed,
    ]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ListenError);
    const message = (error as Error).message;
    expect(message).toContain(`could not listen on ${HOST}:${busy}: the port is in use`);
    const offered = Number(/npm start -- --port (\d+)$/.exec(message)?.[1]);
    expect(offered).toBeGreaterThan(claimed);
    // Free when offered (nothing else here takes ports in this range).
    const server = http.createServer();
    await listen(server, offered, HOST, 'The offered port', '--port');
    expect((server.address() as AddressInfo).port).toBe(offered);
    held.push(server);
  });

  it('names no port at all when none of the next ones is free: 0 picks one', async () => {
    const busy = await twoBusyPorts();
    const claimed = Array.from({ length: 20 }, (_, i) => busy + 2 + i);
    const error = await listen(http.createServer(), busy, HOST, 'The local ALB', '--alb-port', [
      ...claimed,
    ]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/npm start -- --alb-port 0 \(a free one\)$/);
  });

  it('tries as far as the 20th port above', async () => {
    const busy = await twoBusyPorts();
    const claimed = Array.from({ length: 18 }, (_, i) => busy + 2 + i);
    if (!(await hold(busy + 20))) return; // Taken by something else here: nothing to show.
    await Promise.all(held.splice(-1).map((s) => new Promise((resolve) => s.close(resolve))));
    const error = await listen(http.createServer(), busy, HOST, 'The local ALB', '--alb-port', [
      ...claimed,
    ]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(new RegExp(`npm start -- --alb-port ${busy + 20}$`));
  });

  it('names no port above the last one there is', async () => {
    if (!(await hold(65_535))) return; // Taken by something else here: nothing to show.
    const error = await listen(http.createServer(), 65_535, HOST, 'The console', '--console-port')
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/npm start -- --console-port 0 \(a free one\)$/);
  });
});

describe('listen() failing for another reason', () => {
  it('says so in its own words, with the address it tried', async () => {
    // 192.0.2.1 (TEST-NET-1, RFC 5737) is no address of this machine: EADDRNOTAVAIL.
    const error = await listen(http.createServer(), 0, '192.0.2.1', 'The local ALB', '--alb-port')
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ListenError);
    expect((error as Error).message).toMatch(
      /^The local ALB could not listen on 192\.0\.2\.1:0: listen EADDRNOTAVAIL/,
    );
  });
});

/** A server with `options` on a free port of HOST; closed after the test. */
async function serve(
  options: http.ServerOptions,
  handler: http.RequestListener = (_, res) => res.end('ok'),
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(options, handler);
  const port = await listen(server, 0, HOST, 'test', '--port');
  held.push(server);
  return { server, port };
}

/** Long enough never to be reached here: a server that never closes fails the test. */
const HANG_MS = 30_000;

describe('the limits on clients', () => {
  it('cut a client that stops mid-head with a 408, and close its connection', async () => {
    const { port } = await serve(serverOptions({ headersMs: 100, requestMs: 200 }));
    const reply = await rawExchange(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'), HANG_MS);
    expect([reply.status, reply.timedOut]).toEqual([408, false]);
  });

  it('let a request with no Host reach the handler, which answers it in its own shape', async () => {
    const { port } = await serve(serverOptions(), (req, res) => {
      res.setHeader('connection', 'close');
      res.end(`host: ${req.headers.host ?? 'none'}`);
    });
    const reply = await rawExchange(port, Buffer.from('GET / HTTP/1.1\r\n\r\n'), HANG_MS);
    expect([reply.status, reply.body.toString()]).toEqual([200, 'host: none']);
  });

  it.each([
    // [given, head limit, request limit, how often Node sweeps]
    [{}, 10_000, 30_000, 1_000],
    [{ headersMs: 2_000, requestMs: 5_000 }, 2_000, 5_000, 500],
    [{ headersMs: 100 }, 100, 30_000, 50],
  ])(
    'are %j: the head within %i ms, the request within %i, looked at every %i ms',
    (given, headersTimeout, requestTimeout, interval) => {
      expect(serverOptions(given)).toEqual({
        requireHostHeader: false,
        headersTimeout,
        requestTimeout,
        connectionsCheckingInterval: interval,
      });
    },
  );
});

describe('closeServers', () => {
  it('lets an open request finish, and closes an idle keep-alive connection', async () => {
    let release: (() => void) | undefined;
    const { server, port } = await serve(serverOptions(), (req, res) => {
      if (req.url === '/slow') release = () => res.end('finished');
      else res.end('quick');
    });
    const get = async (path: string, agent?: http.Agent) =>
      (await request(`http://${HOST}:${port}${path}`, agent ? { agent } : {})).body;
    const keepAlive = new http.Agent({ keepAlive: true });
    expect(await get('/quick', keepAlive)).toBe('quick');
    const idle = Object.values(keepAlive.freeSockets).flat()[0];
    if (!idle) throw new Error('no idle keep-alive socket');
    const idleClosed = once(idle, 'close');
    const slow = get('/slow');
    while (release === undefined) await new Promise((resolve) => setImmediate(resolve));
    const closed = closeServers([server]);
    await idleClosed;
    release();
    expect(await slow).toBe('finished');
    await closed;
    expect(server.listening).toBe(false);
    keepAlive.destroy();
  });

  it('cuts a request that does not finish once the grace is over', async () => {
    const { server, port } = await serve(serverOptions(), () => {});
    const socket = net.connect(port, HOST);
    socket.on('error', () => {});
    socket.write('GET /never HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => server.once('request', resolve));
    await closeServers([server]);
    if (!socket.destroyed) await once(socket, 'close');
    expect(server.listening).toBe(false);
  });

  it('leaves no timer behind once the last connection is gone', async () => {
    const { server } = await serve(serverOptions());
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await closeServers([server]);
      // The grace's timer, had it been left, would hold `npm start` open for its length.
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('returns at once for a server that is not listening', async () => {
    await closeServers([http.createServer()]);
  });
});

describe('answerAndClose', () => {
  it('writes the whole answer, then closes the connection', async () => {
    const answer = 'HTTP/1.1 400 Bad\r\n\r\n';
    const server = net.createServer((socket) => answerAndClose(socket, answer));
    held.push(server as unknown as http.Server);
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    const { port } = server.address() as AddressInfo;
    const reply = await rawExchange(port, Buffer.alloc(0), HANG_MS);
    expect([reply.status, reply.received, reply.timedOut]).toEqual([400, answer.length, false]);
  });

  it('closes the connection even when the client keeps its side open', async () => {
    let closed: Promise<unknown> | undefined;
    const server = net.createServer((socket) => {
      closed = new Promise((resolve) => socket.once('close', resolve));
      answerAndClose(socket, 'HTTP/1.1 400 Bad\r\n\r\n');
    });
    held.push(server as unknown as http.Server);
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    const { port } = server.address() as AddressInfo;
    const client = net.connect({ port, host: HOST, allowHalfOpen: true });
    client.resume();
    await once(client, 'end');
    while (closed === undefined) await new Promise((resolve) => setImmediate(resolve));
    await closed;
    client.destroy();
  });

  it('is no crash when the client goes while the answer is being written', async () => {
    let serverSide: net.Socket | undefined;
    const server = net.createServer((socket) => {
      serverSide = socket;
      // More than the socket buffers hold: the write is still pending when the client resets.
      answerAndClose(socket, Buffer.alloc(8 * 1024 * 1024, 'x'));
    });
    held.push(server as unknown as http.Server);
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    const { port } = server.address() as AddressInfo;
    const client = net.connect(port, HOST);
    client.pause();
    await once(client, 'connect');
    while (serverSide === undefined) await new Promise((resolve) => setImmediate(resolve));
    // Not events.once, which would reject on the 'error' answerAndClose swallows.
    const closed = new Promise((resolve) => serverSide?.once('close', resolve));
    client.resetAndDestroy();
    await closed;
  });
});
