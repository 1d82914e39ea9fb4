// The console's record of requests (scripts/local/console/request-recorder.ts), in this process:
// per-route counts and latencies on a clock of the test's own, the newest records for a page
// that connects (bounded), batches of the newest sent a few times a second, and each record's
// fields as the stage's access-log format (addons/http-api.yml) writes them. The recorder's
// timers run on vitest's fake timers: no test waits on the wall clock.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FeedEvent, LoggedRequest, Task } from '../../../scripts/local/console/feed.ts';
import { RECENT_KEPT, RequestRecorder } from '../../../scripts/local/console/request-recorder.ts';
import {
  type AccessLogRecord,
  readHttpApiSettings,
} from '../../../scripts/workspace/http-api-settings.ts';
import { feedTask } from './fake-feed.ts';

const BOOKS = 'ANY /api/books/{proxy+}';
const AUTHORS = 'ANY /api/authors';
/** The wall clock the stats read (whole seconds from here). */
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
/** One histogram bin's width (stats.ts): percentiles are reported within it. */
const BIN_RATIO = 2 ** (1 / 16);

afterEach(() => {
  vi.useRealTimers();
});

/** A record as the gateway hands it over (api-request.ts accessLogFields). */
function accessRecord(path: string, overrides: Partial<AccessLogRecord> = {}): AccessLogRecord {
  return {
    requestId: `id-${path}`,
    sourceIp: '127.0.0.1',
    userAgent: 'curl/8.5.0',
    domainName: 'localhost',
    requestTimeEpoch: T0 + 123,
    httpMethod: 'GET',
    routeKey: BOOKS,
    path,
    protocol: 'HTTP/1.1',
    status: 200,
    responseLength: 17,
    responseLatency: 12.5,
    integrationStatus: 200,
    integrationLatency: 11,
    integrationErrorMessage: '',
    errorMessage: '',
    ...overrides,
  };
}

function task(service: string, slot: number, port: number): Task {
  return feedTask(service, slot, port, { startedAt: T0 });
}

/** A recorder for the two routes, its events, and a clock the test moves. */
function setup(format: string | undefined = undefined) {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
  });
  let ms = T0;
  const events: FeedEvent[] = [];
  const recorder = new RequestRecorder(
    [BOOKS, AUTHORS],
    format,
    () => ms,
    (event) => events.push(event),
  );
  return {
    recorder,
    events,
    /** Moves the stats' clock and the timers together. */
    advance(by: number) {
      ms += by;
      vi.advanceTimersByTime(by);
    },
    batches(): string[][] {
      return events
        .filter((e): e is Extract<FeedEvent, { type: 'requests' }> => e.type === 'requests')
        .map((e) => e.requests.map((r) => r.path));
    },
    statsEvents() {
      return events.filter((e): e is Extract<FeedEvent, { type: 'stats' }> => e.type === 'stats');
    },
  };
}

function near(actual: number | null | undefined, expected: number): void {
  expect(actual).not.toBeNull();
  expect(actual as number).toBeGreaterThanOrEqual(expected / BIN_RATIO);
  expect(actual as number).toBeLessThanOrEqual(expected * BIN_RATIO);
}

