// One run: build, sample start-ups, start every row, warm each up, then load the rows in
// interleaved rounds (A B C ... A B C ...) so that a disturbance on this shared machine hits
// every row of a round alike, and the per-round ratios stay meaningful.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { detectLoadGenerator, generatorVersion, runLoad } from './load.ts';
import { nginxInstalled } from './nginx.ts';
import type { Options } from './options.ts';
import { type PairedSet, type PairedTarget, pairedRounds, summarisePaired } from './paired.ts';
import { choosePinning, fetchOnce, type Pinning, readCpuMicros, readMemory } from './proc.ts';
import {
  type BenchRecord,
  evaluateGoals,
  guardVerdict,
  type ProcessMemory,
  type RowRecord,
  summariseRows,
} from './result.ts';
import { ROUTE_SUFFIX, type RouteId, routesOf } from './routes.ts';
import {
  buildArtifacts,
  freshStart,
  localStackPresent,
  ROW_LABELS,
  type RowId,
  type RunningTarget,
  SETTLE_MS,
  SINGLE_PROCESS_ROWS,
  type StartContext,
  startRow,
  unavailableReason,
} from './targets.ts';
import { WARMUP_STEP_SECONDS, warmUp } from './warmup.ts';

/** The local stack takes seconds to start: its own goal (ready < 3 s) needs fewer samples. */
const LOCAL_STARTUP_SAMPLES = 5;
/** The rows whose CPU per request the paired rounds compare, the first over the last. */
export const PAIRED_ROWS = ['service', 'fastify'] as const;
/** Loaded with them when it runs, between them: the floor app, also over the last. */
const PAIRED_FLOOR: RowId = 'floor';
const START_TIMEOUT_MS = 30_000;

/** Seconds the run will take, roughly: start-ups are guessed at their usual cost. */
export function estimateSeconds(options: Options, rows: RowId[]): number {
  const sampled = rows.filter((r) => SINGLE_PROCESS_ROWS.includes(r) || r === 'local');
  const startupGuess = (row: RowId) => (row === 'local' ? 3.3 : 0.7) * samplesFor(row, options);
  const samples = sampled.reduce((s, r) => s + startupGuess(r), 0);
  const loads =
    rows.reduce((n, row) => n + routesOf(row, options.routes).length, 0) *
    (options.warmupSeconds + options.rounds * options.durationSeconds);
  // Each paired round starts its servers and warms them up on each route.
  const paired = pairedRowsRun(options, rows)
    ? options.pairedRounds *
      (1 + options.routes.length * (options.warmupSeconds + options.durationSeconds))
    : 0;
  return Math.ceil(samples + loads + paired + rows.length * 2 + 5);
}

/** Fresh starts sampled for a row: the local stack's fewer, it takes seconds to start. */
function samplesFor(row: RowId, options: Options): number {
  return row === 'local'
    ? Math.min(options.startupSamples, LOCAL_STARTUP_SAMPLES)
    : options.startupSamples;
}

/** Whether this run has paired rounds: both rows run, and rounds were asked for. */
function pairedRowsRun(options: Options, rows: readonly RowId[]): boolean {
  return options.pairedRounds > 0 && PAIRED_ROWS.every((row) => rows.includes(row));
}

function cpuOf(target: RunningTarget, role?: 'proxy'): number {
  return target.processes
    .filter((p) => role === undefined || p.role === role)
    .reduce((sum, p) => sum + readCpuMicros(p.pid), 0);
}

/** The rows this machine can run; the others are recorded as skipped, with the reason. */
function availableRows(options: Options, log: (line: string) => void) {
  const tools = { nginx: nginxInstalled(), localStack: localStackPresent() };
  const skipped: BenchRecord['skipped'] = [];
  const rows: RowId[] = [];
  for (const row of options.rows) {
    const reason = unavailableReason(row, tools);
    if (reason) {
      skipped.push({ id: row, reason });
      log(`skipping ${row}: ${reason}`);
    } else rows.push(row);
  }
  const estimate = estimateSeconds(options, rows);
  if (estimate > options.maxSeconds) {
    throw new Error(
      `this run would take about ${estimate} s, over --max-seconds ${options.maxSeconds}: ` +
        'use fewer --rounds, a shorter --duration or fewer --rows',
    );
  }
  return { rows, skipped, estimate };
}

function emptyRecord(id: RowId): RowRecord {
  const rounds: RowRecord['rounds'] = [];
  return {
    id,
    label: ROW_LABELS[id],
    bodies: [],
    rounds,
    startupMs: [],
    idleRssBytes: [],
    processes: [],
    warmups: [],
  };
}

/** What one run shares between its phases. */
interface Run {
  options: Options;
  log: (line: string) => void;
  ctx: StartContext;
  record: (id: RowId) => RowRecord;
  /** The rows whose start-up is sampled from cold. */
  sampled: RowId[];
}

const urlOf = (target: RunningTarget, route: RouteId) => `${target.url}${ROUTE_SUFFIX[route]}`;

