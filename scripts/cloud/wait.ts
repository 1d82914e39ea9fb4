// Bounded waiting. Every wait in the scripts has a deadline and backs off between polls (zx's
// expBackoff: doubling, capped), so a stuck CloudFormation stack or ECS deployment ends in a
// clear timeout, never in a hang.
import { expBackoff } from 'zx';

export interface BackoffOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
}

type PollResult<T> = { done: true; value: T } | { done: false; state: string };

interface WaitOptions<T> extends BackoffOptions {
  /** What is awaited, for messages: "stack bookstore-test-book-service". */
  what: string;
  timeoutMs: number;
  poll: () => Promise<PollResult<T>>;
  /** Called when the observed state changes (not on every poll). */
  onState?: (state: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
  readonly what: string;
  readonly lastState: string;
  readonly timeoutMs: number;
  constructor(what: string, lastState: string, timeoutMs: number) {
    super(`${what} did not finish within ${formatDuration(timeoutMs)} (last state: ${lastState})`);
    this.what = what;
    this.lastState = lastState;
    this.timeoutMs = timeoutMs;
  }
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A bound as the user gave it: `--timeout 2.5` is "2.5 min", not "3 min" (deploy's plan prints
 * "<= 2.5 min"), so seconds and minutes keep a tenth; milliseconds are whole.
 */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${tenths(ms / 1_000)} s`;
  return `${tenths(ms / 60_000)} min`;
}

function tenths(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Polls until `poll` reports done, or throws WaitTimeoutError at the deadline. */
export async function waitUntil<T>(options: WaitOptions<T>): Promise<T> {
  const now = options.now ?? Date.now;
  const pause = options.sleep ?? sleep;
  const deadline = now() + options.timeoutMs;
  const delays = expBackoff(options.maxDelayMs ?? 15_000, options.initialDelayMs ?? 2_000);
  let lastState = 'not polled yet';
  for (;;) {
    const result = await options.poll();
    if (result.done) return result.value;
    if (result.state !== lastState) options.onState?.(result.state);
    lastState = result.state;
    const remaining = deadline - now();
    if (remaining <= 0) throw new WaitTimeoutError(options.what, lastState, options.timeoutMs);
    await pause(Math.min(remaining, delays.next().value as number));
  }
}