describe('RequestRecorder statistics', () => {
  it('counts each request under its route, with its latency, and lists routes before any', () => {
    const h = setup();
    expect(h.recorder.stats.summarize().map((s) => [s.routeKey, s.total])).toEqual([
      [BOOKS, 0],
      [AUTHORS, 0],
    ]);
    for (let i = 0; i < 3; i++) h.recorder.record(accessRecord(`/api/books/${i}`), null, undefined);
    h.recorder.record(
      accessRecord('/api/authors', { routeKey: AUTHORS, responseLatency: 400 }),
      null,
      undefined,
    );
    // No route matched: the gateway's own 404, a row of its own.
    h.recorder.record(accessRecord('/nowhere', { routeKey: '-', status: 404 }), null, undefined);
    h.advance(1_000);
    const stats = h.recorder.stats.summarize();
    expect(stats.map((s) => [s.routeKey, s.total, s.rate.at(-1)])).toEqual([
      [BOOKS, 3, 3],
      [AUTHORS, 1, 1],
      ['-', 1, 1],
    ]);
    near(stats[0]?.minuteP50, 12.5);
    near(stats[1]?.minuteP99, 400);
  });

  it('a latency below zero counts as zero, in the statistics and in the record', () => {
    const h = setup();
    h.recorder.record(accessRecord('/a', { responseLatency: -1 }), null, undefined);
    h.recorder.record(accessRecord('/b', { responseLatency: 250 }), null, undefined);
    expect(h.recorder.recent().map((r) => r.latencyMs)).toEqual([250, 0]);
    h.advance(1_000);
    const [books] = h.recorder.stats.summarize();
    // The lowest bin (10 µs) for the clamped one: never a negative latency.
    expect(books?.minuteP50 as number).toBeLessThan(0.011);
    near(books?.minuteP99, 250);
  });

  it('statistics go out every second once started, once however often started', () => {
    const h = setup();
    h.recorder.start();
    h.recorder.start();
    h.recorder.record(accessRecord('/api/books/1'), null, undefined);
    h.advance(999);
    expect(h.statsEvents()).toHaveLength(0);
    h.advance(1);
    h.advance(1_000);
    const sent = h.statsEvents();
    expect(sent).toHaveLength(2);
    expect(sent[1]?.stats.map((s) => [s.routeKey, s.total])).toEqual([
      [BOOKS, 1],
      [AUTHORS, 0],
    ]);
  });

  it('stop leaves nothing running; a start after it sends statistics again', () => {
    const h = setup();
    h.recorder.start();
    h.recorder.record(accessRecord('/api/books/1'), null, undefined);
    h.recorder.stop();
    expect(vi.getTimerCount()).toBe(0);
    h.advance(5_000);
    expect(h.events).toEqual([]);
    h.recorder.start();
    h.advance(1_000);
    expect(h.statsEvents()).toHaveLength(1);
  });
});

describe('RequestRecorder records', () => {
  it('each record names its route, rule, the task that answered and its replica slot', () => {
    const h = setup();
    h.recorder.record(
      accessRecord('/api/books/7', { httpMethod: 'DELETE', status: 204, responseLatency: 3.25 }),
      'book-service',
      task('book-service', 1, 51234),
    );
    h.recorder.record(accessRecord('/nowhere', { routeKey: '-', status: 404 }), null, undefined);
    expect(h.recorder.recent()).toEqual([
      expect.objectContaining({
        seq: 2,
        path: '/nowhere',
        routeKey: '-',
        status: 404,
        rule: null,
        target: null,
        replica: null,
      }),
      {
        seq: 1,
        at: T0 + 123,
        method: 'DELETE',
        path: '/api/books/7',
        routeKey: BOOKS,
        status: 204,
        latencyMs: 3.25,
        // No access-log format: the record's own fields.
        fields: {
          requestId: 'id-/api/books/7',
          sourceIp: '127.0.0.1',
          httpMethod: 'DELETE',
          routeKey: BOOKS,
          path: '/api/books/7',
          status: 204,
          protocol: 'HTTP/1.1',
        },
        rule: 'book-service',
        target: '127.0.0.1:51234',
        replica: 'book-service/1',
      } satisfies LoggedRequest,
    ]);
  });

  it(`keeps the newest ${RECENT_KEPT} records, newest first`, () => {
    const h = setup();
    for (let i = 1; i <= RECENT_KEPT; i++)
      h.recorder.record(accessRecord(`/${i}`), null, undefined);
    let recent = h.recorder.recent();
    expect(recent).toHaveLength(RECENT_KEPT);
    expect(recent.at(-1)?.path).toBe('/1');
    h.recorder.record(accessRecord('/newest'), null, undefined);
    recent = h.recorder.recent();
    expect(recent).toHaveLength(RECENT_KEPT);
    expect(recent[0]).toMatchObject({ path: '/newest', seq: RECENT_KEPT + 1 });
    expect(recent.at(-1)?.path).toBe('/2');
    // Counted all the same: the statistics are not the ring.
    h.advance(1_000);
    expect(h.recorder.stats.summarize()[0]?.total).toBe(RECENT_KEPT + 1);
  });

  it('a record leaves once, the same in a batch and in the recent ones', () => {
    const h = setup();
    h.recorder.record(accessRecord('/api/books/1'), null, undefined);
    const first = h.recorder.recent()[0];
    h.advance(200);
    const batch = h.events[0] as Extract<FeedEvent, { type: 'requests' }>;
    expect(batch.requests[0]).toBe(first);
    expect(h.recorder.recent()[0]).toBe(first);
  });
});

