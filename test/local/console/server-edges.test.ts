// The console's server at the edges its other tests leave open, as a client sees them: the
// connection kept open after an answer to a request with no body (closed only when a body was
// left unread), the action paths that only resemble an action (a prefix, an unknown verb, a
// slot of two digits), the titles of its own problems, the event streams' limit answered as a
// 503 a script can back off from, a stream that fails after its head closed rather than left
// hanging, a feed's own error (not a FeedError) answered as a 500 problem, and a request
// target that is no path (`//`, `*`, `http://`) answered as the client's mistake, a 400.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { STREAM_LIMITS, type StreamLimits } from '../../../scripts/local/console/event-streams.ts';
import type { ReplicaAction } from '../../../scripts/local/console/feed.ts';
import { answerParserError, createConsoleServer } from '../../../scripts/local/console/server.ts';
import { OneAtATime } from '../../../scripts/local/http/one-at-a-time.ts';
import { type Reply, rawConnection, rawExchange, request } from '../../helpers/http.ts';
import { waitFor } from '../../helpers/wait.ts';
import { FakeFeed } from './fake-feed.ts';

let server: http.Server | undefined;
const agents: http.Agent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  const started = server;
  server = undefined;
  if (started === undefined) return; // a test of no server: nothing to close
  started.closeAllConnections();
  await new Promise((resolve) => started.close(resolve));
});

async function serve(feed: FakeFeed, limits: StreamLimits = STREAM_LIMITS): Promise<string> {
  const created = createConsoleServer(feed, limits);
  server = created;
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(created.address() as AddressInfo).port}`;
}

/** An agent that keeps connections, as a browser does: Node's client then asks for keep-alive. */
function keepAlive(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return agent;
}

function problem(reply: Reply) {
  expect(reply.headers['content-type']).toBe('application/problem+json');
  return JSON.parse(reply.body) as { type: string; title: string; status: number; detail: string };
}

/** The reply is this problem (RFC 9457), in status and body. */
function expectProblem(reply: Reply, status: number, title: string, detail: string): void {
  expect(reply.status).toBe(status);
  expect(problem(reply)).toEqual({ type: 'about:blank', title, status, detail });
}

/** GET /events on a connection of its own: the stream's response, as soon as its head is in. */
function openStream(url: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/events`, { agent: false }, resolve);
    req.on('error', reject);
  });
}

const JSON_HEADERS = { 'content-type': 'application/json' };

