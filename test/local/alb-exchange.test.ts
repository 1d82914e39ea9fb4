// The ALB's side of one request to a target (scripts/local/alb/upstream.ts), driven the way
// undici drives a dispatch handler (onRequestStart, onResponseStart, onResponseData,
// onResponseEnd, onResponseError: undici's types/dispatcher.d.ts), with a pool, a controller
// and a client response that record what they are asked. The whole path through real sockets
// is in alb-edges.test.ts; here each decision is pinned down on its own: which headers reach
// the client, what length the API is told, backpressure, the one retry of a request that went
// out on a closed kept-alive connection, and what a client sees when the exchange fails.
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { Exchange, type ExchangeEvents } from '../../scripts/local/alb/upstream.ts';

interface Dispatched {
  method: string;
  path: string;
  headers: string[];
  body: Buffer | Readable | null;
}

/** undici's RequestController as far as the exchange uses it (lib/core/request.js). */
class Controller {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  aborts = 0;
  rawHeaders: Buffer[] = [];
  abort(reason: Error): void {
    this.aborts += 1;
    this.aborted = true;
    this.reason = reason;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

/** A client's response: what was written to it, and whether it accepts more at once. */
class ClientResponse extends EventEmitter {
  head: { status: number; headers: string[] } | null = null;
  chunks: Buffer[] = [];
  ended = false;
  destroyed = false;
  writableFinished = false;
  full = false;
  /** Whether the head was sent before the end (flushHeaders). */
  flushed = false;
  writeHead(status: number, headers: string[]): this {
    this.head = { status, headers };
    return this;
  }
  flushHeaders(): void {
    this.flushed = true;
  }
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return !this.full;
  }
  end(last?: Buffer): this {
    if (last !== undefined) this.chunks.push(last);
    this.ended = true;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

interface Setup {
  method?: string;
  hasBody?: boolean;
  body?: Buffer;
}

function setup(options: Setup = {}) {
  const dispatched: Dispatched[] = [];
  const pool = {
    dispatch(opts: Dispatched, _handler: Dispatcher.DispatchHandler) {
      dispatched.push(opts);
      return true;
    },
  } as unknown as Pool;
  const req = new PassThrough() as PassThrough & { method: string; url: string; complete: boolean };
  req.method = options.method ?? 'GET';
  req.url = '/api/books?limit=2';
  req.complete = false;
  const res = new ClientResponse();
  const seen = {
    responded: [] as { status: number; contentLength: number; headers: string[] }[],
    counted: [] as number[],
    done: 0,
    failed: [] as { hasBody: boolean; timedOut: boolean }[],
    accept: true,
  };
  const events: ExchangeEvents = {
    responded: (status, contentLength, headers) => {
      seen.responded.push({ status, contentLength, headers: [...headers] });
      return seen.accept;
    },
    counted: (bytes) => seen.counted.push(bytes),
    done: () => {
      seen.done += 1;
    },
    failed: (hasBody, timedOut) => seen.failed.push({ hasBody, timedOut }),
  };
  const exchange = new Exchange(
    {
      req: req as unknown as IncomingMessage,
      res: res as unknown as ServerResponse,
      pool,
      headers: ['host', 'books.internal', 'x-forwarded-proto', 'http'],
      hasBody: options.hasBody ?? options.body !== undefined,
      body: options.body,
      lingerMs: 2_000,
    },
    events,
  );
  const controller = new Controller();
  const ctl = controller as unknown as Dispatcher.DispatchController;
  /** The target's response head, as undici hands it: raw header names and values as Buffers. */
  const respond = (status: number, raw: string[]) => {
    controller.rawHeaders = raw.map((s) => Buffer.from(s, 'latin1'));
    exchange.onResponseStart(ctl, status, {});
  };
  return { exchange, dispatched, req, res, seen, controller, ctl, respond };
}

/** An error as undici reports a socket closed under a request (UND_ERR_SOCKET). */
function socketClosed(bytesRead: number | undefined): Error {
  const socket = bytesRead === undefined ? undefined : { bytesRead };
  return Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET', socket });
}

describe('the request to the target', () => {
  it('goes out with the client method, path, the ALB headers and no body for a GET', () => {
    const t = setup();
    t.exchange.start();
    expect(t.dispatched).toEqual([
      {
        method: 'GET',
        path: '/api/books?limit=2',
        headers: ['host', 'books.internal', 'x-forwarded-proto', 'http'],
        body: null,
      },
    ]);
  });

  it('carries a body read already as it is', () => {
    const body = Buffer.from('{"title":"x"}');
    const t = setup({ method: 'PUT', body });
    t.exchange.start();
    expect(t.dispatched[0]).toMatchObject({ method: 'PUT', path: '/api/books?limit=2', body });
  });

  it("streams a body not read yet, the client's bytes as they come", async () => {
    const t = setup({ method: 'POST', hasBody: true });
    t.exchange.start();
    expect(t.dispatched[0]).toMatchObject({ method: 'POST', path: '/api/books?limit=2' });
    const body = t.dispatched[0]?.body as Readable;
    expect(body).not.toBe(t.req); // a stream of the ALB's own, which it can unpipe
    t.req.end('abc');
    const got: Buffer[] = [];
    for await (const chunk of body) got.push(chunk as Buffer);
    expect(Buffer.concat(got).toString()).toBe('abc');
  });
});

describe("the target's response head", () => {
  it('reaches the client without the hop-by-hop headers, whatever their case, others in order', () => {
    const t = setup();
    t.exchange.start();
    t.respond(200, [
      'Content-Type',
      'application/json',
      'Connection',
      'keep-alive',
      'KEEP-ALIVE',
      'timeout=5',
      'transfer-encoding',
      'chunked',
      'Set-Cookie', // ten letters, like connection and keep-alive
      'a=1',
      'X-Request-Id-Echo', // seventeen, like transfer-encoding
      'r-1',
    ]);
    const passed = ['Content-Type', 'application/json', 'Set-Cookie', 'a=1'];
    passed.push('X-Request-Id-Echo', 'r-1');
    expect(t.seen.responded).toEqual([{ status: 200, contentLength: 0, headers: passed }]);
    expect(t.res.head).toEqual({ status: 200, headers: passed });
  });

  it('tells the API the announced length, and counts nothing more', () => {
    const t = setup();
    t.exchange.start();
    t.respond(200, ['Content-Length', '5', 'Content-Type', 'text/plain']);
    t.exchange.onResponseData(t.ctl, Buffer.from('hello'));
    t.exchange.onResponseEnd();
    expect(t.seen.responded[0]?.contentLength).toBe(5);
    expect(t.seen.counted).toEqual([]);
    expect(Buffer.concat(t.res.chunks).toString()).toBe('hello');
    expect(t.res.ended).toBe(true);
  });

  it('counts a body of no announced length chunk by chunk', () => {
    const t = setup();
    t.exchange.start();
    t.respond(200, ['Content-Type', 'text/plain']);
    t.exchange.onResponseData(t.ctl, Buffer.from('abc'));
    t.exchange.onResponseData(t.ctl, Buffer.from('de'));
    expect(t.seen.responded[0]?.contentLength).toBe(0);
    expect(t.seen.counted).toEqual([3, 2]);
  });

  it.each([
    ['HEAD', 200],
    ['GET', 204],
    ['GET', 304],
  ])('of a %s answered %i has no body, whatever Content-Length says', (method, status) => {
    const t = setup({ method });
    t.exchange.start();
    t.respond(status, ['Content-Length', '42']);
    expect(t.seen.responded[0]?.contentLength).toBe(0);
    t.exchange.onResponseData(t.ctl, Buffer.alloc(0));
    expect(t.seen.counted).toEqual([]);
  });

  it('of a GET answered 200 with no Content-Length is counted', () => {
    const t = setup({ method: 'GET' });
    t.exchange.start();
    t.respond(200, []);
    t.exchange.onResponseData(t.ctl, Buffer.from('xy'));
    expect(t.seen.counted).toEqual([2]);
  });

  it('waits past an interim answer (100 Continue) for the real one', () => {
    const t = setup();
    t.exchange.start();
    t.respond(100, []);
    expect(t.seen.responded).toEqual([]);
    expect(t.res.head).toBeNull();
    t.respond(201, []);
    expect(t.res.head?.status).toBe(201);
  });

  it('stops the exchange when nobody waits for it anymore (the API answered already)', () => {
    const t = setup();
    t.exchange.start();
    t.exchange.onRequestStart(t.ctl);
    t.seen.accept = false;
    t.respond(200, []);
    expect(t.res.head).toBeNull();
    expect(t.seen.done).toBe(1);
    expect(t.controller.aborted).toBe(true);
    // What undici does next (onResponseError with the abort's reason) changes nothing.
    t.exchange.onResponseError(t.ctl, t.controller.reason as Error);
    expect(t.seen.failed).toEqual([]);
    expect(t.seen.done).toBe(1);
  });
});

describe("the target's response body", () => {
  it('pauses the target while the client reads slowly, and resumes on drain', () => {
    const t = setup();
    t.exchange.start();
    t.respond(200, []);
    t.exchange.onResponseData(t.ctl, Buffer.from('a'));
    expect(t.controller.paused).toBe(false);
    t.res.full = true;
    t.exchange.onResponseData(t.ctl, Buffer.from('b'));
    expect(t.controller.paused).toBe(true);
    t.res.emit('drain');
    expect(t.controller.paused).toBe(false);
  });

  it("ends the client's response with the target's, the exchange done once", () => {
    const t = setup();
    t.exchange.start();
    t.respond(200, []);
    t.exchange.onResponseEnd();
    expect(t.res.ended).toBe(true);
    expect(t.seen.done).toBe(1);
    t.exchange.destroy(); // the client's connection closing afterwards
    expect(t.seen.done).toBe(1);
  });
});

describe('a target that answers before the client has sent its whole body', () => {
  it("reads the client's rest without passing it on, and ends the response when the request ends", async () => {
    const t = setup({ method: 'POST', hasBody: true });
    t.exchange.start();
    const body = t.dispatched[0]?.body as PassThrough;
    t.req.write('first');
    t.respond(413, ['Content-Length', '0']);
    t.exchange.onResponseEnd();
    expect(body.destroyed).toBe(true);
    expect(t.res.flushed).toBe(true); // the bare head goes out now
    expect(t.res.ended).toBe(false); // the client is still sending
    t.req.end('rest');
    await new Promise((resolve) => t.req.once('end', resolve));
    expect(t.res.ended).toBe(true);
    expect(t.seen.done).toBe(1);
  });

  it('ends the response at once when the client had sent it all', () => {
    const t = setup({ method: 'POST', hasBody: true });
    t.exchange.start();
    t.req.complete = true;
    t.respond(413, []);
    t.exchange.onResponseEnd();
    expect(t.res.ended).toBe(true);
  });
});

describe('a request that went out on a kept-alive connection the target closed', () => {
  it('goes once more when nothing reached the target and it has no body', () => {
    const t = setup();
    t.exchange.start();
    t.exchange.onResponseError(t.ctl, socketClosed(120));
    expect(t.dispatched).toHaveLength(2);
    expect(t.dispatched[1]).toEqual(t.dispatched[0]);
    expect(t.seen.failed).toEqual([]);
    expect(t.seen.done).toBe(0);
  });

  it('goes only once more: a second closed connection is a 502', () => {
    const t = setup();
    t.exchange.start();
    t.exchange.onResponseError(t.ctl, socketClosed(120));
    t.exchange.onResponseError(t.ctl, socketClosed(120));
    expect(t.dispatched).toHaveLength(2);
    expect(t.seen.failed).toEqual([{ hasBody: false, timedOut: false }]);
    expect(t.seen.done).toBe(1);
  });

  it.each([
    ['a fresh connection the target refused', socketClosed(0)],
    ['a connection undici did not name', socketClosed(undefined)],
    ['another error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    [
      'a reused connection that timed out (the target had the request)',
      Object.assign(new Error('Body Timeout Error'), {
        code: 'UND_ERR_BODY_TIMEOUT',
        socket: { bytesRead: 120 },
      }),
    ],
  ])('does not go again on %s', (_, error) => {
    const t = setup();
    t.exchange.start();
    t.exchange.onResponseError(t.ctl, error);
    expect(t.dispatched).toHaveLength(1);
    expect(t.seen.failed).toEqual([{ hasBody: false, timedOut: false }]);
  });

  it("does not go again with a body: the target may have read it; the client's body is unpiped", () => {
    const t = setup({ method: 'POST', hasBody: true });
    t.exchange.start();
    const body = t.dispatched[0]?.body as PassThrough;
    t.exchange.onResponseError(t.ctl, socketClosed(120));
    expect(t.dispatched).toHaveLength(1);
    expect(t.seen.failed).toEqual([{ hasBody: true, timedOut: false }]);
    t.req.write('late');
    expect(body.readableLength).toBe(0);
  });

  it('does not go again once the response has started: the client connection is cut', () => {
    const t = setup();
    t.exchange.start();
    t.respond(200, []);
    t.exchange.onResponseError(t.ctl, socketClosed(120));
    expect(t.dispatched).toHaveLength(1);
    expect(t.seen.failed).toEqual([]);
    expect(t.res.destroyed).toBe(true);
  });
});

describe('a failed exchange', () => {
  it('is a 504 (timedOut) when the target sent no head within the idle timeout', () => {
    const t = setup();
    t.exchange.start();
    const error = Object.assign(new Error('Headers Timeout Error'), {
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    t.exchange.onResponseError(t.ctl, error);
    expect(t.seen.failed).toEqual([{ hasBody: false, timedOut: true }]);
  });

  it('leaves a response the client has received whole as it is', () => {
    const t = setup();
    t.exchange.start();
    t.respond(200, []);
    t.res.writableFinished = true;
    t.exchange.onResponseError(t.ctl, new Error('late'));
    expect(t.res.destroyed).toBe(false);
  });

  it('reports nothing once the exchange was stopped', () => {
    const t = setup();
    t.exchange.start();
    t.exchange.destroy();
    t.exchange.onResponseError(t.ctl, socketClosed(120));
    expect(t.dispatched).toHaveLength(1);
    expect(t.seen.failed).toEqual([]);
    expect(t.seen.done).toBe(1);
  });
});

describe('stopping an exchange (the client went away, or the API stopped waiting)', () => {
  it('aborts the request to the target and frees its slot once', () => {
    const t = setup();
    t.exchange.start();
    t.exchange.onRequestStart(t.ctl);
    t.exchange.destroy();
    t.exchange.destroy();
    expect(t.controller.aborts).toBe(1);
    expect(t.seen.done).toBe(1);
  });

  it('leaves the connection to the target alone once the response has ended', () => {
    // A client closing its connection after a whole response: aborting then would close a
    // kept-alive connection the pool could reuse.
    const t = setup();
    t.exchange.start();
    t.exchange.onRequestStart(t.ctl);
    t.respond(200, []);
    t.exchange.onResponseEnd();
    t.exchange.destroy();
    expect(t.controller.aborted).toBe(false);
  });

  it('aborts a request undici starts after it was stopped', () => {
    const t = setup();
    t.exchange.start();
    t.exchange.destroy();
    t.exchange.onRequestStart(t.ctl);
    expect(t.controller.aborted).toBe(true);
  });

  it('leaves a request undici starts while the exchange runs alone', () => {
    const t = setup();
    t.exchange.start();
    t.exchange.onRequestStart(t.ctl);
    expect(t.controller.aborted).toBe(false);
  });

  it("unpipes the client's body so nothing more goes to the target", () => {
    const t = setup({ method: 'POST', hasBody: true });
    t.exchange.start();
    const body = t.dispatched[0]?.body as PassThrough;
    t.exchange.destroy();
    t.req.write('late');
    expect(body.readableLength).toBe(0);
  });
});
