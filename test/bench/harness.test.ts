// A few-seconds smoke of `npm run bench`, so the harness cannot rot between full runs: it must
// build, start rows, load them on every route, and write a well-formed record. The figures are
// not judged here (CI machines are too noisy); the verdicts are: each goal's MET or MISSED must
// follow from its measured figure, on synthetic records where the answer is known.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWrkOutput } from '../../bench/lib/load.ts';
import { parseOptions } from '../../bench/lib/options.ts';
import { type PairedSample, summarisePaired } from '../../bench/lib/paired.ts';
import {
  type BenchRecord,
  evaluateGoals,
  GUARD_MAX_RATIO,
  guardVerdict,
  type RowRecord,
  summariseRows,
} from '../../bench/lib/result.ts';
import { ROUTE_IDS, type RouteId } from '../../bench/lib/routes.ts';
import type { RowId } from '../../bench/lib/targets.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

const out = mkdtempSync(path.join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runQuick(extra: string[]): { record: BenchRecord; stdout: string } {
  const dir = mkdtempSync(path.join(out, 'run-'));
  const result = spawnSync(
    process.execPath,
    ['bench/run.ts', '--quick', '--out-dir', dir, ...extra],
    { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
  );
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  const record = JSON.parse(readFileSync(path.join(dir, files[0] as string), 'utf8'));
  return { record, stdout: result.stdout };
}

describe('bench harness smoke', () => {
  it('runs two rows for a round on each route and writes a well-formed record', () => {
    const { record, stdout } = runQuick(['--rows', 'raw,service']);
    expect(record.schema).toBe(3);
    expect(record.rows.map((r) => r.id)).toEqual(['raw', 'service']);
    for (const row of record.rows) {
      expect(row.bodies.map((b) => b.route)).toEqual([...ROUTE_IDS]);
      for (const body of row.bodies) {
        expect(body.same, `${row.id} ${body.route} answers the same bytes as raw`).toBe(true);
        expect(body.bytes).toBeGreaterThan(100);
      }
      expect(row.rounds.map((r) => r.route)).toEqual([...ROUTE_IDS]);
      for (const round of row.rounds) {
        expect(round.requestsPerSecond).toBeGreaterThan(0);
        expect(round.errors).toBe(0);
        expect(round.p99Ms).toBeGreaterThanOrEqual(round.p50Ms);
        expect(round.cpuMicrosPerRequest).toBeGreaterThan(0);
      }
      expect(row.startupMs[0]).toBeGreaterThan(0);
      expect(row.idleRssBytes[0]).toBeGreaterThan(1024 * 1024);
      expect(row.processes[0]?.peakRssBytes).toBeGreaterThan(1024 * 1024);
    }
    expect(record.summary.filter((s) => s.id === 'raw').map((s) => s.ratioToRaw)).toEqual([
      1, 1, 1,
    ]);
    const goals = new Map(record.goals.map((g) => [g.id, g]));
    expect(goals.get('service-vs-fastify-list')?.status).toBe('SKIPPED');
    expect(goals.get('local-throughput-vs-nginx')?.status).toBe('SKIPPED');
    // The printed verdict is the one its printed figure calls for.
    const startup = goals.get('service-startup-vs-raw');
    const measured = startup?.measured ?? Number.NaN;
    expect(measured).toBeGreaterThan(0);
    const line = stdout.split('\n').find((l) => l.startsWith('book-service start to first 200'));
    expect(line).toMatch(
      new RegExp(`${measured.toFixed(2)}x\\s+${measured <= 1.2 ? 'MET' : 'MISSED'}$`),
    );
  }, 90_000);

  it('falls back to autocannon, the load generator every machine has', () => {
    const { record } = runQuick(['--rows', 'raw', '--loadgen', 'autocannon']);
    expect(record.settings.loadGenerator).toBe('autocannon');
    expect(record.rows[0]?.rounds[0]?.requestsPerSecond).toBeGreaterThan(0);
  }, 60_000);

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
  };
}

/** Paired rounds in which book-service cost `ratio` times Fastify's CPU on every route. */
function paired(ratio: number, errors = 0): BenchRecord['paired'] {
  const samples: PairedSample[] = ROUTE_IDS.flatMap((route) =>
    [1, 2, 3].map((round) => ({
      round,
      route,
      cpuMicrosPerRequest: [40 * ratio, 40] as [number, number],
      ratio,
      requests: [1000, 1000] as [number, number],
      errors: [errors, 0] as [number, number],
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
      pairedRounds: 5,
      startupSamples: 0,
      guard: true,
    });
    expect(() => parseOptions(['--guard', '--rows', 'raw,service'])).toThrow(/--guard runs/);
  });
});
