// Paired rounds: book-service and Fastify (and, in a full run, the floor app) loaded at the same
// moment, each by its own load generator, every server on the server core. Whatever else the
// machine runs disturbs them alike, so the ratio of their CPU per request holds from round to
// round where rows loaded one after the other drift apart (measured on this shared machine:
// rounds within about 3% of each other, against 10-30% for the interleaved rounds). It compares
// CPU per request only: servers sharing a core share its time, so their req/s is not their own.
import type { LoadGenerator, LoadResult } from './load.ts';
import { runLoad } from './load.ts';
import type { RouteId } from './routes.ts';
import { median } from './stats.ts';

/** A server the round loads: where to send requests, and its CPU time so far. */
export interface PairedTarget {
  url: (route: RouteId) => string;
  cpuMicros: () => number;
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
}

export interface PairedSettings {
  rounds: number;
  durationSeconds: number;
  connections: number;
  generator: LoadGenerator;
  /** taskset CPU list for the load generators, or undefined. */
  loadCpus: string | undefined;
}

async function pairedRound(
  targets: readonly PairedTarget[],
  route: RouteId,
  round: number,
  settings: PairedSettings,
): Promise<PairedSample> {
  const before = targets.map((t) => t.cpuMicros());
  const load = (target: PairedTarget): Promise<LoadResult> =>
    runLoad(settings.generator, {
      url: target.url(route),
      connections: settings.connections,
      durationSeconds: settings.durationSeconds,
      cpus: settings.loadCpus,
    });
  const results = await Promise.all(targets.map(load));
  const cpu = targets.map(
    (target, i) =>
      (target.cpuMicros() - (before[i] ?? Number.NaN)) / Math.max(results[i]?.requests ?? 0, 1),
  );
  const last = cpu.at(-1) ?? Number.NaN;
  const ratios = cpu.map((micros) => micros / last);
  return {
    round,
    route,
    cpuMicrosPerRequest: cpu,
    ratios,
    requests: results.map((r) => r?.requests ?? 0),
    errors: results.map((r) => r?.errors ?? 0),
  };
}

/**
 * `rounds` rounds on each route in turn, the routes interleaved within each round, every
 * target loaded at the same moment (the first is compared with the last).
 */
export async function pairedRounds(
  targets: readonly PairedTarget[],
  routes: readonly RouteId[],
  settings: PairedSettings,
  log: (line: string) => void,
): Promise<PairedSample[]> {
  const samples: PairedSample[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    const line: string[] = [];
    for (const route of routes) {
      const sample = await pairedRound(targets, route, round, settings);
      samples.push(sample);
      const ratios = sample.ratios.slice(0, -1).map((r) => `${r.toFixed(2)}x`);
      line.push(`${route} ${ratios.join('/')}`);
    }
    log(`paired round ${round}/${settings.rounds}: CPU per request ${line.join(', ')}`);
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
