// The console's per-route statistics at their edges, on an injected clock: latencies at and
// beyond the histogram's range (a 0 ms answer, a request slower than 100 s) still count in the
// percentiles; every series holds exactly one point per second of the window; the window's
// first and last seconds; routes kept apart; and a summary that changes nothing.
import { describe, expect, it } from 'vitest';
import { RequestStats, WINDOW_SECONDS } from '../../../scripts/local/console/stats.ts';
import { clock, near, ROUTE } from './stats-clock.ts';

/** Where the histogram starts (10 µs) and where its last bin starts (above 100 s). */
const LOWEST_MS = 0.01;
const TOP_BIN_START_MS = 100_000;

/** The summary of the one route, one second after `latencies` were recorded together. */
function summaryOf(latencies: number[]) {
  const time = clock(10_000);
  const stats = new RequestStats([ROUTE], time.now);
  for (const ms of latencies) stats.record(ROUTE, ms);
  time.at(10_001);
  const [route] = stats.summarize();
  if (route === undefined) throw new Error('no summary for the route');
  return route;
}

describe('RequestStats: latencies at the ends of the range', () => {
  it('counts a 0 ms answer in the percentiles, reported in the lowest bin', () => {
    const route = summaryOf([0]);
    expect(route.total).toBe(1);
    near(route.p50.at(-1), LOWEST_MS);
    near(route.minuteP50, LOWEST_MS);
    near(route.minuteP99, LOWEST_MS);
  });

  it('puts anything faster than 10 µs in the lowest bin, with the fastest', () => {
    const route = summaryOf([0.004, 0.009, 0]);
    near(route.minuteP99, LOWEST_MS);
    expect(route.p99.at(-1)).toBe(route.p50.at(-1));
  });

  it('keeps 10 µs and 1 ms apart: only latencies below the range share its first bin', () => {
    const route = summaryOf([0.01, 1]);
    near(route.minuteP50, LOWEST_MS);
    near(route.minuteP99, 1);
  });

  it('counts a request slower than 100 s in the top bin instead of losing it', () => {
    const route = summaryOf([1_000_000]);
    expect(route.total).toBe(1);
    expect(route.minuteP50).not.toBeNull();
    expect(route.minuteP50 as number).toBeGreaterThan(TOP_BIN_START_MS);
    expect(route.p99.at(-1)).toBe(route.minuteP50);
  });

  it('reports every latency above the range as the same top bin', () => {
    const slow = summaryOf([200_000]);
    const slower = summaryOf([Number.POSITIVE_INFINITY]);
    expect(slow.minuteP99).toBe(slower.minuteP99);
    expect(slow.minuteP99 as number).toBeGreaterThan(TOP_BIN_START_MS);
    expect(slow.minuteP99 as number).toBeLessThan(200_000);
  });

  it('takes the p99 of a mixed second from its slowest request, the p50 from the middle', () => {
    const route = summaryOf([0, 3, 3, 3, 1_000_000]);
    near(route.p50.at(-1), 3);
    expect(route.p99.at(-1) as number).toBeGreaterThan(TOP_BIN_START_MS);
  });
});

describe('RequestStats: the window', () => {
  it('gives one point per second of the window in every series, even with traffic', () => {
    const time = clock(20_000);
    const stats = new RequestStats([ROUTE], time.now);
    stats.record(ROUTE, 5);
    time.at(20_001);
    const [route] = stats.summarize();
    expect(route?.rate).toHaveLength(WINDOW_SECONDS);
    expect(route?.p50).toHaveLength(WINDOW_SECONDS);
    expect(route?.p99).toHaveLength(WINDOW_SECONDS);
    expect(route?.p99.slice(0, -1)).toEqual(Array(WINDOW_SECONDS - 1).fill(null));
    near(route?.p99.at(-1), 5);
  });

  it('keeps a second for exactly a minute after it ends, as the oldest point', () => {
    const time = clock(30_000);
    const stats = new RequestStats([ROUTE], time.now);
    stats.record(ROUTE, 7);
    time.at(30_000 + WINDOW_SECONDS);
    const [last] = stats.summarize();
    expect(last?.rate[0]).toBe(1);
    near(last?.p50[0], 7);
    time.at(30_001 + WINDOW_SECONDS);
    const [gone] = stats.summarize();
    expect(gone?.total).toBe(0);
    expect(gone?.rate).toEqual(Array(WINDOW_SECONDS).fill(0));
    expect(gone?.minuteP50).toBeNull();
  });

  it('reads a bucket left from an earlier minute as an empty second', () => {
    const time = clock(40_000);
    const stats = new RequestStats([ROUTE], time.now);
    stats.record(ROUTE, 9);
    // Two minutes on: the bucket of second 40_000 is the one of 40_120, never rewritten.
    time.at(40_000 + 2 * WINDOW_SECONDS + 1);
    const [route] = stats.summarize();
    expect(route?.total).toBe(0);
    expect(route?.p50).toEqual(Array(WINDOW_SECONDS).fill(null));
  });

  it('works from the first seconds of the clock, before a whole minute has passed', () => {
    const time = clock(0);
    const stats = new RequestStats([ROUTE], time.now);
    stats.record(ROUTE, 4);
    time.at(1);
    const [route] = stats.summarize();
    expect(route?.rate.at(-1)).toBe(1);
    expect(route?.rate.slice(0, -1)).toEqual(Array(WINDOW_SECONDS - 1).fill(0));
    near(route?.minuteP50, 4);
  });

  it('starts a new second at each whole second of the clock, not a second after a request', () => {
    const time = clock(50_000.999);
    const stats = new RequestStats([ROUTE], time.now);
    stats.record(ROUTE, 2);
    time.at(50_001);
    stats.record(ROUTE, 2);
    const [route] = stats.summarize();
    expect(route?.rate.at(-1)).toBe(1);
    expect(route?.total).toBe(1);
  });
});

describe('RequestStats: routes and summaries', () => {
  it('keeps each route to its own requests', () => {
    const time = clock(60_000);
    const stats = new RequestStats([ROUTE, 'ANY /api/authors'], time.now);
    stats.record(ROUTE, 1);
    stats.record(ROUTE, 1);
    stats.record('ANY /api/authors', 500);
    time.at(60_001);
    const [books, authors] = stats.summarize();
    expect(books?.total).toBe(2);
    near(books?.minuteP99, 1);
    expect(authors?.total).toBe(1);
    near(authors?.minuteP50, 500);
  });

  it('lists routes first seen in a request after the known ones, in the order they came', () => {
    const time = clock(70_000);
    const stats = new RequestStats([ROUTE], time.now);
    stats.record('GET /b', 1);
    stats.record('-', 1);
    stats.record('GET /b', 1);
    time.at(70_001);
    const summary = stats.summarize();
    expect(summary.map((s) => [s.routeKey, s.total])).toEqual([
      [ROUTE, 0],
      ['GET /b', 2],
      ['-', 1],
    ]);
  });

  it('gives the same summary when asked twice: reading the window changes nothing', () => {
    const time = clock(80_000);
    const stats = new RequestStats([ROUTE], time.now);
    for (let ms = 1; ms <= 20; ms++) stats.record(ROUTE, ms);
    time.at(80_001);
    expect(stats.summarize()).toEqual(stats.summarize());
  });
});
