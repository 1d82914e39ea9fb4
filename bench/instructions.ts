// `node bench/instructions.ts`: instructions per request, book-service against the floor app,
// counted by valgrind's callgrind in-process (bench/lib/in-process.ts): the app and the
// adapter, without sockets, the HTTP parser or the kernel. On an idle machine the counts of one
// row move by 1-3% from run to run where CPU time moves by 5%, so a change of a few percent
// in what the app does shows here when the HTTP rows cannot resolve it. Run it on an idle
// machine: work driven by the clock (the log's 100 ms flush, a new timestamp each millisecond,
// Node's Date header each second) is counted per request, and a run slowed by other load counts
// more of it (5-8% more, measured). Slow (Node under valgrind, about 1.5 min a count): two
// counts at a time, one per CPU. See bench/README.md.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { InProcessRow } from './lib/in-process.ts';
import { listOf, positive } from './lib/options.ts';
import { hasCommand } from './lib/proc.ts';
import { ROUTE_IDS, ROUTE_SUFFIX, type RouteId, routeLabel } from './lib/routes.ts';
import { median } from './lib/stats.ts';
import { fmt, table } from './lib/table.ts';

const ROWS: readonly InProcessRow[] = ['service', 'floor'];
const CHILD = path.join(import.meta.dirname, 'lib', 'instructions-child.ts');

function options() {
  const { values } = parseArgs({
    options: {
      routes: { type: 'string' },
      requests: { type: 'string' },
      warmup: { type: 'string' },
      repeat: { type: 'string' },
    },
  });
  return {
    routes: listOf('routes', values.routes, ROUTE_IDS),
    requests: positive('requests', values.requests, 20_000),
    warmup: positive('warmup', values.warmup, 30_000),
    repeat: positive('repeat', values.repeat, 2),
  };
}

type Job = { route: RouteId; row: InProcessRow };

/** One count: instructions per request of `row` on `route`, from callgrind's dump. */
function count({ route, row }: Job, warmup: number, requests: number): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'instructions-'));
  const args = [
    '--tool=callgrind',
    '--collect-atstart=yes',
    `--callgrind-out-file=${path.join(dir, 'out')}`,
    // Node writes machine code at run time: valgrind must see every write to code.
    '--smc-check=all-non-file',
    process.execPath,
    // The JIT compiles and the GC marks on this thread: counted alike from run to run.
    '--single-threaded',
    CHILD,
    row,
    `/api/books${ROUTE_SUFFIX[route]}`,
    String(warmup),
    String(requests),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => {
      const dump = readdirSync(dir).find((name) => name.startsWith('out.'));
      const text = dump ? readFileSync(path.join(dir, dump), 'utf8') : '';
      rmSync(dir, { recursive: true, force: true });
      const total = Number(/^(?:summary|totals): (\d+)/m.exec(text)?.[1]);
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

async function main() {
  if (!hasCommand('valgrind') || !hasCommand('callgrind_control', ['-h'])) {
    throw new Error(
      'valgrind is not installed: it counts the instructions. Install it (apt-get install valgrind) and run again.',
    );
  }
  const { routes, requests, warmup, repeat } = options();
  const jobs = routes.flatMap((route) =>
    Array.from({ length: repeat }, () => ROWS.map((row) => ({ route, row }))).flat(),
  );
  const counted: (Job & { perRequest: number })[] = [];
  // Two at a time, the rows of one route side by side.
  for (let i = 0; i < jobs.length; i += 2) {
    const pair = jobs.slice(i, i + 2);
    process.stderr.write(`counting ${pair.map((j) => `${j.row} ${j.route}`).join(' and ')}\n`);
    const results = await Promise.all(pair.map((job) => count(job, warmup, requests)));
    counted.push(...pair.map((job, k) => ({ ...job, perRequest: results[k] as number })));
  }
  const of = (route: RouteId, row: InProcessRow) =>
    counted.filter((c) => c.route === route && c.row === row).map((c) => c.perRequest);
  const rows = routes.map((route) => {
    const [service, floor] = [median(of(route, 'service')), median(of(route, 'floor'))];
    return [
      routeLabel(route),
      of(route, 'service')
        .map((n) => fmt(n))
        .join(' / '),
      of(route, 'floor')
        .map((n) => fmt(n))
        .join(' / '),
      fmt(service / floor, 3),
    ];
  });
  process.stdout.write(
    `${table(['route', 'book-service instructions/req', 'floor instructions/req', 'x floor (medians)'], rows)}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/instructions: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
