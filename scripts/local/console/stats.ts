// Request rate and p50/p99 latency per route over the last minute, in one-second buckets.
// Each bucket holds a log-scale histogram rather than the samples, so memory and the cost of
// a record stay fixed however many requests arrive; a percentile is then known to within one
// bin, a ratio of 2^(1/16) (about 4.4%).
import type { RouteStats } from './feed.ts';

export const WINDOW_SECONDS = 60;
const BINS_PER_DOUBLING = 16;
/** The lowest bin starts at 10 µs; the highest ends above 100 s. */
const MIN_MS = 0.01;
const BIN_COUNT = Math.ceil(Math.log2(100_000 / MIN_MS) * BINS_PER_DOUBLING) + 1;

function binOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  const bin = Math.floor(Math.log2(ms / MIN_MS) * BINS_PER_DOUBLING);
  return Math.min(bin, BIN_COUNT - 1);
}

/** The geometric middle of a bin: what a percentile falling in it is reported as. */
function binValue(bin: number): number {
  return MIN_MS * 2 ** ((bin + 0.5) / BINS_PER_DOUBLING);
}

function percentile(histogram: Uint32Array, count: number, p: number): number | null {
  if (count === 0) return null;
  // The nearest-rank method: the smallest value with at least p% of the samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * count));
  let seen = 0;
  for (let bin = 0; bin < histogram.length; bin++) {
    seen += histogram[bin] as number;
    if (seen >= rank) return binValue(bin);
  }
  return null;
}

class Bucket {
  second = -1;
  count = 0;
  readonly histogram = new Uint32Array(BIN_COUNT);
  reset(second: number): void {
    this.second = second;
    this.count = 0;
    this.histogram.fill(0);
  }
}

class RouteWindow {
  readonly buckets = Array.from({ length: WINDOW_SECONDS }, () => new Bucket());

  record(second: number, latencyMs: number): void {
    const bucket = this.buckets[second % WINDOW_SECONDS] as Bucket;
    if (bucket.second !== second) bucket.reset(second);
    bucket.count++;
    (bucket.histogram[binOf(latencyMs)] as number)++;
  }

  summarize(routeKey: string, nowSecond: number): RouteStats {
    const stats: RouteStats = {
      routeKey,
      rate: [],
      p50: [],
      p99: [],
      total: 0,
      minuteP50: null,
      minuteP99: null,
    };
    const minute = new Uint32Array(BIN_COUNT);
    // The current second is still filling: the window is the 60 whole seconds before it.
    for (let second = nowSecond - WINDOW_SECONDS; second < nowSecond; second++) {
      const bucket = this.buckets[((second % WINDOW_SECONDS) + WINDOW_SECONDS) % WINDOW_SECONDS];
      const live = bucket !== undefined && bucket.second === second ? bucket : undefined;
      const count = live?.count ?? 0;
      stats.rate.push(count);
      stats.p50.push(live ? percentile(live.histogram, count, 50) : null);
      stats.p99.push(live ? percentile(live.histogram, count, 99) : null);
      if (live === undefined) continue;
      stats.total += count;
      for (let bin = 0; bin < BIN_COUNT; bin++) {
        (minute[bin] as number) += live.histogram[bin] as number;
      }
    }
    stats.minuteP50 = percentile(minute, stats.total, 50);
    stats.minuteP99 = percentile(minute, stats.total, 99);
    return stats;
  }
}

export class RequestStats {
  private readonly windows = new Map<string, RouteWindow>();
  private readonly now: () => number;

  /** `routeKeys` are listed even before their first request; `now` is epoch ms. */
  constructor(routeKeys: readonly string[], now: () => number = Date.now) {
    this.now = now;
    for (const key of routeKeys) this.windows.set(key, new RouteWindow());
  }

  record(routeKey: string, latencyMs: number): void {
    let window = this.windows.get(routeKey);
    if (window === undefined) {
      window = new RouteWindow();
      this.windows.set(routeKey, window);
    }
    window.record(Math.floor(this.now() / 1000), latencyMs);
  }

  summarize(): RouteStats[] {
    const second = Math.floor(this.now() / 1000);
    return [...this.windows].map(([key, window]) => window.summarize(key, second));
  }
}
