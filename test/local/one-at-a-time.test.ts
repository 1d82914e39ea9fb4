// One request at a time per client connection (scripts/local/http/one-at-a-time.ts), in this
// process, on a real node:http server whose handler holds each response until the test lets it
// go: a pipelining client's next request reaches the handler only once the previous response is
// over, the connection is read no further while requests wait and read again once none do, a
// connection holding more than MAX_WAITING tasks is closed, and an answer to what node:http's
// parser refused goes out in its turn, at once, or not at all, as the connection's state says.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ClientError,
  MAX_WAITING,
  OneAtATime,
} from '../../scripts/local/http/one-at-a-time.ts';
import { waitFor } from '../helpers/wait.ts';

interface Held {
  req: IncomingMessage;
  res: ServerResponse;
}

interface Serial {
  serial: OneAtATime;
  /** Requests the handler has seen, in order, each held until `release`d. */
  held: Held[];
  /** The server's side of the last connection. */
  socket(): net.Socket;
  /** A raw client: what it has received so far, and whether the server closed it. */
  client: { write(text: string): void; received(): string; closed(): boolean };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`;
const release = (held: Held | undefined, body = 'ok') => held?.res.end(body);
const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);

/** One request on the connection, answered: the connection is then idle. */
async function answerOne(s: Serial): Promise<void> {
  s.client.write(get('/1'));
  await waitFor('the first request', () => s.held.length === 1);
  release(s.held[0]);
  await waitFor('the response', () => statuses(s.client.received()).length === 1);
}

async function serial(): Promise<Serial> {
  const one = new OneAtATime();
  const held: Held[] = [];
  let last: net.Socket | undefined;
  const server = http.createServer(one.wrap((req, res) => held.push({ req, res })));
  server.on('connection', (socket) => {
    last = socket;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  let received = '';
  let closed = false;
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
  });
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  closers.push(async () => {
    socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    serial: one,
    held,
    socket: () => {
      if (last === undefined) throw new Error('no connection yet');
      return last;
    },
    client: { write: (text) => socket.write(text), received: () => received, closed: () => closed },
  };
}

describe('a pipelining client', () => {
  it('has its next request handled once the previous response is over, in order', async () => {
    const s = await serial();
    s.client.write(get('/1') + get('/2') + get('/3'));
    await waitFor('the first request', () => s.held.length === 1);
    expect(s.serial.current(s.socket())?.req.url).toBe('/1');
    await waitFor('the others to be parsed and wait', () => s.socket().isPaused());
    expect(s.held.map((h) => h.req.url)).toEqual(['/1']);
    release(s.held[0]);
    await waitFor('the second request', () => s.held.length === 2);
    expect(s.serial.current(s.socket())?.req.url).toBe('/2');
    release(s.held[1]);
    await waitFor('the third request', () => s.held.length === 3);
    release(s.held[2], 'last');
    await waitFor('three responses', () => statuses(s.client.received()).length === 3);
    expect(s.client.received()).toMatch(/ok.*ok.*last$/s);
  });

  it('is read again once no request waits, and its next request is handled at once', async () => {
    const s = await serial();
    s.client.write(get('/1') + get('/2'));
    await waitFor('the second request to wait', () => s.socket().isPaused());
    release(s.held[0]);
    await waitFor('the second request', () => s.held.length === 2);
    expect(s.socket().isPaused()).toBe(true);
    release(s.held[1]);
    await waitFor('the connection to be read again', () => !s.socket().isPaused());
    expect(s.serial.current(s.socket())).toBeUndefined();
    s.client.write(get('/3'));
    await waitFor('the third request', () => s.held.length === 3);
    expect(s.socket().isPaused()).toBe(false);
    // And paused again for the next burst.
    s.client.write(get('/4'));
    await waitFor('the fourth request to wait', () => s.socket().isPaused());
    release(s.held[2]);
    await waitFor('the fourth request', () => s.held.length === 4);
  });

  it('is closed past MAX_WAITING tasks waiting on its connection, not before', async () => {
    const s = await serial();
    s.client.write(get('/1'));
    await waitFor('the first request', () => s.held.length === 1);
    let ran = 0;
    for (let i = 0; i < MAX_WAITING; i++) s.serial.whenIdle(s.socket(), () => ran++);
    expect(s.socket().destroyed).toBe(false);
    s.serial.whenIdle(s.socket(), () => ran++);
    expect(s.socket().destroyed).toBe(true);
    await waitFor('the client to see the close', () => s.client.closed());
    // What waited on a closed connection is never run.
    release(s.held[0]);
    expect(ran).toBe(0);
  });

  it('has a task that is not a request wait without pausing the connection', async () => {
    const s = await serial();
    s.client.write(get('/1'));
    await waitFor('the first request', () => s.held.length === 1);
    const order: string[] = [];
    s.serial.whenIdle(s.socket(), () => order.push('task'));
    expect(s.socket().isPaused()).toBe(false);
    expect(order).toEqual([]);
    release(s.held[0]);
    await waitFor('the task', () => order.length === 1);
  });

  it('on an idle connection, has a task run at once', async () => {
    const s = await serial();
    await answerOne(s);
    let ran = false;
    s.serial.whenIdle(s.socket(), () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });
});

describe("an answer to what node:http's parser refused", () => {
  const parseError = (code: string) => Object.assign(new Error(code), { code }) as ClientError;

  async function withAnswer() {
    const s = await serial();
    const answered: string[] = [];
    const onError = s.serial.clientErrors((error) => answered.push(error.code ?? ''));
    return { ...s, answered, onError };
  }

  it('goes out at once when nothing is in progress on the connection', async () => {
    const s = await withAnswer();
    await answerOne(s);
    s.onError(parseError('HPE_INVALID_METHOD'), s.socket());
    expect(s.answered).toEqual(['HPE_INVALID_METHOD']);
  });

  it('waits for the response under way when a later request was refused', async () => {
    const s = await withAnswer();
    s.client.write(get('/1'));
    await waitFor('the first request', () => s.held.length === 1);
    await waitFor('its head and empty body read', () => s.held[0]?.req.complete === true);
    s.onError(parseError('HPE_INVALID_METHOD'), s.socket());
    expect(s.answered).toEqual([]);
    release(s.held[0]);
    await waitFor('the answer, in its turn', () => s.answered.length === 1);
    expect(s.socket().destroyed).toBe(false);
  });

  it('is not written after the response under way if the connection has closed meanwhile', async () => {
    const s = await withAnswer();
    s.client.write(get('/1'));
    await waitFor('the first request', () => s.held[0]?.req.complete === true);
    s.onError(parseError('HPE_INVALID_METHOD'), s.socket());
    s.socket().end();
    release(s.held[0]);
    await waitFor('the connection to close', () => s.socket().destroyed);
    expect(s.answered).toEqual([]);
  });

  it('goes out at once for the request in progress, its body cut short, before any answer', async () => {
    const s = await withAnswer();
    s.client.write('POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
    await waitFor('the request', () => s.held.length === 1);
    s.onError(parseError('HPE_INVALID_CHUNK_SIZE'), s.socket());
    expect(s.answered).toEqual(['HPE_INVALID_CHUNK_SIZE']);
  });

  it('is not written once the request in progress has its answer started: the connection goes', async () => {
    const s = await withAnswer();
    s.client.write('POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
    await waitFor('the request', () => s.held.length === 1);
    s.held[0]?.res.writeHead(200).flushHeaders();
    s.onError(parseError('HPE_INVALID_CHUNK_SIZE'), s.socket());
    expect(s.answered).toEqual([]);
    expect(s.socket().destroyed).toBe(true);
  });

  it.each([
    ['the client reset the connection', 'ECONNRESET', false],
    ['the connection can no longer be written', 'HPE_INVALID_METHOD', true],
  ])('is not written when %s: the connection goes', async (_, code, ended) => {
    const s = await withAnswer();
    await answerOne(s);
    if (ended) s.socket().end();
    s.onError(parseError(code), s.socket());
    expect(s.answered).toEqual([]);
    expect(s.socket().destroyed).toBe(true);
  });
});
