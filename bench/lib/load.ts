// Load generation: wrk when installed (C, one thread keeps up with a Node server on another
// core), autocannon from npm otherwise (works everywhere, but saturates near 30k req/s on one
// core, so ratios against the raw row are compressed; the report says which one ran).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import autocannon from 'autocannon';
import { runProcess } from '../../scripts/cli/process.ts';
import { hasCommand } from './proc.ts';

export type LoadGenerator = 'wrk' | 'autocannon';

export interface LoadSpec {
  url: string;
  connections: number;
  durationSeconds: number;
  /** taskset CPU list for wrk; autocannon runs in this process, pinned as a whole. */
  cpus: string | undefined;
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers plus socket errors and timeouts: a row with errors is not comparable. */
  errors: number;
}

export function detectLoadGenerator(wanted: LoadGenerator | 'auto'): LoadGenerator {
  if (wanted !== 'auto') return wanted;
  return hasCommand('wrk', ['--version']) ? 'wrk' : 'autocannon';
}

/** "wrk 4.1.0" or "autocannon 9.0.0", for the record. */
export function generatorVersion(generator: LoadGenerator): string {
  if (generator === 'autocannon') {
    const require = createRequire(import.meta.url);
    return `autocannon ${(require('autocannon/package.json') as { version: string }).version}`;
  }
  // wrk prints its version above the usage text and exits 1.
  const { stdout } = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return /^wrk \S+/.exec(stdout)?.[0] ?? 'wrk';
}

export function runLoad(generator: LoadGenerator, spec: LoadSpec): Promise<LoadResult> {
  return generator === 'wrk' ? runWrk(spec) : runAutocannon(spec);
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const args = [
    '--threads',
    '1',
    '--connections',
    String(spec.connections),
    '--duration',
    `${spec.durationSeconds}s`,
    '--timeout',
    '5s',
    '--latency',
    spec.url,
  ];
  const [file, argv] =
    spec.cpus === undefined
      ? ['wrk', args]
      : ['taskset', ['--cpu-list', spec.cpus, 'wrk', ...args]];
  const timeoutMs = spec.durationSeconds * 1000 + WRK_SLACK_MS;
  return parseWrkOutput(await outputOf(file, argv, timeoutMs));
}

/** wrk stops itself after its duration; a wrk still running this long after it has hung. */
const WRK_SLACK_MS = 30_000;

/**
 * A command's stdout and stderr once it has exited 0, through the scripts' one runner (zx,
 * scripts/cli/process.ts), which reads both to their end before it returns; past `timeoutMs` the
 * command is stopped and this fails, so no window of load can hang a run.
 */
export async function outputOf(file: string, argv: string[], timeoutMs: number): Promise<string> {
  const { code, stdout, stderr, timedOut } = await runProcess(file, argv, { timeoutMs });
  const text = `${stdout}${stderr}`;
  if (timedOut) throw new Error(`${file} did not finish within ${timeoutMs / 1000} s: ${text}`);
  if (code !== 0) throw new Error(`${file} exited with ${code}: ${text}`);
  return text;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latencyMs(text: string, percentile: string): number {
  const match = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
  if (!match?.[1] || !match[2])
    throw new Error(`wrk output has no ${percentile}% latency:\n${text}`);
  return Number(match[1]) * (UNIT_MS[match[2]] ?? Number.NaN);
}

/** Parses `wrk --latency` output (wrk 4.x). Exported for the harness's own tests. */
export function parseWrkOutput(text: string): LoadResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text)?.[1];
  const total = /^\s*(\d+) requests in /m.exec(text)?.[1];
  if (rps === undefined || total === undefined) throw new Error(`unexpected wrk output:\n${text}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requests: Number(total),
    requestsPerSecond: Number(rps),
    p50Ms: latencyMs(text, '50'),
    p99Ms: latencyMs(text, '99'),
    errors: non2xx + socketErrors,
  };
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
  });
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
  };
}
