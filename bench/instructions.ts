// `npx node bench/instructions.ts`: instructions per request, book-service against the floor app,
// counted by valgrind's callgrind in-process (bench/lib/in-process.ts): the app and the
// adapter, without sockets, the HTTP parser or the kernel. On an idle machine the counts of one
// row move by 1-3% from run to run where CPU time moves by 5%, so a change of a few percent
// in what the app does shows here when the HTTP rows cannot resolve it. Run it on an idle
// machine: work driven by the clock (the log's 100 ms flush, a new timestamp each millisecond,
// Node's Date header each second) is counted per request, and a run slowed by other load counts
// more of it (5-8% more, measured). Slow (Node under valgrind, about 1.5 min a count): two
// counts at a time, one per CPU. See bench/README.md.
//
// `--servers`: whole server processes instead, each row's bundle as the bench runs it, loaded
// over real sockets (bench/lib/server-count.ts), book-service beside Fastify and the floor: the
// app and everything Node does per request in user space.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { callgrindArgs, dumpedTotal } from './lib/callgrind.ts';
import type { InProcessRow } from './lib/in-process.ts';
import { listOf, positive } from './lib/options.ts';
import { hasCommand } from './lib/proc.ts';
import { ROUTE_IDS, ROUTE_SUFFIX, type RouteId, routeLabel } from './lib/routes.ts';
import { countServer } from './lib/server-count.ts';
import { median } from './lib/stats.ts';
import { fmt, table } from './lib/table.ts';
import { type Artifacts, buildArtifacts, nodeRowLaunch } from './lib/targets.ts';

const IN_PROCESS: readonly InProcessRow[] = ['service', 'floor'];
const SERVERS = ['service', 'fastify', 'floor', 'raw'] as const;
const CHILD = path.join(import.meta.dirname, 'lib', 'instructions-child.ts');

function options() {
  const { values } = parseArgs({
    options: {
      servers: { type: 'boolean', default: false },
      rows: { type: 'string' },
      routes: { type: 'string' },
      requests: { type: 'string' },
      warmup: { type: 'string' },
      repeat: { type: 'string' },
      connections: { type: 'string' },
    },
  });
  for (const flag of ['rows', 'connections'] as const) {
    if (!values.servers && values[flag] !== undefined) {
      throw new Error(`--${flag} is about whole servers: use it with --servers`);
    }
  }
  return {
    servers: values.servers,
    rows: (values.servers
      ? listOf('rows', values.rows ?? 'service,fastify,floor', SERVERS)
      : IN_PROCESS) as readonly string[],
    routes: listOf('routes', values.routes, ROUTE_IDS),
    requests: positive('requests', values.requests, 20_000),
    warmup: positive('warmup', values.warmup, 30_000),
    repeat: positive('repeat', values.repeat, 2),
    connections: positive('connections', values.connections, 8),
  };
}

type Options = ReturnType<typeof options>;
type Job = { route: RouteId; row: string };

/** One in-process count: instructions per request of `row` on `route`, from callgrind's dump. */
function countInProcess({ route, row }: Job, { warmup, requests }: Options): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'instructions-'));
  const target = `/api/books${ROUTE_SUFFIX[route]}`;
  const args = callgrindArgs(dir, [CHILD, row, target, String(warmup), String(requests)]);
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => {
      const total = dumpedTotal(dir);
      rmSync(dir, { recursive: true, force: true });
      const answered = /{"status":200}/.test(stderr);
      if (code !== 0 || !answered || !Number.isFinite(total)) {
        reject(
          new Error(
            `${row} on ${route}: no count (exit ${code}, answered 200: ${answered}): ${stderr.slice(-400)}`,
          ),
        );
      } else resolve(total / requests);
    });
  });
}

/** One whole-server count, the row's bundle run as the bench runs it. */
function countWhole({ route, row }: Job, o: Options, artifacts: Artifacts): Promise<number> {
  const launch = (port: number) => nodeRowLaunch(row as (typeof SERVERS)[number], artifacts, port);
  const target = `${artifacts.service.pathPrefix}${ROUTE_SUFFIX[route]}`;
  return countServer({ launch, target, ...o });
}

/** Every job counted, two at a time (the rows of one route side by side). */
async function countAll(jobs: Job[], count: (job: Job) => Promise<number>) {
  const counted: (Job & { perRequest: number })[] = [];
  for (let i = 0; i < jobs.length; i += 2) {
    const pair = jobs.slice(i, i + 2);
    process.stderr.write(`counting ${pair.map((j) => `${j.row} ${j.route}`).join(' and ')}\n`);
    // Settled both before giving up on either: a failed count must not orphan its partner's server.
    const results = await Promise.allSettled(pair.map(count));
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    counted.push(
      ...pair.map((job, k) => ({
        ...job,
        perRequest: (results[k] as PromiseFulfilledResult<number>).value,
      })),
    );
  }
  return counted;
}

/** Each row's counts per route, and each row's median against the baseline's (Fastify, in-process the floor). */
function report(counted: (Job & { perRequest: number })[], o: Options): string {
  const of = (route: RouteId, row: string) =>
    counted.filter((c) => c.route === route && c.row === row).map((c) => c.perRequest);
  const base = o.servers ? 'fastify' : 'floor';
  const others = o.rows.filter((row) => row !== base);
  const rows = o.routes.map((route) => [
    routeLabel(route),
    ...o.rows.map((row) =>
      of(route, row)
        .map((n) => fmt(n))
        .join(' / '),
    ),
    ...others.map((row) => fmt(median(of(route, row)) / median(of(route, base)), 3)),
  ]);
  const heads = [
    'route',
    ...o.rows.map((row) => `${row} instructions/req`),
    ...others.map((row) => `${row} x ${base} (medians)`),
  ];
  return table(heads, rows);
}

async function main() {
  if (!hasCommand('valgrind') || !hasCommand('callgrind_control', ['-h'])) {
    throw new Error(
      'valgrind is not installed: it counts the instructions. Install it (apt-get install valgrind) and run again.',
    );
  }
  const o = options();
  if (o.servers && !o.rows.includes('fastify'))
    throw new Error('--rows must include fastify, the baseline');
  const jobs = o.routes.flatMap((route) =>
    Array.from({ length: o.repeat }, () => o.rows.map((row) => ({ route, row }))).flat(),
  );
  if (!o.servers) {
    process.stdout.write(`${report(await countAll(jobs, (job) => countInProcess(job, o)), o)}\n`);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'instructions-build-'));
  try {
    const artifacts = await buildArtifacts(dir);
    const counted = await countAll(jobs, (job) => countWhole(job, o, artifacts));
    process.stdout.write(`${report(counted, o)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/instructions: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
