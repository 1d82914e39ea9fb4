// The paired rounds' procedure, on fake servers whose CPU per request falls while their JIT
// warms up: each round on servers started for it, warmed up together, measured, then stopped.
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../bench/lib/load.ts';
import { type PairedSet, type PairedSettings, pairedRounds } from '../../bench/lib/paired.ts';
import { warmUpTogether } from '../../bench/lib/warmup.ts';

const REQUESTS_PER_SECOND = 1000;

/** A server whose n-th load costs `curve[n]` us a request (the last one from then on). */
function fakeServer(name: string, curve: number[]) {
  let loads = 0;
  let cpu = 0;
  return {
    name,
    cpuMicros: () => cpu,
    serve(seconds: number): number {
      const cost = curve[Math.min(loads++, curve.length - 1)] as number;
      cpu += cost * REQUESTS_PER_SECOND * seconds;
      return REQUESTS_PER_SECOND * seconds;
    },
  };
}

/**
 * Fresh servers per startSet(): book-service settles at 36 us a request, Fastify at 40, both
 * from colder starts. `events` records starts, stops and loads in order.
 */
function fakeRun(failOnLoad?: number) {
  const events: string[] = [];
  const live = new Map<string, ReturnType<typeof fakeServer>>();
  let sets = 0;
  let loads = 0;
  const startSet = async (): Promise<PairedSet> => {
    const n = ++sets;
    const servers = [
      fakeServer(`service${n}`, [120, 70, 36]),
      fakeServer(`fastify${n}`, [80, 50, 40]),
    ];
    for (const s of servers) live.set(s.name, s);
    events.push(`start ${n}`);
    return {
      targets: servers.map((s) => ({
        url: (route) => `${s.name}/${route}`,
        cpuMicros: s.cpuMicros,
      })),
      stop: async () => {
        for (const s of servers) live.delete(s.name);
        events.push(`stop ${n}`);
      },
    };
  };
  const load = async (url: string, seconds: number): Promise<LoadResult> => {
    if (++loads === failOnLoad) throw new Error('wrk: connection refused');
    const server = live.get(url.split('/')[0] as string);
    if (!server) throw new Error(`${url}: not running`);
    const requests = server.serve(seconds);
    events.push(`load ${url} ${seconds}s`);
    return { requests, requestsPerSecond: requests / seconds, p50Ms: 1, p99Ms: 2, errors: 0 };
  };
  return { events, startSet, load };
}

const settings = (run: ReturnType<typeof fakeRun>, warmupSeconds: number): PairedSettings => ({
  rounds: 2,
  durationSeconds: 2,
  warmupSeconds,
  load: run.load,
});

describe('paired rounds', () => {
  it('measures each round on servers started for it, warmed up together, stopped after', async () => {
    const run = fakeRun();
    const samples = await pairedRounds(run.startSet, ['item'], settings(run, 8), () => {});
    // Book-service gains on its third load and not on the two after: settled after five.
    const warmup = (n: number) =>
      [1, 2, 3, 4, 5].flatMap(() => [`load service${n}/item 1s`, `load fastify${n}/item 1s`]);
    expect(run.events).toEqual([
      'start 1',
      ...warmup(1),
      'load service1/item 2s',
      'load fastify1/item 2s',
      'stop 1',
      'start 2',
      ...warmup(2),
      'load service2/item 2s',
      'load fastify2/item 2s',
      'stop 2',
    ]);
    // Settled servers compared (36 over 40), in every round: not the cold ones (120 over 80).
    expect(samples.map((s) => [s.round, s.ratios[0], s.warmup])).toEqual([
      [1, 0.9, { seconds: 5, settled: true }],
      [2, 0.9, { seconds: 5, settled: true }],
    ]);
  });

  it('without warm-up, measures the servers cold', async () => {
    const run = fakeRun();
    const [first] = await pairedRounds(run.startSet, ['item'], settings(run, 0), () => {});
    expect(first?.ratios[0]).toBe(1.5);
    expect(first?.warmup).toEqual({ seconds: 0, settled: false });
  });

  it("stops a round's servers when its load fails, and fails the run", async () => {
    const run = fakeRun(3);
    await expect(pairedRounds(run.startSet, ['item'], settings(run, 8), () => {})).rejects.toThrow(
      'wrk: connection refused',
    );
    expect(run.events).toEqual([
      'start 1',
      'load service1/item 1s',
      'load fastify1/item 1s',
      'load fastify1/item 1s',
      'stop 1',
    ]);
  });
});

describe('warming servers up together', () => {
  it('goes on until every server has settled, or its seconds run out', async () => {
    const steps = [
      [100, 100],
      [60, 90],
      [59, 50],
      [60, 40],
      [61, 39],
      [60, 41],
    ];
    let calls = 0;
    const step = async () => steps[calls++] ?? [60, 40];
    // The first has settled at step 4 (59 and 60 gain nothing on 60); the second at step 6.
    expect(await warmUpTogether(step, 8)).toEqual({ seconds: 6, settled: true });
    calls = 0;
    expect(await warmUpTogether(step, 5)).toEqual({ seconds: 5, settled: false });
    expect(calls).toBe(5);
  });
});
