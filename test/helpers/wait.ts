// Waiting in tests: a poll, bounded only so that a broken component fails with a clear message
// instead of a hang. The bound is never the behaviour under test (that is asserted by the
// order and count of events, or on a clock of the test's own): it is long, so that a busy
// machine never reaches it.

export const HANG_GUARD_MS = 30_000;

/** Polls `predicate` every 25 ms until true; throws if it is still false after `boundMs`. */
export async function waitFor(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  boundMs = HANG_GUARD_MS,
): Promise<void> {
  const started = performance.now();
  while (!(await predicate())) {
    if (performance.now() - started > boundMs) {
      throw new Error(`gave up after ${boundMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