// Start-ups from cold, interleaved like the rounds. Nothing else runs on the server core.
async function sampleStartups(run: Run): Promise<void> {
  const { options, record } = run;
  for (let sample = 0; sample < options.startupSamples; sample++) {
    for (const row of run.sampled.filter((r) => sample < samplesFor(r, options))) {
      const { readyMs, idleRssBytes } = await freshStart(startRow(row, run.ctx));
      record(row).startupMs.push(readyMs);
      if (row !== 'local' && idleRssBytes !== undefined)
        record(row).idleRssBytes.push(idleRssBytes);
    }
    run.log(`start-up sample ${sample + 1}/${options.startupSamples} done`);
  }
}

// The instances the rounds load, started one after the other (start-up is measured).
async function startInstances(run: Run, rows: RowId[], running: Map<RowId, RunningTarget>) {
  for (const row of rows) {
    const target = await startRow(row, run.ctx);
    running.set(row, target);
    // Rows without fresh-start samples (nginx, or all with --startup-samples 0) keep this one.
    if (run.options.startupSamples === 0 || !run.sampled.includes(row)) {
      run.record(row).startupMs.push(target.readyMs);
    }
  }
  await sleep(SETTLE_MS);
  const reference = running.get('raw') ?? running.get('service');
  for (const [row, target] of running) {
    const r = run.record(row);
    for (const route of routesOf(row, run.options.routes)) {
      const body = (await fetchOnce(urlOf(target, route))).body;
      const expected = reference && (await fetchOnce(urlOf(reference, route))).body;
      r.bodies.push({ route, bytes: body.length, same: expected ? body.equals(expected) : true });
    }
    r.processes = target.processes.map(
      (p): ProcessMemory => ({
        ...p,
        idleRssBytes: readMemory(p.pid)?.rss ?? Number.NaN,
        peakRssBytes: Number.NaN,
      }),
    );
  }
}

/** A load of one (row, route) pair, and the CPU its processes spent per request answered. */
type MeasuredLoad = (
  target: RunningTarget,
  route: RouteId,
  seconds: number,
) => Promise<{
  result: Awaited<ReturnType<typeof runLoad>>;
  cpuMicrosPerRequest: number;
  proxyCpuMicrosPerRequest: number | null;
}>;

// Each pair loaded in steps until its CPU per request stops falling (warmup.ts).
async function warmUpPairs(
  run: Run,
  pairs: { row: RowId; route: RouteId; target: RunningTarget }[],
  measured: MeasuredLoad,
) {
  for (const { row, route, target } of pairs) {
    const step = async () =>
      (await measured(target, route, WARMUP_STEP_SECONDS)).cpuMicrosPerRequest;
    const warmup = await warmUp(step, run.options.warmupSeconds);
    run.record(row).warmups.push({ route, ...warmup });
    run.log(
      `warm-up ${row}/${route}: ${warmup.seconds} s${warmup.settled ? '' : ' (still getting faster)'}`,
    );
  }
}

// Warm-up, then the interleaved rounds, CPU per request read around each load.
async function loadRounds(
  run: Run,
  running: Map<RowId, RunningTarget>,
  generator: ReturnType<typeof detectLoadGenerator>,
  cpus: string | undefined,
) {
  const { options, log } = run;
  // Every (row, route) pair in a fixed order: the pairs of one route run back to back.
  const pairs = options.routes.flatMap((route) =>
    [...running]
      .filter(([row]) => routesOf(row, [route]).length > 0)
      .map(([row, target]) => ({ row, route, target })),
  );
  const measured: MeasuredLoad = async (target, route, seconds) => {
    const cpuBefore = cpuOf(target);
    const proxyBefore = cpuOf(target, 'proxy');
    const result = await runLoad(generator, {
      url: urlOf(target, route),
      connections: options.connections,
      durationSeconds: seconds,
      cpus,
    });
    const answered = Math.max(result.requests, 1);
    const hasProxy = target.processes.some((p) => p.role === 'proxy');
    return {
      result,
      cpuMicrosPerRequest: (cpuOf(target) - cpuBefore) / answered,
      proxyCpuMicrosPerRequest: hasProxy ? (cpuOf(target, 'proxy') - proxyBefore) / answered : null,
    };
  };
  // The guard has no interleaved rounds: its paired rounds warm up their own servers.
  if (options.rounds === 0) return;
  if (options.warmupSeconds > 0) await warmUpPairs(run, pairs, measured);
  for (let round = 1; round <= options.rounds; round++) {
    const line: string[] = [];
    for (const { row, route, target } of pairs) {
      const { result, ...cpu } = await measured(target, route, options.durationSeconds);
      run.record(row).rounds.push({ round, route, ...result, ...cpu });
      line.push(`${row}/${route} ${Math.round(result.requestsPerSecond)}`);
    }
    log(`round ${round}/${options.rounds}: ${line.join(', ')} req/s`);
  }
}

