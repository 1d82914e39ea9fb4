// Waiting in tests: a bounded poll, so a slow machine gives a clear failure, not a hang.

/** Polls `predicate` every 25 ms until true; resolves with the ms it took, or throws. */
export async function waitFor(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  while (!(await predicate())) {
    if (performance.now() - started > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return performance.now() - started;
}
