// The stack's plumbing, each piece on its own. linger.ts: an answer sent before the client has
// finished sending its body reaches the client at once, and the exchange ends (the connection
// then read on or closed) only once the body is in, or once the client has fallen silent for
// the idle bound (RFC 9112 §9.6's lingering close), judged on real connections on 127.0.0.1
// with the idle bound on a fake clock. line-sink.ts: the stack's lines batched into one write
// per event-loop turn, or past 64 KiB at once. processes.ts: a free port, and a child stopped as
// a service manager stops one (SIGTERM, then SIGKILL once the grace period has passed), by the
// order of events on a fake clock. No assertion reads the wall clock: waits on the loopback are
// bounded by turns of the event loop, in which its bytes have long arrived.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { freePort, terminate } from '../../scripts/cli/processes.ts';
import { endAfterRequest, LINGER_IDLE_MS } from '../../scripts/local/http/linger.ts';
import { bufferedSink, callbackSink } from '../../scripts/local/line-sink.ts';
import { rawConnection } from '../helpers/http.ts';

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One turn of the event loop (its I/O polled, then this). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A few turns, for what a server does right after something happened. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await turn();
}

/**
 * Turns of the event loop until `predicate` holds. Bytes on the loopback are in the peer's
 * socket once written, so a few turns see them; the bound is on turns, never on time.
 */
async function until(what: string, predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 5_000; i++) {
    if (predicate()) return;
    await turn();
  }
  throw new Error(`${what}: not so after 5000 turns of the event loop`);
}

/** Fake setTimeout and clearTimeout only: sockets and setImmediate stay real. */
function fakeTimeouts(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
}

interface Arrival {
  req: IncomingMessage;
  res: ServerResponse;
}

/** A server on 127.0.0.1 whose requests the test answers: `next()` is the next one to arrive. */
async function server(): Promise<{ port: number; next(): Promise<Arrival> }> {
  const arrived: Arrival[] = [];
  let wake = () => {};
  const instance = http.createServer((req, res) => {
    arrived.push({ req, res });
    wake();
  });
  instance.listen(0, '127.0.0.1');
  await once(instance, 'listening');
  cleanups.push(() => {
    instance.closeAllConnections();
    return new Promise((resolve) => instance.close(resolve));
  });
  return {
    port: (instance.address() as AddressInfo).port,
    async next() {
      while (arrived.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return arrived.shift() as Arrival;
    },
  };
}

/** A raw client connection (rawConnection), destroyed after the test. */
function client(port: number) {
  const state = rawConnection(port);
  cleanups.push(() => state.socket.destroy());
  return state;
}

/** A server, and a client that has sent it `text`: the request as it arrived there. */
async function sent(text: string) {
  const { port, next } = await server();
  const c = client(port);
  c.socket.write(text);
  return { c, arrival: await next(), next };
}

/** Until the server has read every byte the client wrote. */
function receivedAll(req: IncomingMessage, socket: net.Socket): Promise<void> {
  return until('the server has read all the client sent', () => {
    return req.socket.bytesRead === socket.bytesWritten;
  });
}

const UPLOAD = 'POST /upload HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 10\r\n\r\n';
const TOO_LARGE = Buffer.from('{"message":"Request Entity Too Large"}');

/** The early answer a gateway or an ALB sends: its head, then `endAfterRequest` with `body`. */
function answerEarly(arrival: Arrival, idleMs: number, body: Buffer | 'none' = TOO_LARGE) {
  const last = body === 'none' ? undefined : body;
  arrival.res.writeHead(413, { 'content-length': String(last?.length ?? 0) });
  endAfterRequest(arrival.req, arrival.res, last, { hasBody: true, idleMs });
}

/**
 * Until the request is over, the client gone. Not events.once: its 'error' listener would make
 * the request emit the "aborted" error that Node emits only to a listener.
 */
function closed(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => req.once('close', () => resolve()));
}

