// The bench's verdicts: each goal's MET or MISSED must follow from its measured figure, on
// synthetic records where the answer is known, and wrk's output is read as wrk prints it.
// harness.slow.test.ts runs the harness itself for a few seconds.
import { describe, expect, it, vi } from 'vitest';
import { outputOf, parseWrkOutput } from '../../bench/lib/load.ts';
import { parseOptions } from '../../bench/lib/options.ts';
import { type PairedSample, summarisePaired } from '../../bench/lib/paired.ts';
import { serverEnv, spawnPinned, waitForLine } from '../../bench/lib/proc.ts';
import {
  type BenchRecord,
  evaluateGoals,
  GUARD_MAX_RATIO,
  guardVerdict,
  type RowRecord,
  summariseRows,
} from '../../bench/lib/result.ts';
import { ROUTE_IDS, type RouteId } from '../../bench/lib/routes.ts';
import { estimateSeconds } from '../../bench/lib/runner.ts';
import type { RowId } from '../../bench/lib/targets.ts';
import { WARMUP_STEP_SECONDS, warmedUp, warmUp } from '../../bench/lib/warmup.ts';

/** A row whose every round on every route answered `rps` requests per second. */
function syntheticRow(
  id: RowId,
  rps: Partial<Record<RouteId, number>>,
  startupMs = 100,
  cpuMicrosPerRequest = 30,
): RowRecord {
  return {
    id,
    label: id,
    bodies: [],
    rounds: Object.entries(rps).flatMap(([route, value]) =>
      [1, 2, 3].map((round) => ({
        round,
        route: route as RouteId,
        requests: value * 2,
        requestsPerSecond: value,
        p50Ms: 1,
        p99Ms: 2,
        errors: 0,
        cpuMicrosPerRequest,
        proxyCpuMicrosPerRequest: null,
      })),
    ),
    startupMs: [startupMs],
    idleRssBytes: [60 * 1024 * 1024],
    processes: [],
    warmups: [],
  };
}

/** Paired rounds in which book-service cost `ratio` times Fastify's CPU on every route. */
function paired(ratio: number, errors = 0): BenchRecord['paired'] {
  const samples: PairedSample[] = ROUTE_IDS.flatMap((route) =>
    [1, 2, 3].map((round) => ({
      round,
      route,
      cpuMicrosPerRequest: [40 * ratio, 40],
      ratios: [ratio, 1],
      requests: [1000, 1000],
      errors: [errors, 0],
      warmup: { seconds: 4, settled: true },
    })),
  );
  return { rows: ['service', 'fastify'], samples, summary: summarisePaired(samples) };
}

function verdicts(
  rows: RowRecord[],
  pairs: BenchRecord['paired'] = null,
): Record<string, [string, number | null]> {
  const goals = evaluateGoals(rows, summariseRows(rows), pairs);
  return Object.fromEntries(goals.map((g) => [g.id, [g.status, g.measured]]));
}

describe('wrk output', () => {
  it('reads wrk --latency output', () => {
    const parsed = parseWrkOutput(`Running 3s test @ http://127.0.0.1:1/api/books
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.01ms  40.00ms   90.00%
    Req/Sec    24.00k     1.00k   26.00k    70.00%
  Latency Distribution
     50%  845.00us
     75%    2.30ms
     90%    3.00ms
     99%    1.20s
  72000 requests in 3.00s, 55.00MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:  24000.50
Transfer/sec:     18.33MB
`);
    expect(parsed).toEqual({
      requests: 72000,
      requestsPerSecond: 24000.5,
      p50Ms: 0.845,
      p99Ms: 1200,
      errors: 6,
    });
  });
});

