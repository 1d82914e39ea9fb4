// `npx node bench/aging.ts`: does a long-lived book-service stay as cheap a request as a young
// one? The check of "The slowdown found" (bench/README.md): V8's memory reducer once made every
// book-service older than a few minutes 20-30% more expensive a request for good, and the
// services now set an option against it (services/common/src/memory-reducer.ts). Whether it is
// still needed, and still enough, depends on V8, so this re-runs the loop that found it:
// book-service processes, bundled and launched as `npm run bench` launches its service row,
// pinned to the first CPU, each loaded in turn by wrk on the second for one window per cycle,
// the routes in turn, for --seconds; each window's CPU per request read from /proc. As the bench
// does, it loads with autocannon where wrk is missing, and runs unpinned without taskset or a
// second CPU. Control processes run the same bundle with the option withheld
// (bench/fixtures/withhold-keep-maps.ts), to show whether this run's load and length could show
// the step at all.
// Exit status: 0 when no book-service process stepped (HELD, or INCONCLUSIVE when no control
// did either), 1 when one did (SLOWED), 2 when the run failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../scripts/workspace/manifests.ts';
import { WITHHELD_LINE } from './fixtures/withhold-keep-maps.ts';
import {
  type AgingResult,
  type AgingSeries,
  judge,
  summary,
  verdict,
  windowsPerServer,
} from './lib/aging.ts';
import { detectLoadGenerator, generatorVersion, type LoadGenerator, runLoad } from './lib/load.ts';
import { positive } from './lib/options.ts';
import {
  choosePinning,
  killAllSpawned,
  type Pinning,
  readCpuMicros,
  readMemory,
} from './lib/proc.ts';
import { ROUTE_IDS, ROUTE_SUFFIX, type RouteId } from './lib/routes.ts';
import { fmt, table } from './lib/table.ts';
import {
  type Artifacts,
  buildArtifacts,
  type NodeLaunch,
  nodeRowLaunch,
  type RunningTarget,
  startNodeServer,
} from './lib/targets.ts';
import { warmUpTogether } from './lib/warmup.ts';

const USAGE = `Usage: npx node bench/aging.ts [options]
  --processes <n>    book-service processes, as the container runs them (2)
  --control <n>      processes with the memory-reducer option withheld (2; 0 for none)
  --seconds <n>      how long the windows run, after warm-up (360)
  --window <n>       seconds of load per window (2)
  --connections <n>  wrk connections (50)
  --warmup <n>       at most this many seconds of warm-up per route, all processes loaded at once (8)
Exit status: 0 HELD or INCONCLUSIVE, 1 SLOWED (a book-service process stepped), 2 the run failed.
Loads with wrk when installed, else autocannon; pinned when taskset and 2 CPUs allow.`;

const PRELOAD = path.join(import.meta.dirname, 'fixtures', 'withhold-keep-maps.ts');
const START_TIMEOUT_MS = 20_000;

interface Settings {
  processes: number;
  control: number;
  seconds: number;
  window: number;
  connections: number;
  warmup: number;
}

interface Server {
  label: string;
  control: boolean;
  target: RunningTarget;
  pid: number;
}

function parse(argv: string[]): Settings | undefined {
  const names = ['processes', 'control', 'seconds', 'window', 'connections', 'warmup'] as const;
  const { values } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean' },
      ...Object.fromEntries(names.map((name) => [name, { type: 'string' }])),
    },
  }) as { values: Partial<Record<(typeof names)[number], string>> & { help?: boolean } };
  if (values.help) return undefined;
  return {
    processes: positive('processes', values.processes, 2),
    control: positive('control', values.control, 2, 0),
    seconds: positive('seconds', values.seconds, 360),
    window: positive('window', values.window, 2),
    connections: positive('connections', values.connections, 50),
    warmup: positive('warmup', values.warmup, 8, 0),
  };
}

async function startServer(
  artifacts: Artifacts,
  cpus: string | undefined,
  label: string,
  control: boolean,
): Promise<Server> {
  const launch: NodeLaunch = (port) => {
    const { args, env } = nodeRowLaunch('service', artifacts, port);
    return { args: control ? ['--import', PRELOAD, ...args] : args, env };
  };
  const target = await startNodeServer('service', launch, {
    artifacts,
    cpus,
    timeoutMs: START_TIMEOUT_MS,
  });
  // The service sets the option once it listens, before its first 200: a control that has not
  // said it withheld it by now never will.
  if (control && !(target.output ?? []).join('').includes(WITHHELD_LINE)) {
    await target.stop();
    throw new Error(
      `${label} never withheld the option: book-service no longer sets it as services/common/src/memory-reducer.ts did when this control was written; update bench/fixtures/withhold-keep-maps.ts`,
    );
  }
  return { label, control, target, pid: target.processes[0]?.pid ?? 0 };
}

/** How a run loads its servers: the load generator and where it and the servers run. */
interface Load {
  generator: LoadGenerator;
  pinning: Pinning;
  connections: number;
}

