// The warm-up before the measured rounds: load a (row, route) in 1 s steps until its CPU per
// request stops falling. V8 compiles a server's hot path over its first seconds of load: on this
// machine book-service's CPU per request fell from 203 to 75 us over eight 1 s loads, Fastify's
// from 187 to 86, and the local stack's API + ALB process from 407 to 233 us over 30 s
// (bench/README.md, "Warm-up"). Rounds measured before then compare how far each row's JIT has
// got, not the rows; a fixed second of warm-up left the first rounds of every row there.

/** A step of warm-up load, in seconds. */
export const WARMUP_STEP_SECONDS = 1;

/** A step that does not bring the CPU per request this far below the best before it is no gain. */
export const WARMUP_GAIN = 0.05;

/**
 * Whether a row has stopped getting faster: `samples` are the CPU per request of its
 * consecutive warm-up steps, and the last two each stayed within WARMUP_GAIN of the best of
 * the steps before it. A noisy step above the best counts as no gain, as it should.
 */
export function warmedUp(samples: readonly number[], gain = WARMUP_GAIN): boolean {
  const n = samples.length;
  if (n < 3) return false;
  const noGain = (i: number) =>
    (samples[i] as number) >= (1 - gain) * Math.min(...samples.slice(0, i));
  return noGain(n - 1) && noGain(n - 2);
}

export interface Warmup {
  seconds: number;
  /** False when `maxSeconds` ran out first. */
  settled: boolean;
}

/** Runs `step` (one step of load; its CPU us per request) until warmedUp(), at most `maxSeconds`. */
export function warmUp(step: () => Promise<number>, maxSeconds: number): Promise<Warmup> {
  return warmUpTogether(async () => [await step()], maxSeconds);
}

/**
 * Servers loaded at the same moment (the paired rounds' fresh servers): `step` loads them all
 * for one step and gives each one's CPU us per request; it runs until every one has settled
 * (warmedUp() on each one's steps), at most `maxSeconds`.
 */
export async function warmUpTogether(
  step: () => Promise<number[]>,
  maxSeconds: number,
): Promise<Warmup> {
  const series: number[][] = [];
  let steps = 0;
  while ((steps + 1) * WARMUP_STEP_SECONDS <= maxSeconds) {
    const each = await step();
    steps++;
    each.forEach((micros, i) => {
      series[i] ??= [];
      series[i].push(micros);
    });
    if (series.every((samples) => warmedUp(samples))) {
      return { seconds: steps * WARMUP_STEP_SECONDS, settled: true };
    }
  }
  return { seconds: steps * WARMUP_STEP_SECONDS, settled: false };
}