describe('bench goals', () => {
  const every = (value: number) => ({ list: value, item: value, page: value });

  it('is MET at the bound and MISSED below it, route by route, with the measured ratio', () => {
    const result = verdicts([
      syntheticRow('raw', every(40_000)),
      syntheticRow('service', { list: 30_000, item: 24_000, page: 29_000 }, 120),
      syntheticRow('fastify', { list: 30_000, item: 25_000, page: 20_000 }),
      syntheticRow('express', { list: 15_000, item: 12_001, page: 10_000 }),
    ]);
    expect(result['service-vs-fastify-list']).toEqual(['MET', 1]);
    expect(result['service-vs-fastify-item']).toEqual(['MISSED', 0.96]);
    expect(result['service-vs-fastify-page']).toEqual(['MET', 1.45]);
    expect(result['service-vs-express-list']).toEqual(['MET', 2]);
    expect(result['service-vs-express-item']?.[0]).toBe('MISSED');
    expect(result['service-vs-express-page']).toEqual(['MET', 2.9]);
    expect(result['service-startup-vs-raw']).toEqual(['MET', 1.2]);
    expect(result['service-idle-rss-vs-raw']).toEqual(['MET', 1]);
    expect(result['local-throughput-vs-nginx']?.[0]).toBe('SKIPPED');
  });

  it('misses the start-up goal above 1.2x raw, and skips what a missing row cannot show', () => {
    const result = verdicts([
      syntheticRow('raw', every(40_000)),
      syntheticRow('service', every(30_000), 121),
    ]);
    expect(result['service-startup-vs-raw']).toEqual(['MISSED', 1.21]);
    expect(result['service-vs-fastify-list']).toEqual(['SKIPPED', null]);
  });
});

describe('CPU per request against Fastify', () => {
  const every = (value: number) => ({ list: value, item: value, page: value });

  it('is MET at 1x and MISSED above, from the interleaved rounds when nothing was paired', () => {
    const result = verdicts([
      syntheticRow('service', every(10_000), 100, 30),
      syntheticRow('fastify', every(10_000), 100, 30),
    ]);
    expect(result['service-cpu-vs-fastify-list']).toEqual(['MET', 1]);
    const slower = verdicts([
      syntheticRow('service', every(10_000), 100, 30.3),
      syntheticRow('fastify', every(10_000), 100, 30),
    ]);
    expect(slower['service-cpu-vs-fastify-page']).toEqual(['MISSED', 1.01]);
  });

  it('takes the paired rounds when the run had them', () => {
    const rows = [
      syntheticRow('service', every(10_000), 100, 60),
      syntheticRow('fastify', every(10_000), 100, 30),
    ];
    expect(verdicts(rows, paired(0.97))['service-cpu-vs-fastify-item']).toEqual(['MET', 0.97]);
    expect(verdicts(rows, paired(1.02))['service-cpu-vs-fastify-item']).toEqual(['MISSED', 1.02]);
  });
});

describe('paired rounds with the floor app between book-service and Fastify', () => {
  /** A round where the three cost `service`, `floor` and 40 us per request. */
  const round = (n: number, service: number, floor: number): PairedSample => ({
    round: n,
    route: 'item',
    cpuMicrosPerRequest: [service, floor, 40],
    ratios: [service / 40, floor / 40, 1],
    requests: [1000, 1000, 1000],
    errors: [0, n === 2 ? 1 : 0, 0],
    warmup: { seconds: 3, settled: true },
  });

  it("takes each row's median CPU and each ratio to Fastify's median over the rounds", () => {
    const [summary] = summarisePaired([round(1, 40, 44), round(2, 44, 48), round(3, 36, 40)]);
    expect(summary).toEqual({
      route: 'item',
      cpuMicrosPerRequest: [40, 44, 40],
      ratios: [1, 1.1, 1],
      ratio: 1,
      ratioMin: 0.9,
      ratioMax: 1.1,
      errors: 1,
    });
  });
});

describe('--guard', () => {
  it(`passes at ${GUARD_MAX_RATIO}x Fastify's CPU per request and fails above, naming each route`, () => {
    expect(guardVerdict(paired(GUARD_MAX_RATIO))).toEqual({
      maxRatio: GUARD_MAX_RATIO,
      status: 'PASS',
      reasons: [],
    });
    const failed = guardVerdict(paired(1.11));
    expect(failed.status).toBe('FAIL');
    expect(failed.reasons).toEqual([
      "GET /api/books: 1.11x Fastify's CPU per request",
      "GET /api/books/3: 1.11x Fastify's CPU per request",
      "GET /api/books?limit=4&offset=1: 1.11x Fastify's CPU per request",
    ]);
  });

  it('fails when it cannot tell: errors in a round, or no paired rounds', () => {
    expect(guardVerdict(paired(1, 2)).reasons[0]).toBe('GET /api/books: 6 errors, not comparable');
    expect(guardVerdict(null)).toMatchObject({ status: 'FAIL', reasons: ['no paired rounds ran'] });
  });

  it('runs book-service and Fastify only, paired, with no start-up samples', () => {
    const options = parseOptions(['--guard']);
    expect(options).toMatchObject({
      rows: ['service', 'fastify'],
      rounds: 0,
      pairedRounds: 3,
      startupSamples: 0,
      guard: true,
    });
    expect(() => parseOptions(['--guard', '--rows', 'raw,service'])).toThrow(/--guard runs/);
  });
});

