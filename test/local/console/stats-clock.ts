// What the console's statistics tests share: an injected clock set in seconds, and a check that
// a percentile is within one histogram bin of what was recorded.
import { expect } from 'vitest';

export const ROUTE = 'ANY /api/books';
/** One bin's width: percentiles are reported within it. */
export const BIN_RATIO = 2 ** (1 / 16);

export function clock(startSeconds: number) {
  let ms = startSeconds * 1000;
  return {
    now: () => ms,
    at(seconds: number) {
      ms = seconds * 1000;
    },
  };
}

export function near(actual: number | null | undefined, expected: number): void {
  expect(actual).not.toBeNull();
  expect(actual as number).toBeGreaterThanOrEqual(expected / BIN_RATIO);
  expect(actual as number).toBeLessThanOrEqual(expected * BIN_RATIO);
}
