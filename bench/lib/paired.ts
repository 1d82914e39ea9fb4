// Paired rounds: book-service and Fastify (and, in a full run, the floor app) loaded at the same
// moment, each by its own load generator, every server on the server core. Whatever else the
// machine runs disturbs them alike, so the ratio of their CPU per request holds from round to
// round where rows loaded one after the other drift apart (measured on this shared machine:
// rounds within about 3% of each other, against 10-30% for the interleaved rounds). It compares
// CPU per request only: servers sharing a core share its time, so their req/s is not their own.
//
// Each round starts its own servers and warms them up together: in two full runs on one machine
// a different one of the three long-lived servers came out 12-21% above the other two for all
// five rounds, its code and bundle unchanged (bench/README.md, "A new machine"), so a verdict
// drawn from one process of each row is a verdict on those processes. Fresh servers per round
// make the median over rounds a median over processes.
import type { LoadResult } from './load.ts';
import type { RouteId } from './routes.ts';
import { median } from './stats.ts';
import { WARMUP_STEP_SECONDS, type Warmup, warmUpTogether } from './warmup.ts';

/** A server the round loads: where to send requests, and its CPU time so far. */
export interface PairedTarget {
  url: (route: RouteId) => string;
  cpuMicros: () => number;
}

/** The servers of one round, one per row in the rows' order, started for it. */
export interface PairedSet {
  targets: PairedTarget[];
  stop(): Promise<void>;
}

/**
 * One round on one route. Each list holds one entry per target, in the targets' order; the
 * ratios are each target's CPU per request over the last target's (Fastify's), so the first,
 * the first target over the last, is book-service's.
 */
export interface PairedSample {
  round: number;
  route: RouteId;
  cpuMicrosPerRequest: number[];
  ratios: number[];
  requests: number[];
  errors: number[];
  /** The round's fresh servers loaded together on this route before it was measured. */
  warmup: Warmup;
}

export interface PairedSettings {
  rounds: number;
  durationSeconds: number;
  /** At most this many seconds of warm-up per route and round (warmup.ts). */
  warmupSeconds: number;
  /** One load generator's load of `url` for `seconds` (load.ts's runLoad, in a run). */
  load: (url: string, seconds: number) => Promise<LoadResult>;
}

/** Every target loaded at once on `route` for `seconds`: each one's CPU per request. */
async function loadTogether(
  targets: readonly PairedTarget[],
  route: RouteId,
  seconds: number,
  settings: PairedSettings,
): Promise<{ cpu: number[]; results: LoadResult[] }> {
  const before = targets.map((t) => t.cpuMicros());
  const results = await Promise.all(targets.map((t) => settings.load(t.url(route), seconds)));
  const cpu = targets.map(
    (target, i) =>
      (target.cpuMicros() - (before[i] ?? Number.NaN)) / Math.max(results[i]?.requests ?? 0, 1),
  );
  return { cpu, results };
}

async function pairedRound(
  targets: readonly PairedTarget[],
  route: RouteId,
  round: number,
  settings: PairedSettings,
): Promise<PairedSample> {
  const warmup = await warmUpTogether(
    async () => (await loadTogether(targets, route, WARMUP_STEP_SECONDS, settings)).cpu,
    settings.warmupSeconds,
  );
  const { cpu, results } = await loadTogether(targets, route, settings.durationSeconds, settings);
  const last = cpu.at(-1) ?? Number.NaN;
  return {
    round,
    route,
    cpuMicrosPerRequest: cpu,
    ratios: cpu.map((micros) => micros / last),
    requests: results.map((r) => r?.requests ?? 0),
    errors: results.map((r) => r?.errors ?? 0),
    warmup,
  };
}

/**
 * `rounds` rounds, each on fresh servers (`startSet`, stopped after the round) and on each route
 * in turn: every target warmed up and then measured at the same moment (the first is compared
 * with the last).
 */
export async function pairedRounds(
  startSet: () => Promise<PairedSet>,
  routes: readonly RouteId[],
  settings: PairedSettings,
  log: (line: string) => void,
): Promise<PairedSample[]> {
  const samples: PairedSample[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    const line: string[] = [];
    const set = await startSet();
    try {
      for (const route of routes) {
        const sample = await pairedRound(set.targets, route, round, settings);
        samples.push(sample);
        const ratios = sample.ratios.slice(0, -1).map((r) => `${r.toFixed(2)}x`);
        const { seconds, settled } = sample.warmup;
        const warm = seconds > 0 ? ` (after ${seconds} s${settled ? '' : ', unsettled'})` : '';
        line.push(`${route} ${ratios.join('/')}${warm}`);
      }
    } finally {
      await set.stop();
    }
    log(
      `paired round ${round}/${settings.rounds}, fresh servers: CPU per request ${line.join(', ')}`,
    );
  }
  return samples;
}

export interface PairedSummary {
  route: RouteId;
  /** Medians over the rounds: each target's CPU per request, and each per-round ratio. */
  cpuMicrosPerRequest: number[];
  ratios: number[];
  /** The first target's (book-service's) ratio: its median, lowest and highest round. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  errors: number;
}

export function summarisePaired(samples: readonly PairedSample[]): PairedSummary[] {
  const routes = [...new Set(samples.map((s) => s.route))];
  return routes.map((route) => {
    const of = samples.filter((s) => s.route === route);
    const targets = of[0]?.cpuMicrosPerRequest.length ?? 0;
    const each = (pick: (s: PairedSample) => number[]) =>
      Array.from({ length: targets }, (_, i) => median(of.map((s) => pick(s)[i] ?? Number.NaN)));
    const ratios = each((s) => s.ratios);
    const firsts = of.map((s) => s.ratios[0] ?? Number.NaN);
    return {
      route,
      cpuMicrosPerRequest: each((s) => s.cpuMicrosPerRequest),
      ratios,
      ratio: ratios[0] ?? Number.NaN,
      ratioMin: Math.min(...firsts),
      ratioMax: Math.max(...firsts),
      errors: of.reduce((sum, s) => sum + s.errors.reduce((a, b) => a + b, 0), 0),
    };
  });
}