describe('warm-up until the CPU per request stops falling', () => {
  it('goes on while a step still gains more than 5% on the best before it', () => {
    // book-service's first eight 1 s loads, measured (warmup.ts).
    const measured = [203, 135, 128, 95, 87, 96, 74, 75];
    const settledAt = measured.findIndex((_, i) => warmedUp(measured.slice(0, i + 1)));
    expect(settledAt).toBe(-1);
    expect(warmedUp([...measured, 76])).toBe(true);
  });

  it('stops after two steps without a gain, a noisy step above the best counting as none', () => {
    expect(warmedUp([100, 100])).toBe(false);
    expect(warmedUp([100, 96, 100])).toBe(true);
    expect(warmedUp([100, 120, 110])).toBe(true);
    // Each of the last two just inside and just outside the 5%.
    expect(warmedUp([100, 95, 95])).toBe(true);
    expect(warmedUp([100, 94.9, 95])).toBe(false);
    expect(warmedUp([100, 95, 90.2])).toBe(false);
  });

  it('loads step by step until settled, or until its seconds run out', async () => {
    const stepper = (samples: number[]) => {
      let calls = 0;
      return { step: async () => samples[calls++] ?? 50, calls: () => calls };
    };
    // 80 still gains on 120; 79 and 81 do not gain on 80.
    const settling = stepper([200, 120, 80, 79, 81]);
    expect(await warmUp(settling.step, 10)).toEqual({
      seconds: 5 * WARMUP_STEP_SECONDS,
      settled: true,
    });
    const falling = stepper([200, 150, 110, 80, 60]);
    expect(await warmUp(falling.step, 3)).toEqual({ seconds: 3, settled: false });
    expect(falling.calls()).toBe(3);
    const none = stepper([]);
    expect(await warmUp(none.step, 0)).toEqual({ seconds: 0, settled: false });
    expect(none.calls()).toBe(0);
  });
});

describe("a load generator's output", () => {
  it('fails with what the process printed when it exits non-zero', async () => {
    await expect(outputOf('sh', ['-c', 'echo refused >&2; exit 3'], 10_000)).rejects.toThrow(
      'sh exited with 3: refused',
    );
  });

  it('stops a load generator that outlives its bound, and fails with what it printed', async () => {
    const hung = outputOf('sh', ['-c', 'echo started; exec sleep 30'], 200);
    await expect(hung).rejects.toThrow('sh did not finish within 0.2 s: started');
  });
});

describe("the run's estimate", () => {
  it("counts each paired round's fresh servers and their warm-up, and fits the default bound", () => {
    const options = parseOptions([]);
    const full = estimateSeconds(options, options.rows);
    const unpaired = estimateSeconds({ ...options, pairedRounds: 0 }, options.rows);
    // Five rounds, each: its servers started, then on each of three routes up to 8 s of
    // warm-up and a 2 s window.
    expect(full - unpaired).toBe(5 * (1 + 3 * (8 + 2)));
    // Else `npm run bench` with the defaults would refuse to start.
    expect(full).toBeLessThanOrEqual(options.maxSeconds);
  });
});

describe("the servers' environment", () => {
  it("is this process's without Node's own variables, which a container does not have", async () => {
    vi.stubEnv('NODE_EXTRA_CA_CERTS', '/etc/ssl/certs/ca-certificates.crt');
    vi.stubEnv('NODE_OPTIONS', '--max-old-space-size=64');
    vi.stubEnv('BENCH_TEST_KEPT', 'kept');
    try {
      const env = serverEnv({ NODE_ENV: 'production', PORT: '1' });
      expect(env.NODE_EXTRA_CA_CERTS).toBeUndefined();
      expect(env.NODE_OPTIONS).toBeUndefined();
      expect([env.BENCH_TEST_KEPT, env.NODE_ENV, env.PORT]).toEqual(['kept', 'production', '1']);
      // And so a server started by the bench sees it.
      const show =
        'console.log(JSON.stringify([process.env.NODE_EXTRA_CA_CERTS, process.env.NODE_OPTIONS, process.env.BENCH_TEST_KEPT]))';
      const spawned = spawnPinned(process.execPath, ['-e', show], {
        cpus: undefined,
        captureStdout: true,
      });
      expect(JSON.parse(await waitForLine(spawned, 10_000))).toEqual([null, null, 'kept']);
      await spawned.stop();
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
