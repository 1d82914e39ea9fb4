// A few-seconds smoke of `npm run bench`, so the harness cannot rot between full runs: it must
// build, start rows, load them, and write a well-formed record. The figures are not judged
// here (CI machines are too noisy); only that every one of them was measured.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWrkOutput } from '../../bench/lib/load.ts';
import type { BenchRecord } from '../../bench/lib/result.ts';
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
  it('runs two rows for a round and writes a well-formed record', () => {
    const { record, stdout } = runQuick(['--rows', 'raw,service']);
    expect(record.schema).toBe(1);
    expect(record.rows.map((r) => r.id)).toEqual(['raw', 'service']);
    for (const row of record.rows) {
      expect(row.sameBody, `${row.id} answers the same bytes as raw`).toBe(true);
      expect(row.bodyBytes).toBeGreaterThan(100);
      expect(row.rounds).toHaveLength(1);
      const [round] = row.rounds;
      expect(round?.requestsPerSecond).toBeGreaterThan(0);
      expect(round?.errors).toBe(0);
      expect(round?.p99Ms).toBeGreaterThanOrEqual(round?.p50Ms ?? Number.NaN);
      expect(round?.cpuMicrosPerRequest).toBeGreaterThan(0);
      expect(row.startupMs[0]).toBeGreaterThan(0);
      expect(row.idleRssBytes[0]).toBeGreaterThan(1024 * 1024);
      expect(row.processes[0]?.peakRssBytes).toBeGreaterThan(1024 * 1024);
    }
    const summary = record.summary.find((s) => s.id === 'raw');
    expect(summary?.ratioToRaw).toBe(1);
    const goals = new Map(record.goals.map((g) => [g.id, g]));
    expect(goals.get('service-throughput-vs-raw')?.status).toMatch(/^(MET|MISSED)$/);
    expect(goals.get('local-throughput-vs-nginx')?.status).toBe('SKIPPED');
    expect(stdout).toContain('book-service req/s >= 0.95x raw node:http');
  }, 60_000);

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