describe('an answer sent before the client has sent its whole body (linger.ts)', () => {
  it('reaches the client at once; the exchange ends once the body is in, and the connection serves the next request', async () => {
    const { c, arrival: first, next } = await sent(`${UPLOAD}hello`);
    answerEarly(first, 60_000);
    await until('the answer', () => c.text.endsWith(TOO_LARGE.toString()));
    expect(c.text.startsWith('HTTP/1.1 413 ')).toBe(true);
    await settle();
    // Half the body is still to come: the exchange is not over, the connection not closed.
    expect(first.res.writableEnded).toBe(false);
    expect(c.closed).toBe(false);
    c.socket.write('world');
    await until('the end of the exchange', () => first.res.writableFinished);
    c.socket.write('GET /next HTTP/1.1\r\nHost: api.example.com\r\n\r\n');
    const second = await next();
    expect(second.req.url).toBe('/next');
    second.res.writeHead(200, { 'content-length': '2' });
    endAfterRequest(second.req, second.res, Buffer.from('ok'), { hasBody: false, idleMs: 60_000 });
    await until('the second answer', () => c.text.endsWith('ok'));
    expect(c.closed).toBe(false);
  });

  it('reaches the client at once when it has no body of its own (a target’s bare 413)', async () => {
    const { c, arrival } = await sent(`${UPLOAD}hello`);
    answerEarly(arrival, 60_000, 'none');
    // A client that reads while it sends (curl) stops sending on it; Node would otherwise hold
    // the head back until the end of the response, once the whole body is in.
    await until('the answer', () => c.text.includes('\r\n\r\n'));
    expect(c.text.startsWith('HTTP/1.1 413 ')).toBe(true);
    expect(arrival.res.writableEnded).toBe(false);
    c.socket.write('world');
    await until('the end of the exchange', () => arrival.res.writableFinished);
    expect(c.closed).toBe(false);
  });

  it.each([
    ['a 204', UPLOAD, 204, undefined],
    ['a 204 given an empty body', UPLOAD, 204, Buffer.alloc(0)],
    ['a 304', UPLOAD, 304, undefined],
    ['the answer to a HEAD', UPLOAD.replace('POST', 'HEAD'), 413, undefined],
  ])(
    'reaches the client at once when it may have no body at all (%s)',
    async (_, head, status, last) => {
      // node:http ignores every write to these responses, an empty one included: only
      // flushHeaders() sends their head before the end.
      const { c, arrival } = await sent(`${head}hello`);
      arrival.res.writeHead(status);
      endAfterRequest(arrival.req, arrival.res, last, { hasBody: true, idleMs: 60_000 });
      await until('the answer', () => c.text.includes('\r\n\r\n'));
      expect(c.text.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      expect(arrival.res.writableEnded).toBe(false);
      c.socket.write('world');
      await until('the end of the exchange', () => arrival.res.writableFinished);
      expect(c.closed).toBe(false);
    },
  );

  it('ends at once a request its caller says has no body, whatever the connection still holds', async () => {
    // A client waiting for 100 Continue holds its body back: that body is no request of ours.
    const {
      c,
      arrival: { req, res },
    } = await sent(UPLOAD);
    res.writeHead(404, { 'content-length': '9' });
    endAfterRequest(req, res, Buffer.from('not found'), { hasBody: false, idleMs: 60_000 });
    expect(res.writableEnded).toBe(true);
    await until('the answer', () => c.text.endsWith('not found'));
  });

  it('ends at once a request whose body has been read already', async () => {
    const {
      c,
      arrival: { req, res },
    } = await sent(`${UPLOAD}helloworld`);
    req.resume();
    await once(req, 'end');
    res.writeHead(201, { 'content-length': '7' });
    endAfterRequest(req, res, Buffer.from('created'), { hasBody: true, idleMs: 60_000 });
    expect(res.writableEnded).toBe(true);
    await until('the answer', () => c.text.endsWith('created'));
  });

  it('ends at once, with nothing left to fire, a request whose client has left', async () => {
    fakeTimeouts();
    const {
      c,
      arrival: { req, res },
    } = await sent(`${UPLOAD}hello`);
    c.socket.destroy();
    await closed(req);
    res.writeHead(413, { 'content-length': String(TOO_LARGE.length) });
    endAfterRequest(req, res, TOO_LARGE, { hasBody: true, idleMs: 1_000 });
    expect(res.writableEnded).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reads to its end a body its caller had piped on and then unpiped (paused)', async () => {
    // upstream.ts: the body was on its way to the target, which answered first.
    const { c, arrival } = await sent(`${UPLOAD}hello`);
    const toTarget = new PassThrough();
    arrival.req.pipe(toTarget);
    await receivedAll(arrival.req, c.socket);
    arrival.req.unpipe(toTarget);
    toTarget.destroy();
    answerEarly(arrival, 60_000);
    c.socket.write('world');
    await receivedAll(arrival.req, c.socket);
    await until('the end of the exchange', () => arrival.res.writableEnded);
  });

  it('closes the connection of a client silent for the idle bound, after the answer, not before', async () => {
    fakeTimeouts();
    const { c, arrival } = await sent(`${UPLOAD}hello`);
    answerEarly(arrival, 1_000);
    await until('the answer', () => c.text.endsWith(TOO_LARGE.toString()));
    vi.advanceTimersByTime(999);
    await settle();
    expect(c.closed).toBe(false);
    expect(arrival.res.writableEnded).toBe(false);
    vi.advanceTimersByTime(1);
    await until('the connection closed', () => c.closed);
    expect(c.text.endsWith(TOO_LARGE.toString())).toBe(true);
  });

  it('waits the idle bound again from each byte the client sends', async () => {
    fakeTimeouts();
    const { c, arrival } = await sent(`${UPLOAD}hello`);
    answerEarly(arrival, 1_000);
    vi.advanceTimersByTime(999);
    c.socket.write('w');
    await receivedAll(arrival.req, c.socket);
    vi.advanceTimersByTime(999);
    await settle();
    expect(c.closed).toBe(false);
    vi.advanceTimersByTime(1);
    await until('the connection closed', () => c.closed);
  });

  it('leaves a kept-alive connection open, however long after the body is in', async () => {
    fakeTimeouts();
    const { c, arrival: first, next } = await sent(`${UPLOAD}hello`);
    answerEarly(first, 1_000);
    c.socket.write('world');
    await until('the end of the exchange', () => first.res.writableFinished);
    vi.advanceTimersByTime(10_000);
    await settle();
    expect(c.closed).toBe(false);
    c.socket.write('GET /next HTTP/1.1\r\nHost: api.example.com\r\n\r\n');
    const second = await next();
    expect(second.req.url).toBe('/next');
  });

  it('leaves nothing to fire once a client has left in the middle of its body', async () => {
    fakeTimeouts();
    const { c, arrival } = await sent(`${UPLOAD}hello`);
    answerEarly(arrival, 1_000);
    expect(vi.getTimerCount()).toBe(1);
    c.socket.destroy();
    await closed(arrival.req);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("waits Apache's 2 s (SECONDS_TO_LINGER) for a silent client by default", () => {
    expect(LINGER_IDLE_MS).toBe(2_000);
  });
});

describe("the stack's lines (line-sink.ts)", () => {
  function recorded() {
    const chunks: string[] = [];
    return { chunks, sink: bufferedSink((chunk) => chunks.push(chunk)) };
  }

  it('writes the lines of one turn as one chunk, in order, each ending in a newline, after the turn', async () => {
    const { chunks, sink } = recorded();
    sink.write('{"a":1}');
    sink.write('{"b":2}');
    expect(chunks).toEqual([]);
    await turn();
    expect(chunks).toEqual(['{"a":1}\n{"b":2}\n']);
  });

  it("writes a later turn's lines in a chunk of their own", async () => {
    const { chunks, sink } = recorded();
    sink.write('first');
    await turn();
    sink.write('second');
    await turn();
    sink.write('third');
    await turn();
    expect(chunks).toEqual(['first\n', 'second\n', 'third\n']);
  });

  it('writes the lines that callbacks of one turn write after its chunk as one chunk', async () => {
    const { chunks, sink } = recorded();
    const order: string[] = [];
    sink.write('a');
    setImmediate(() => sink.write('b'));
    sink.write('c');
    setImmediate(() => {
      sink.write('d');
      order.push([...chunks].join('|'));
    });
    await turn();
    await turn();
    // b and d came after the turn's chunk went out: one more write for both, not one each.
    expect(order).toEqual(['a\nc\n']);
    expect(chunks).toEqual(['a\nc\n', 'b\nd\n']);
  });

  it('flush writes what is buffered at once, and never an empty chunk', async () => {
    const { chunks, sink } = recorded();
    sink.flush();
    expect(chunks).toEqual([]);
    sink.write('last words');
    sink.flush();
    expect(chunks).toEqual(['last words\n']);
    await turn();
    sink.flush();
    expect(chunks).toEqual(['last words\n']);
  });

  it('writes at once a buffer that a line takes past 64 KiB, that line included; up to 64 KiB waits', async () => {
    const { chunks, sink } = recorded();
    const long = 'x'.repeat(64 * 1024 - 1); // with its newline, 64 KiB exactly
    sink.write(long);
    expect(chunks).toEqual([]);
    sink.write('y');
    expect(chunks).toEqual([`${long}\ny\n`]);
    sink.write('z');
    await turn();
    expect(chunks).toEqual([`${long}\ny\n`, 'z\n']);
  });

  it("hands a caller's callback each line as it comes, and holds nothing back", () => {
    const lines: string[] = [];
    const sink = callbackSink((line) => lines.push(line));
    sink.write('one');
    sink.write('two');
    expect(lines).toEqual(['one', 'two']);
    sink.flush();
    expect(lines).toEqual(['one', 'two']);
  });
});

describe('a free port (processes.ts)', () => {
  it('is one a server can listen on next, on 127.0.0.1 unless told otherwise', async () => {
    for (const port of [await freePort(), await freePort('127.0.0.1')]) {
      expect(port).toBeGreaterThan(0);
      const taken = net.createServer();
      cleanups.push(() => taken.close());
      taken.listen(port, '127.0.0.1');
      await once(taken, 'listening');
      expect((taken.address() as AddressInfo).port).toBe(port);
    }
  });

  it('is refused for an address this machine does not have', async () => {
    // 192.0.2.1: TEST-NET-1 (RFC 5737), no interface's address.
    await expect(freePort('192.0.2.1')).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
  });
});

describe('stopping a child as a service manager does (processes.ts terminate)', () => {
  /** A child that exits when the test says: the signals it was sent, in order. */
  function fakeChild() {
    const events: string[] = [];
    let exit: (code: number) => void = () => {};
    let fail: (error: Error) => void = () => {};
    const exited = new Promise<number>((resolve, reject) => {
      exit = (code) => {
        events.push('exited');
        resolve(code);
      };
      fail = reject;
    });
    return { events, exited, exit, fail, signal: (signal: NodeJS.Signals) => events.push(signal) };
  }

  it('sends SIGTERM at once, SIGKILL once the grace period has passed, and resolves once the child has exited', async () => {
    fakeTimeouts();
    const child = fakeChild();
    let stopped = false;
    const stopping = terminate(child.signal, child.exited, 5_000).then(() => {
      stopped = true;
    });
    expect(child.events).toEqual(['SIGTERM']);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(child.events).toEqual(['SIGTERM']);
    await vi.advanceTimersByTimeAsync(1);
    expect(child.events).toEqual(['SIGTERM', 'SIGKILL']);
    await settle();
    expect(stopped).toBe(false);
    child.exit(137);
    await stopping;
    expect(child.events).toEqual(['SIGTERM', 'SIGKILL', 'exited']);
  });

  it('sends no SIGKILL to a child that exits within the grace period, however long after', async () => {
    fakeTimeouts();
    const child = fakeChild();
    const stopping = terminate(child.signal, child.exited, 5_000);
    await vi.advanceTimersByTimeAsync(4_999);
    child.exit(0);
    await stopping;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(child.events).toEqual(['SIGTERM', 'exited']);
  });

  it('fails as the wait for the exit fails, and sends no SIGKILL after', async () => {
    fakeTimeouts();
    const child = fakeChild();
    const stopping = terminate(child.signal, child.exited, 5_000);
    child.fail(new Error('no such process'));
    await expect(stopping).rejects.toThrow('no such process');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(child.events).toEqual(['SIGTERM']);
  });

  it('kills with SIGKILL a real child that ignores SIGTERM, once the grace period has passed', async () => {
    fakeTimeouts();
    const child = spawn(
      process.execPath,
      [
        '-e',
        "process.on('SIGTERM', () => console.log('SIGTERM ignored')); console.log('ready'); setInterval(() => {}, 60_000);",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    cleanups.push(() => child.kill('SIGKILL'));
    const exited = once(child, 'exit');
    let output = '';
    const printed = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (output.includes(text)) resolve();
        };
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          check();
        });
        check();
      });
    await printed('ready');
    const stopping = terminate((signal) => child.kill(signal), exited, 1_000);
    await printed('SIGTERM ignored');
    expect(child.exitCode).toBeNull();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
    expect(child.signalCode).toBe('SIGKILL');
  });
});