// book-service and Fastify (and the floor) loaded at the same moment, on servers started for
// each round (paired.ts): their CPU per request, round by round.
async function pairedPhase(
  run: Run,
  running: Map<RowId, RunningTarget>,
  generator: ReturnType<typeof detectLoadGenerator>,
  cpus: string | undefined,
): Promise<BenchRecord['paired']> {
  const { options } = run;
  if (!pairedRowsRun(options, [...running.keys()])) return null;
  const rows = pairedRowsOf([...running.keys()]);
  const settings = {
    rounds: options.pairedRounds,
    durationSeconds: options.durationSeconds,
    warmupSeconds: options.warmupSeconds,
    load: (url: string, durationSeconds: number) =>
      runLoad(generator, { url, connections: options.connections, durationSeconds, cpus }),
  };
  const samples = await pairedRounds(
    () => startPairedSet(run, rows),
    options.routes,
    settings,
    run.log,
  );
  return { rows, samples, summary: summarisePaired(samples) };
}

/** The paired rows of a run: book-service, the floor when it runs, Fastify last. */
function pairedRowsOf(rows: readonly RowId[]): RowId[] {
  const [first, last] = PAIRED_ROWS;
  return rows.includes(PAIRED_FLOOR) ? [first, PAIRED_FLOOR, last] : [first, last];
}

/** One round's servers: a fresh one of each paired row, all stopped if one fails to start. */
async function startPairedSet(run: Run, rows: readonly RowId[]): Promise<PairedSet> {
  const started: RunningTarget[] = [];
  const stop = async () => {
    await Promise.all(started.map((target) => target.stop()));
  };
  try {
    for (const row of rows) started.push(await startRow(row, run.ctx));
  } catch (error) {
    await stop();
    throw error;
  }
  await sleep(SETTLE_MS);
  const targets = started.map(
    (target): PairedTarget => ({
      url: (route) => urlOf(target, route),
      cpuMicros: () => cpuOf(target),
    }),
  );
  return { targets, stop };
}

/** The run's record: machine, settings, rows, their summary and the goals. */
function assemble(
  { options }: Run,
  rowRecords: RowRecord[],
  m: {
    startedAt: Date;
    loadAverageBefore: number[];
    cpuCount: number;
    generator: ReturnType<typeof detectLoadGenerator>;
    pinning: Pinning;
    skipped: BenchRecord['skipped'];
    paired: BenchRecord['paired'];
  },
): BenchRecord {
  const { startedAt, loadAverageBefore, cpuCount, generator, pinning, skipped, paired } = m;
  const summary = summariseRows(rowRecords);
  const finishedAt = new Date();
  const goals = evaluateGoals(rowRecords, summary, paired);
  return {
    schema: 3,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    elapsedSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    machine: {
      node: process.version,
      cpus: cpuCount,
      kernel: os.release(),
      loadAverageBefore,
      loadAverageAfter: os.loadavg(),
    },
    settings: {
      rounds: options.rounds,
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      connections: options.connections,
      startupSamples: options.startupSamples,
      pairedRounds: options.pairedRounds,
      routes: options.routes,
      loadGenerator: generator,
      loadGeneratorVersion: generatorVersion(generator),
      serverCpus: pinning.server ?? null,
      loadCpus: pinning.load ?? null,
      pinningNote: pinning.note,
      serviceBuild: 'its esbuild bundle, run with the Dockerfile CMD',
    },
    skipped,
    rows: rowRecords,
    summary,
    paired,
    goals,
    guard: options.guard ? guardVerdict(paired) : null,
  };
}

export async function runBench(
  options: Options,
  log: (line: string) => void,
): Promise<BenchRecord> {
  const startedAt = new Date();
  const loadAverageBefore = os.loadavg();
  // Read before this process pins itself to one CPU, which would narrow it to 1.
  const cpuCount = os.availableParallelism();
  const generator = detectLoadGenerator(options.loadGenerator);
  const { rows, skipped, estimate } = availableRows(options, log);
  const pinning = choosePinning(options.pin);
  log(`load generator: ${generatorVersion(generator)}; ${pinning.note}; about ${estimate} s`);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const running = new Map<RowId, RunningTarget>();
  try {
    const artifacts = await buildArtifacts(dir);
    const records = new Map<RowId, RowRecord>(rows.map((id) => [id, emptyRecord(id)]));
    const run: Run = {
      options,
      log,
      ctx: { artifacts, cpus: pinning.server, timeoutMs: START_TIMEOUT_MS },
      record: (id) => records.get(id) as RowRecord,
      sampled: rows.filter((r) => SINGLE_PROCESS_ROWS.includes(r) || r === 'local'),
    };
    await sampleStartups(run);
    await startInstances(run, rows, running);
    await loadRounds(run, running, generator, pinning.load);
    const paired = await pairedPhase(run, running, generator, pinning.load);
    for (const row of running.keys()) {
      for (const p of run.record(row).processes)
        p.peakRssBytes = readMemory(p.pid)?.peak ?? Number.NaN;
    }

    return assemble(run, rows.map(run.record), {
      startedAt,
      loadAverageBefore,
      cpuCount,
      generator,
      pinning,
      skipped,
      paired,
    });
  } finally {
    await Promise.all([...running.values()].map((t) => t.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