/** One window of load on one server: its CPU us per request. */
async function window(server: Server, route: RouteId, seconds: number, load: Load) {
  const before = readCpuMicros(server.pid);
  const url = `${server.target.url}${ROUTE_SUFFIX[route]}`;
  const result = await runLoad(load.generator, {
    url,
    connections: load.connections,
    durationSeconds: seconds,
    cpus: load.pinning.load,
  });
  if (result.errors > 0) throw new Error(`${server.label}: ${result.errors} errors on ${url}`);
  return (readCpuMicros(server.pid) - before) / Math.max(result.requests, 1);
}

async function warmUp(servers: Server[], seconds: number, load: Load): Promise<void> {
  for (const route of ROUTE_IDS) {
    const step = () => Promise.all(servers.map((server) => window(server, route, 1, load)));
    await warmUpTogether(step, seconds);
  }
}

async function measure(servers: Server[], s: Settings, load: Load): Promise<AgingSeries[]> {
  const series = servers.map((server) => ({
    label: server.label,
    control: server.control,
    windows: { list: [], item: [], page: [] } as Record<RouteId, number[]>,
  }));
  const windows = windowsPerServer(s.seconds, s.window, servers.length);
  const started = performance.now();
  for (let w = 0; w < windows; w++) {
    const route = ROUTE_IDS[w % ROUTE_IDS.length] as RouteId;
    for (const [i, server] of servers.entries()) {
      series[i]?.windows[route].push(await window(server, route, s.window, load));
    }
    const elapsed = ((performance.now() - started) / 1000).toFixed(0);
    const last = series.map((one) => fmt(one.windows[route].at(-1) ?? Number.NaN)).join(' ');
    process.stderr.write(`window ${w + 1}/${windows} (${route}, ${elapsed} s): us/req ${last}\n`);
  }
  return series;
}

function report(results: AgingResult[], servers: Server[]): string {
  const rows = results.map((result, i) => [
    result.label,
    ...ROUTE_IDS.map((route) => {
      const { early, late, ratio } = result.routes[route];
      return `${fmt(early)} -> ${fmt(late)} (${fmt(ratio, 2)}x)`;
    }),
    fmt((readMemory(servers[i]?.pid ?? 0)?.rss ?? Number.NaN) / 2 ** 20, 1),
    result.stepped ? 'stepped' : 'held',
  ]);
  const header = ['process', ...ROUTE_IDS.map((r) => `${r} us/req early -> late`), 'RSS MB', ''];
  return `${table(header, rows)}\n${summary(results)}`;
}

async function startAll(
  s: Settings,
  artifacts: Artifacts,
  cpu: string | undefined,
): Promise<Server[]> {
  const labels = [
    ...Array.from({ length: s.processes }, (_, i) => [`book-service ${i + 1}`, false]),
    ...Array.from({ length: s.control }, (_, i) => [`control ${i + 1} (withheld)`, true]),
  ] as [string, boolean][];
  const servers: Server[] = [];
  for (const [label, control] of labels) {
    servers.push(await startServer(artifacts, cpu, label, control));
  }
  return servers;
}

/** The run's record beside the bench's (bench/results/, gitignored): every window kept. */
function writeRecord(record: object): void {
  const stamp = new Date().toISOString().replaceAll(/[:.]/g, '-');
  const file = path.join(repoRoot, 'bench', 'results', `aging-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  process.stderr.write(`record: ${path.relative(repoRoot, file)}\n`);
}

async function main(): Promise<number> {
  const settings = parse(process.argv.slice(2));
  if (settings === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const load: Load = {
    generator: detectLoadGenerator('auto'),
    pinning: choosePinning(true),
    connections: settings.connections,
  };
  const started = { date: new Date().toISOString(), load: os.loadavg()[0] };
  const dir = path.join(repoRoot, '.cache', 'bench', 'aging');
  mkdirSync(dir, { recursive: true });
  const servers = await startAll(settings, await buildArtifacts(dir), load.pinning.server);
  process.stderr.write(
    `${servers.length} processes; ${generatorVersion(load.generator)}; ${load.pinning.note}; warming up\n`,
  );
  await warmUp(servers, settings.warmup, load);
  const series = await measure(servers, settings, load);
  const results = series.map(judge);
  process.stdout.write(`${report(results, servers)}\n`);
  const loadAverage = [started.load, os.loadavg()[0]];
  const { generator, pinning } = load;
  const record = { date: started.date, node: process.version, generator, pinning, settings };
  writeRecord({ ...record, loadAverage, results, series });
  await Promise.all(servers.map((server) => server.target.stop()));
  return verdict(results) === 'SLOWED' ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    killAllSpawned();
    process.stderr.write(
      `aging failed: ${error instanceof Error ? error.message : error}\nnext: npx node bench/aging.ts --help\n`,
    );
    process.exitCode = 2;
  },
);
