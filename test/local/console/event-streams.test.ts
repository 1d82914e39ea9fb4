// The console's event streams (scripts/local/console/event-streams.ts) on a server of the
// test's own: what a new stream gets first (the snapshot: topology, requests, stats, in that
// order, as Server-Sent Events), each event as `event: <type>` and its payload as JSON, the
// heartbeat every 15 s on a fake clock, and the feed left alone once the last stream closes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventStreams, STREAM_LIMITS } from '../../../scripts/local/console/event-streams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { FakeFeed } from './fake-feed.ts';

let server: http.Server | undefined;
const aborts: AbortController[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const abort of aborts.splice(0)) abort.abort();
  const running = server;
  server = undefined;
  if (running === undefined) return;
  running.closeAllConnections();
  await new Promise((resolve) => running.close(resolve));
});

async function serve(streams: EventStreams): Promise<string> {
  const created = http.createServer((req, res) => {
    if (!streams.open(req, res)) res.writeHead(503).end();
  });
  server = created;
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(created.address() as AddressInfo).port}`;
}

/** A stream's text as it arrives. */
async function open(url: string) {
  const abort = new AbortController();
  aborts.push(abort);
  const response = await fetch(url, { signal: abort.signal });
  const state = { text: '', response, abort };
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      state.text += decoder.decode(value);
    }
  })();
  return state;
}

describe('an event stream', () => {
  it('starts with the snapshot, then carries each event once, as Server-Sent Events', async () => {
    const feed = new FakeFeed();
    const streams = new EventStreams(feed);
    const stream = await open(await serve(streams));
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream');
    expect(stream.response.headers.get('cache-control')).toBe('no-store');
    await waitFor('the snapshot', () => stream.text.includes('event: stats'), 5_000);
    expect(stream.text).toBe(
      'event: topology\ndata: {}\n\nevent: requests\ndata: []\n\nevent: stats\ndata: []\n\n',
    );
    feed.emit({ type: 'notice', text: 'a "quoted" line' });
    await waitFor('the notice', () => stream.text.includes('notice'), 5_000);
    expect(stream.text.endsWith('event: notice\ndata: "a \\"quoted\\" line"\n\n')).toBe(true);
    expect(streams.size).toBe(1);
  });

  it('gets a heartbeat comment every 15 s, and none once the last stream is gone', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const feed = new FakeFeed();
    const streams = new EventStreams(feed);
    const url = await serve(streams);
    const first = await open(url);
    const second = await open(url);
    await waitFor('both streams', () => streams.size === 2, 5_000);
    expect(feed.listeners.size).toBe(1);
    vi.advanceTimersByTime(14_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(first.text).not.toContain(': heartbeat');
    vi.advanceTimersByTime(1);
    await waitFor(
      'the heartbeat',
      () => first.text.includes(': heartbeat\n\n') && second.text.includes(': heartbeat\n\n'),
      5_000,
    );
    first.abort.abort();
    second.abort.abort();
    await waitFor('the streams closed', () => streams.size === 0, 5_000);
    // The feed is left alone: no listener, no timer.
    expect(feed.listeners.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('goes on for the others when one of several closes', async () => {
    const feed = new FakeFeed();
    const streams = new EventStreams(feed);
    const url = await serve(streams);
    const leaving = await open(url);
    const staying = await open(url);
    await waitFor('both streams', () => streams.size === 2, 5_000);
    leaving.abort.abort();
    await waitFor('one stream left', () => streams.size === 1, 5_000);
    expect(feed.listeners.size).toBe(1);
    feed.emit({ type: 'notice', text: 'still here' });
    await waitFor('the notice', () => staying.text.includes('still here'), 5_000);
  });

  it('is refused past the limit, and every one is closed when the streams close', async () => {
    const feed = new FakeFeed();
    const streams = new EventStreams(feed, { ...STREAM_LIMITS, maxStreams: 1 });
    const url = await serve(streams);
    const first = await open(url);
    await waitFor('the first stream', () => streams.size === 1, 5_000);
    const second = await fetch(url);
    expect(second.status).toBe(503);
    streams.close();
    await waitFor('the stream ended', () => streams.size === 0, 5_000);
    expect(first.text).toContain('event: topology');
  });

  it('is limited to 16 streams and 1 MiB waiting for a reader, by default', () => {
    expect(STREAM_LIMITS).toEqual({ maxStreams: 16, maxBufferedBytes: 1024 * 1024 });
  });
});
