// The console's server against clients that do not play along (issue 27): a body larger than
// an action ever is gets its 413 at once and nothing more of it is read; event streams are
// capped in number, share one serialisation of each event, and one whose client stops reading
// is closed instead of buffered for. Over a fake feed: no stack is needed, and the events are
// the test's to send.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsoleFeed } from '../../../scripts/local/console/feed.ts';
import { createConsoleServer } from '../../../scripts/local/console/server.ts';
import { waitFor } from '../../helpers/wait.ts';
import { FakeFeed } from './fake-feed.ts';

let server: http.Server | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function serve(feed: ConsoleFeed, maxStreams = 3): Promise<number> {
  const created = createConsoleServer(feed, { maxStreams, maxBufferedBytes: 64 * 1024 });
  server = created;
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  return (created.address() as AddressInfo).port;
}

/** A raw client: what it has read so far, and whether the server has closed the connection. */
function connect(port: number, bytes: string, read = true) {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  const state = { text: '', closed: false };
  socket.on('data', (chunk: Buffer) => {
    state.text += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    state.closed = true;
  });
  if (!read) socket.pause();
  socket.write(bytes);
  return { socket, state };
}

const EVENTS = 'GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const probe = (headers: string) =>
  `POST /api/probe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}\r\n`;

describe('an action whose body is too large', () => {
  it('is refused at once when its length says so, and nothing of it is read', async () => {
    const feed = new FakeFeed();
    const port = await serve(feed);
    const client = connect(port, probe(`Content-Length: ${1024 ** 3}\r\n`));
    await waitFor('the answer and the close', () => client.state.closed);
    expect(client.state.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(client.state.text).toMatch(/connection: close/i);
    expect(feed.probes).toBe(0);
  });

  it('is refused once it passes the limit unannounced, and the connection closes while it is still coming', async () => {
    const feed = new FakeFeed();
    const port = await serve(feed);
    const client = connect(port, probe('Transfer-Encoding: chunked\r\n'));
    const chunk = `1000\r\n${'x'.repeat(0x1000)}\r\n`;
    // Sends on until the server closes the connection: the client never ends the body.
    const sending = setInterval(() => {
      if (!client.state.closed) client.socket.write(chunk);
    }, 5);
    try {
      await waitFor('the answer and the close', () => client.state.closed);
    } finally {
      clearInterval(sending);
    }
    expect(client.state.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(feed.probes).toBe(0);
  });

  it('still takes an action of a normal size', async () => {
    const feed = new FakeFeed();
    const port = await serve(feed);
    const body = '{"host":"x","path":"/"}';
    const client = connect(
      port,
      `${probe(`Content-Length: ${body.length}\r\nConnection: close\r\n`)}${body}`,
    );
    await waitFor('the answer', () => client.state.closed);
    expect(client.state.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(feed.probes).toBe(1);
  });
});

describe('event streams', () => {
  it(`refuses a stream past the limit, and takes one again once a stream closes`, async () => {
    const feed = new FakeFeed();
    const port = await serve(feed, 2);
    const open = [connect(port, EVENTS), connect(port, EVENTS)];
    await waitFor('two streams', () => open.every((c) => c.state.text.includes('event: stats')));
    const third = connect(port, EVENTS);
    await waitFor('the refusal', () => third.state.text.includes('\r\n\r\n{'));
    expect(third.state.text).toMatch(/^HTTP\/1\.1 503 /);
    expect(third.state.text).toContain('application/problem+json');
    open[0]?.socket.destroy();
    third.socket.destroy();
    // The refused client and the first stream gone: one stream left.
    await waitFor('the first stream gone', async () => (await connections()) === 1);
    const again = connect(port, EVENTS);
    await waitFor('a stream again', () => again.state.text.includes('event: stats'));
  });

  it('serialises each event once, whatever the number of streams', async () => {
    const feed = new FakeFeed();
    const port = await serve(feed, 3);
    const open = [connect(port, EVENTS), connect(port, EVENTS), connect(port, EVENTS)];
    await waitFor('three streams', () => open.every((c) => c.state.text.includes('event: stats')));
    expect(feed.listeners.size).toBe(1);
    let serialised = 0;
    const counted = {
      toJSON: () => {
        serialised++;
        return 'counted';
      },
    };
    feed.emit({ type: 'notice', text: counted as unknown as string });
    await waitFor('the event on every stream', () =>
      open.every((c) => c.state.text.includes('"counted"')),
    );
    expect(serialised).toBe(1);
  });

  it('closes a stream whose client stops reading, and keeps serving one that reads', async () => {
    const feed = new FakeFeed();
    const port = await serve(feed, 3);
    // A client that reads nothing after its request.
    connect(port, EVENTS, false);
    const reading = connect(port, EVENTS);
    await waitFor(
      'the streams',
      () => reading.state.text.includes('event: stats') && feed.listeners.size === 1,
    );
    const big = 'y'.repeat(256 * 1024);
    // Events until the stalled client's socket buffers are full: then the server drops it.
    await waitFor('the server to close the stalled stream', async () => {
      feed.emit({ type: 'notice', text: big });
      await new Promise((resolve) => setImmediate(resolve));
      return (await connections()) === 1;
    });
    const before = reading.state.text.length;
    feed.emit({ type: 'notice', text: 'still here' });
    await waitFor('the reader to get the next event', () => reading.state.text.length > before);
    expect(reading.state.closed).toBe(false);
  });
});

/** Connections the console's server holds open. */
function connections(): Promise<number> {
  return new Promise((resolve, reject) =>
    server?.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}
