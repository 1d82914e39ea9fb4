// Paired rounds: two rows loaded at the same moment, each by its own load generator, both
// servers on the server core. Whatever else the machine runs disturbs both alike, so the ratio
// of their CPU per request holds from round to round where rows loaded one after the other
// drift apart (measured on this shared machine: rounds within about 3% of each other, against
// 10-30% for the interleaved rounds). It compares CPU per request only: two servers sharing a
// core share its time, so their req/s is not each one's own.
import type { LoadGenerator, LoadResult } from './load.ts';
import { runLoad } from './load.ts';
import type { RouteId } from './routes.ts';
import { median } from './stats.ts';

/** A server the pair loads: where to send requests, and its CPU time so far. */
export interface PairedTarget {
  url: (route: RouteId) => string;
  cpuMicros: () => number;
}

export interface PairedSample {
  round: number;
  route: RouteId;
  /** CPU per request of the first and of the second target, and first / second. */
  cpuMicrosPerRequest: [number, number];
  ratio: number;
  requests: [number, number];
  errors: [number, number];
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
  pair: [PairedTarget, PairedTarget],
  route: RouteId,
  round: number,
  settings: PairedSettings,
): Promise<PairedSample> {
  const before = pair.map((t) => t.cpuMicros());
  const load = (target: PairedTarget): Promise<LoadResult> =>
    runLoad(settings.generator, {
      url: target.url(route),
      connections: settings.connections,
      durationSeconds: settings.durationSeconds,
      cpus: settings.loadCpus,
    });
  const [a, b] = await Promise.all(pair.map(load));
  const perRequest = (i: 0 | 1, result: LoadResult | undefined) =>
    ((pair[i]?.cpuMicros() ?? Number.NaN) - (before[i] ?? Number.NaN)) /
    Math.max(result?.requests ?? 0, 1);
  const cpu: [number, number] = [perRequest(0, a), perRequest(1, b)];
  return {
    round,
    route,
    cpuMicrosPerRequest: cpu,
    ratio: cpu[0] / cpu[1],
    requests: [a?.requests ?? 0, b?.requests ?? 0],
    errors: [a?.errors ?? 0, b?.errors ?? 0],
  };
}

/** `rounds` paired rounds on each route in turn, the routes interleaved within each round. */
export async function pairedRounds(
  pair: [PairedTarget, PairedTarget],
  routes: readonly RouteId[],
  settings: PairedSettings,
  log: (line: string) => void,
): Promise<PairedSample[]> {
  const samples: PairedSample[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    const line: string[] = [];
    for (const route of routes) {
      const sample = await pairedRound(pair, route, round, settings);
      samples.push(sample);
      line.push(`${route} ${sample.ratio.toFixed(2)}x`);
    }
    log(`paired round ${round}/${settings.rounds}: CPU per request ${line.join(', ')}`);
  }
  return samples;
}

export interface PairedSummary {
  route: RouteId;
  /** Medians over the rounds: each target's CPU per request, and the per-round ratio. */
  cpuMicrosPerRequest: [number, number];
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  errors: number;
}

export function summarisePaired(samples: readonly PairedSample[]): PairedSummary[] {
  const routes = [...new Set(samples.map((s) => s.route))];
  return routes.map((route) => {
    const of = samples.filter((s) => s.route === route);
    const ratios = of.map((s) => s.ratio);
    return {
      route,
      cpuMicrosPerRequest: [
        median(of.map((s) => s.cpuMicrosPerRequest[0])),
        median(of.map((s) => s.cpuMicrosPerRequest[1])),
      ],
      ratio: median(ratios),
      ratioMin: Math.min(...ratios),
      ratioMax: Math.max(...ratios),
      errors: of.reduce((sum, s) => sum + s.errors[0] + s.errors[1], 0),
    };
  });
}