describe('RequestRecorder batches', () => {
  it('requests within 200 ms go out together, newest first; later ones in the next batch', () => {
    const h = setup();
    h.recorder.record(accessRecord('/1'), null, undefined);
    h.advance(150);
    h.recorder.record(accessRecord('/2'), null, undefined);
    h.advance(49);
    expect(h.batches()).toEqual([]);
    h.advance(1);
    expect(h.batches()).toEqual([['/2', '/1']]);
    h.advance(1_000);
    // Nothing new, nothing sent.
    expect(h.batches()).toHaveLength(1);
    h.recorder.record(accessRecord('/3'), null, undefined);
    h.advance(200);
    expect(h.batches()).toEqual([['/2', '/1'], ['/3']]);
  });

  it('a batch holds the newest 100 of a burst; the recent ones keep more', () => {
    const h = setup();
    for (let i = 1; i <= 150; i++) h.recorder.record(accessRecord(`/${i}`), null, undefined);
    h.advance(200);
    const [batch] = h.batches();
    expect(batch).toHaveLength(100);
    expect(batch?.[0]).toBe('/150');
    expect(batch?.at(-1)).toBe('/51');
    expect(h.recorder.recent()).toHaveLength(150);
  });

  it('stop drops the batch on its way; records after a restart go out on their own timer', () => {
    const h = setup();
    h.recorder.record(accessRecord('/before'), null, undefined);
    h.advance(100);
    h.recorder.stop();
    h.recorder.start();
    h.advance(50);
    h.recorder.record(accessRecord('/after'), null, undefined);
    // The stopped batch's 200 ms are over: nothing goes out early.
    h.advance(100);
    expect(h.batches()).toEqual([]);
    h.advance(100);
    expect(h.batches()).toEqual([['/after']]);
    // Still kept for a page that connects.
    expect(h.recorder.recent().map((r) => r.path)).toEqual(['/after', '/before']);
  });
});

describe('RequestRecorder access-log fields', () => {
  it("the template's format, parsed: the names it gives, the values as the stage writes them", () => {
    const format = readHttpApiSettings().accessLogFormat;
    expect(format).toBeDefined();
    const h = setup(format);
    h.recorder.record(
      accessRecord('/api/books/"quoted"', {
        // The gateway's own id (a client cannot set it): never anything to escape.
        requestId: 'rid-1',
        status: 502,
        responseLatency: 30.6,
        integrationStatus: -1,
        errorMessage: 'Internal Server Error',
      }),
      null,
      undefined,
    );
    expect(h.recorder.recent()[0]?.fields).toEqual({
      requestId: 'rid-1',
      ip: '127.0.0.1',
      requestTime: '05/Jan/2026:12:00:00 +0000',
      httpMethod: 'GET',
      routeKey: BOOKS,
      path: '/api/books/"quoted"',
      status: '502',
      protocol: 'HTTP/1.1',
      responseLength: '17',
      responseLatency: '31',
      integrationStatus: '-',
      integrationLatency: '11',
      integrationErrorMessage: '-',
      errorMessage: 'Internal Server Error',
    });
  });

  it('a format that is not a JSON object (CLF, a bare value): the line as the stage writes it', () => {
    const clf = setup(
      '$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId',
    );
    clf.recorder.record(accessRecord('/api/books/1'), null, undefined);
    expect(clf.recorder.recent()[0]?.fields).toEqual({
      line: `127.0.0.1 - - [05/Jan/2026:12:00:00 +0000] "GET ${BOOKS} HTTP/1.1" 200 17 id-/api/books/1`,
    });
    const bare = setup('$context.status');
    bare.recorder.record(accessRecord('/api/books/1'), null, undefined);
    expect(bare.recorder.recent()[0]?.fields).toEqual({ line: '200' });
    const nothing = setup('null');
    nothing.recorder.record(accessRecord('/api/books/1'), null, undefined);
    expect(nothing.recorder.recent()[0]?.fields).toEqual({ line: 'null' });
  });

  it('an empty format is no access log (as the gateway takes it): the record’s own fields', () => {
    const h = setup('');
    h.recorder.record(accessRecord('/api/books/1'), null, undefined);
    expect(h.recorder.recent()[0]?.fields).toMatchObject({
      requestId: 'id-/api/books/1',
      path: '/api/books/1',
      status: 200,
    });
  });
});
