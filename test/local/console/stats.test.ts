// The console's per-route statistics on an injected clock: the rate per second, p50/p99 per
// second and over the minute, and the window sliding past old seconds.
import { describe, expect, it } from 'vitest';
import { RequestStats, WINDOW_SECONDS } from '../../../scripts/local/console/stats.ts';
import { clock, near, ROUTE } from './stats-clock.ts';

describe('RequestStats', () => {
  it('lists every route before its first request, with an empty minute', () => {
    const stats = new RequestStats([ROUTE, 'ANY /api/authors'], clock(1_000).now);
    const [books, authors] = stats.summarize();
    expect(books?.routeKey).toBe(ROUTE);
    expect(authors?.routeKey).toBe('ANY /api/authors');
    expect(books?.rate).toEqual(Array(WINDOW_SECONDS).fill(0));
    expect(books?.p50).toEqual(Array(WINDOW_SECONDS).fill(null));
    expect(books?.total).toBe(0);
    expect(books?.minuteP99).toBeNull();
  });

  it('counts requests per second, oldest first, leaving out the second still filling', () => {
    const time = clock(1_000);
    const stats = new RequestStats([ROUTE], time.now);
    for (let i = 0; i < 3; i++) stats.record(ROUTE, 5);
    time.at(1_001.5);
    stats.record(ROUTE, 5);
    time.at(1_002.2);
    stats.record(ROUTE, 5); // the current second: not in the window yet
    const [books] = stats.summarize();
    expect(books?.rate.slice(-2)).toEqual([3, 1]);
    expect(books?.rate.slice(0, -2)).toEqual(Array(WINDOW_SECONDS - 2).fill(0));
    expect(books?.total).toBe(4);
  });

  it('gives p50 and p99 of each second and of the minute, to within one bin', () => {
    const time = clock(2_000);
    const stats = new RequestStats([ROUTE], time.now);
    for (let ms = 1; ms <= 100; ms++) stats.record(ROUTE, ms);
    time.at(2_001);
    for (let i = 0; i < 100; i++) stats.record(ROUTE, 1_000);
    time.at(2_002);
    const [books] = stats.summarize();
    near(books?.p50.at(-2), 50);
    near(books?.p99.at(-2), 99);
    near(books?.p50.at(-1), 1_000);
    expect(books?.p50.at(-3)).toBeNull();
    // 200 samples: the 100th is the slowest of the first second, the 198th a 1 s one.
    near(books?.minuteP50, 100);
    near(books?.minuteP99, 1_000);
  });

  it('takes the nearest rank: the p99 of ten samples is the slowest one', () => {
    const time = clock(2_500);
    const stats = new RequestStats([ROUTE], time.now);
    for (let ms = 1; ms <= 10; ms++) stats.record(ROUTE, ms);
    time.at(2_501);
    const [books] = stats.summarize();
    near(books?.minuteP99, 10);
    near(books?.minuteP50, 5);
  });

  it('forgets seconds older than the window, and reuses their buckets', () => {
    const time = clock(3_000);
    const stats = new RequestStats([ROUTE], time.now);
    stats.record(ROUTE, 2);
    stats.record(ROUTE, 2);
    time.at(3_000 + WINDOW_SECONDS);
    expect(stats.summarize()[0]?.total).toBe(2);
    // The same bucket, a minute later: a new second, not added to the old one.
    stats.record(ROUTE, 400);
    time.at(3_001 + WINDOW_SECONDS);
    const [books] = stats.summarize();
    expect(books?.total).toBe(1);
    expect(books?.rate.at(-1)).toBe(1);
    near(books?.minuteP50, 400);
  });

  it('keeps requests that matched no route under their own key', () => {
    const time = clock(4_000);
    const stats = new RequestStats([ROUTE], time.now);
    stats.record('-', 0.5);
    time.at(4_001);
    const summary = stats.summarize();
    expect(summary.map((s) => s.routeKey)).toEqual([ROUTE, '-']);
    near(summary[1]?.minuteP50, 0.5);
  });
});
