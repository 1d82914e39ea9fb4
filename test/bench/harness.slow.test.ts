// A few-seconds smoke of `npm run bench`, so the harness cannot rot between full runs: it must
// build, start rows, load them on every route, and write a well-formed record. The figures are
// not judged here (CI machines are too noisy); the verdicts are, in harness.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchRecord } from '../../bench/lib/result.ts';
import { ROUTE_IDS } from '../../bench/lib/routes.ts';
import { loadWorkspace, repoRoot } from '../../scripts/workspace/manifests.ts';

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
  it('runs three rows for a round on each route and writes a well-formed record', () => {
    const { record, stdout } = runQuick(['--rows', 'raw,service,floor']);
    expect(record.schema).toBe(3);
    expect(record.rows.map((r) => r.id)).toEqual(['raw', 'service', 'floor']);
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

  it('relays book-service through the Node proxy floor byte for byte, its proxy counted apart', () => {
    const { record } = runQuick(['--rows', 'service,node-proxy', '--routes', 'list']);
    const proxyRow = record.rows.find((r) => r.id === 'node-proxy');
    expect(proxyRow?.bodies).toEqual([{ route: 'list', bytes: expect.any(Number), same: true }]);
    // As many replicas as the local stack runs of book-service: the manifest's minimum count.
    const replicas = loadWorkspace().services.find((s) => s.name === 'book-service')?.minCount;
    expect(proxyRow?.processes.map((p) => p.role)).toEqual([
      'proxy',
      ...Array.from({ length: replicas ?? 0 }, () => 'replica'),
    ]);
    const [round] = proxyRow?.rounds ?? [];
    expect(round?.errors).toBe(0);
    expect(round?.requestsPerSecond).toBeGreaterThan(0);
    expect(round?.proxyCpuMicrosPerRequest).toBeGreaterThan(0);
    expect(round?.cpuMicrosPerRequest).toBeGreaterThan(round?.proxyCpuMicrosPerRequest ?? 0);
  }, 60_000);

  it('loads the floor app between book-service and Fastify in the paired rounds', () => {
    const { record, stdout } = runQuick(['--rows', 'service,floor,fastify', '--routes', 'item']);
    expect(record.paired?.rows).toEqual(['service', 'floor', 'fastify']);
    const [item] = record.paired?.summary ?? [];
    expect(item?.cpuMicrosPerRequest).toHaveLength(3);
    expect(item?.ratios[2]).toBe(1);
    expect(stdout).toMatch(/service \/ fastify .* floor \/ fastify/);
  }, 60_000);

  it('refuses a flag it cannot run with before it starts anything: what, why and --help', () => {
    const result = spawnSync(process.execPath, ['bench/run.ts', '--rows', 'raw,nope'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'bench: invalid command line: --rows: unknown value "nope" (known: raw, service, floor, fastify, express, hono, nginx, node-proxy, local)\n' +
        'next: npm run bench -- --help\n',
    );
  }, 60_000);

  it('falls back to autocannon, the load generator every machine has', () => {
    const { record } = runQuick(['--rows', 'raw', '--loadgen', 'autocannon']);
    expect(record.settings.loadGenerator).toBe('autocannon');
    expect(record.rows[0]?.rounds[0]?.requestsPerSecond).toBeGreaterThan(0);
  }, 60_000);
});