describe('a connection', () => {
  it('stays open after an answer to a request with no body, GET or an empty POST', async () => {
    const url = await serve(new FakeFeed());
    const agent = keepAlive();
    for (const path of ['/api/topology', '/nothing-here']) {
      const reply = await request(`${url}${path}`, { agent });
      expect({ path, connection: reply.headers.connection }).toEqual({
        path,
        connection: 'keep-alive',
      });
    }
    // Content-Length: 0 announces no body: none is left unread.
    const empty = await request(`${url}/api/nothing`, {
      method: 'POST',
      agent,
      headers: { ...JSON_HEADERS, 'content-length': 0 },
    });
    expect(empty.status).toBe(404);
    expect(empty.headers.connection).toBe('keep-alive');
  });

  it('closes after an answer that left a body unread, announced by length or chunked', async () => {
    const url = await serve(new FakeFeed());
    const put = await request(`${url}/`, {
      method: 'PUT',
      agent: keepAlive(),
      body: Buffer.from('x'),
    });
    expect(put.status).toBe(405);
    expect(put.headers.connection).toBe('close');
    const chunked = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${url}/`, { method: 'PUT', agent: keepAlive() }, resolve);
      req.on('error', reject);
      req.write('x'); // no Content-Length: Node sends it chunked
      req.end();
    });
    chunked.resume();
    expect(chunked.statusCode).toBe(405);
    expect(chunked.headers.connection).toBe('close');
  });
});

describe('an action path', () => {
  it('reaches the feed with a slot of more than one digit', async () => {
    const feed = new FakeFeed();
    const url = await serve(feed);
    const reply = await request(`${url}/api/replicas/book-service/12/resume`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: Buffer.from('{}'),
    });
    expect(reply.status).toBe(202);
    expect(feed.acted).toEqual([['book-service', 12, 'resume']]);
  });

  it('is refused as 404, before the feed, when it only resembles an action', async () => {
    const feed = new FakeFeed();
    const url = await serve(feed);
    for (const path of [
      '/x/api/replicas/book-service/1/stop',
      '/api/replicas/book-service/1/explode',
      '/api/replicas/book-service/1/Stop',
      '/api/replicas/book-service/one/stop',
      '/api/replicas/book-service/1',
      '/api/nothing',
    ]) {
      const reply = await request(`${url}${path}`, {
        method: 'POST',
        headers: JSON_HEADERS,
        body: Buffer.from('{}'),
      });
      expect({ path, status: reply.status, title: problem(reply).title }).toEqual({
        path,
        status: 404,
        title: 'Not Found',
      });
    }
    expect(feed.acted).toEqual([]);
  });
});

describe("the server's own problems", () => {
  it('names each by its status', async () => {
    const url = await serve(new FakeFeed());
    const put = await request(`${url}/`, { method: 'PUT' });
    expectProblem(put, 405, 'Method Not Allowed', 'PUT is not served here');
    expect(put.headers.allow).toBe('GET, HEAD, POST');
    const missing = await request(`${url}/nope`);
    expectProblem(missing, 404, 'Not Found', 'nothing at /nope; the console is at /');
  });

  it('answers a stream over the limit with a 503 to retry later, and closes its connection', async () => {
    const url = await serve(new FakeFeed(), { ...STREAM_LIMITS, maxStreams: 0 });
    const reply = await request(`${url}/events`, { agent: keepAlive() });
    expectProblem(
      reply,
      503,
      'Service Unavailable',
      'too many event streams are open: close a tab',
    );
    expect(reply.headers['retry-after']).toBe('10');
    expect(reply.headers.connection).toBe('close');
  });

  it("answers a feed's own error as a 500 problem with its message", async () => {
    class FailingFeed extends FakeFeed {
      override async act(_service: string, _slot: number, _action: ReplicaAction): Promise<string> {
        throw new Error('the scheduler is gone');
      }
    }
    const url = await serve(new FailingFeed());
    const reply = await request(`${url}/api/replicas/book-service/0/stop`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: Buffer.from('{}'),
    });
    expectProblem(reply, 500, 'Internal Server Error', 'the scheduler is gone');
  });
});

describe('a request target', () => {
  /** The console's answer to `GET <target>` with a loopback Host, sent as is on a raw socket. */
  async function get(url: string, target: string) {
    const port = Number(new URL(url).port);
    const head = `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;
    const reply = await rawExchange(port, Buffer.from(head, 'latin1'), 5_000);
    const body: unknown = JSON.parse(reply.body.toString());
    return { target, status: reply.status, type: reply.headers['content-type'], body };
  }

  it("that is no path is the client's mistake: a 400 problem, never a 500", async () => {
    const url = await serve(new FakeFeed());
    for (const target of ['http://', '*', 'http://[/api/topology']) {
      expect(await get(url, target)).toEqual({
        target,
        status: 400,
        type: 'application/problem+json',
        body: {
          type: 'about:blank',
          title: 'Bad Request',
          status: 400,
          detail: `the request target is not a path: ${target}`,
        },
      });
    }
  });

  it('starting with // is a path of its own, not an authority and the path after it', async () => {
    const url = await serve(new FakeFeed());
    expect(await get(url, '//')).toMatchObject({
      target: '//',
      status: 404,
      type: 'application/problem+json',
    });
    expect(await get(url, '//evil.example/api/topology')).toMatchObject({
      target: '//evil.example/api/topology',
      status: 404,
      type: 'application/problem+json',
    });
    // The absolute form is still read as its path (RFC 9112 §3.2.2: a server MUST accept it).
    expect(await get(url, `${url}/api/topology`)).toMatchObject({ status: 200 });
  });
});

describe('a request node:http cannot take', () => {
  /** The console's answer to `head` sent as is on a raw socket. */
  async function sendRaw(url: string, head: string) {
    const reply = await rawExchange(Number(new URL(url).port), Buffer.from(head, 'latin1'), 5_000);
    const body = JSON.parse(reply.body.toString()) as { status: number; title: string };
    return { status: reply.status, type: reply.headers['content-type'], body };
  }

  it('is answered as a problem, with the status node:http gives it', async () => {
    const url = await serve(new FakeFeed());
    expect(await sendRaw(url, 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\0b\r\n\r\n')).toEqual({
      status: 400,
      type: 'application/problem+json',
      body: expect.objectContaining({ status: 400, title: 'Bad Request' }),
    });
    const huge = `GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    expect(await sendRaw(url, huge)).toEqual({
      status: 431,
      type: 'application/problem+json',
      body: expect.objectContaining({ status: 431, title: 'Request Header Fields Too Large' }),
    });
  });

  it('later on a kept-alive connection, once an earlier answer is over, is answered', async () => {
    const url = await serve(new FakeFeed());
    const c = rawConnection(Number(new URL(url).port));
    c.socket.write('GET /api/topology HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await waitFor('the first answer', () => /\r\n\r\n\{\}$/.test(c.text));
    c.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\0b\r\n\r\n');
    await waitFor('the refusal', () => c.text.includes('HTTP/1.1 400 Bad Request'));
  });

  it('after a good one on the same connection, is answered after it', async () => {
    const url = await serve(new FakeFeed());
    const port = Number(new URL(url).port);
    // The page, read from disk: its answer is still to come when the parser refuses the next.
    const good = 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n';
    const bad = 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\0b\r\n\r\n';
    const c = rawConnection(port);
    c.socket.write(good + bad);
    await waitFor('the console to close the connection', () => c.closed);
    expect(c.text).toMatch(
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*<\/html>\s*HTTP\/1\.1 400 Bad Request\r\n/,
    );
    expect(c.text).toMatch(/content-type: application\/problem\+json\r\n[\s\S]*"status":400/);
  });
});

describe("the listener for what node:http's parser refuses", () => {
  /** A connection as the listener sees it: whether it can be written to, what was written. */
  function connection(writable = true) {
    const socket = Object.assign(new EventEmitter(), {
      writable,
      ended: '',
      destroyed: false,
      end(text: string) {
        socket.ended = text;
      },
      destroy() {
        socket.destroyed = true;
      },
    });
    return socket;
  }
  /** The console's listener, as createConsoleServer attaches it: OneAtATime's turn, then ours. */
  const refuse = (
    code: string | undefined,
    socket: ReturnType<typeof connection>,
    serial = new OneAtATime(),
  ) =>
    serial.clientErrors(answerParserError)(
      Object.assign(new Error('refused'), code === undefined ? {} : { code }),
      socket as unknown as Socket,
    );

  it.each([
    ['HPE_HEADER_OVERFLOW', 431, 'Request Header Fields Too Large'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'Request Timeout'],
    ['HPE_INVALID_HEADER_TOKEN', 400, 'Bad Request'],
    [undefined, 400, 'Bad Request'],
  ])('answers %s with a %i problem, and closes', (code, status, title) => {
    const socket = connection();
    refuse(code, socket);
    const [head, body] = socket.ended.split('\r\n\r\n') as [string, string];
    expect(head.split('\r\n')).toEqual([
      `HTTP/1.1 ${status} ${title}`,
      'content-type: application/problem+json',
      `content-length: ${Buffer.byteLength(body)}`,
      'cache-control: no-store',
      'connection: close',
    ]);
    expect(JSON.parse(body)).toEqual({
      type: 'about:blank',
      title,
      status,
      detail: `node:http could not take the request (${code ?? 'no code'})`,
    });
  });

  it('only closes a connection it can no longer write to (a reset)', () => {
    const socket = connection(false);
    refuse('ECONNRESET', socket);
    expect(socket).toMatchObject({ ended: '', destroyed: true });
  });

  it('waits for the answer under way on the connection to be over', () => {
    const socket = connection();
    const current = new EventEmitter();
    const serial = new OneAtATime();
    const req = { socket, complete: true } as unknown as http.IncomingMessage;
    serial.wrap(() => {})(req, current as unknown as http.ServerResponse);
    refuse('HPE_INVALID_METHOD', socket, serial);
    expect(socket.ended).toBe('');
    current.emit('close');
    expect(socket.ended).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });
});

describe('an event stream', () => {
  it('says keep-alive in its head', async () => {
    const url = await serve(new FakeFeed());
    const res = await openStream(url);
    expect(res.statusCode).toBe(200);
    expect(res.headers.connection).toBe('keep-alive');
    res.destroy();
  });

  it('is closed, not left hanging, when the feed fails after the head was written', async () => {
    class BrokenFeed extends FakeFeed {
      override topology(): ReturnType<FakeFeed['topology']> {
        throw new Error('no topology');
      }
    }
    const url = await serve(new BrokenFeed());
    const outcome = await new Promise<string>((resolve) => {
      const req = http.get(`${url}/events`, { agent: false }, (res) => {
        res.on('error', () => resolve('closed'));
        res.on('end', () => resolve('closed'));
        res.resume();
      });
      req.on('error', () => resolve('closed'));
    });
    expect(outcome).toBe('closed');
  });

  it('carries the next event to a client that reads it all, at a buffer limit of 0', async () => {
    const feed = new FakeFeed();
    const url = await serve(feed, { ...STREAM_LIMITS, maxBufferedBytes: 0 });
    let text = '';
    let closed = false;
    const res = await openStream(url);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
    });
    res.on('close', () => {
      closed = true;
    });
    await waitFor('the snapshot', () => text.includes('event: stats'));
    feed.emit({ type: 'notice', text: 'hello' });
    await waitFor('the notice or the end', () => text.includes('hello') || closed);
    expect(text).toContain('event: notice\ndata: "hello"\n\n');
    res.destroy();
  });
});
