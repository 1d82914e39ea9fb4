// The shape of a run's record (bench/results/<timestamp>.json), and what is derived from the
// raw samples: medians, ratios in the same round, and each goal as met or missed.
import type { LoadGenerator } from './load.ts';
import type { PairedSample, PairedSummary } from './paired.ts';
import { ROUTE_IDS, type RouteId, routeLabel } from './routes.ts';
import { median, medianRatio } from './stats.ts';
import type { ProcessRef, RowId } from './targets.ts';

export interface RoundSample {
  round: number;
  route: RouteId;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU time of all the row's processes over the round, per request answered. */
  cpuMicrosPerRequest: number;
  /** The same for the proxy process alone (nginx, or the local API + ALB). */
  proxyCpuMicrosPerRequest: number | null;
}

export interface ProcessMemory extends ProcessRef {
  idleRssBytes: number;
  peakRssBytes: number;
}

export interface RowRecord {
  id: RowId;
  label: string;
  /** Each route's body, and whether it equals the raw row's byte for byte (or the service's). */
  bodies: { route: RouteId; bytes: number; same: boolean }[];
  rounds: RoundSample[];
  /** Spawn to first 200, from fresh starts (single-process rows and the local stack). */
  startupMs: number[];
  /** VmRSS shortly after the first 200, from the same fresh starts. */
  idleRssBytes: number[];
  /** The long-running instance the rounds loaded: idle before load, peak (VmHWM) after. */
  processes: ProcessMemory[];
  /** Each route's warm-up (warmup.ts): its length, and whether the row had stopped getting faster. */
  warmups: { route: RouteId; seconds: number; settled: boolean }[];
}

export interface RowSummary {
  id: RowId;
  route: RouteId;
  requestsPerSecond: number;
  ratioToRaw: number;
  ratioToFastify: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cpuMicrosPerRequest: number;
  proxyCpuMicrosPerRequest: number;
  startupMs: number;
  idleRssBytes: number;
  peakRssBytes: number;
}

export type GoalStatus = 'MET' | 'MISSED' | 'SKIPPED';

export interface GoalResult {
  id: string;
  description: string;
  measured: number | null;
  target: number;
  comparison: '>=' | '<=' | '<';
  unit: 'x' | 'ms';
  status: GoalStatus;
  note?: string;
}

/** `--guard`: book-service's CPU per request over Fastify's, paired, against its bound. */
export interface GuardVerdict {
  maxRatio: number;
  status: 'PASS' | 'FAIL';
  /** Why it failed, when it did: the routes over the bound, or errors making it not comparable. */
  reasons: string[];
}

/** The guard fails a change that makes book-service cost more than this times Fastify's CPU. */
export const GUARD_MAX_RATIO = 1.1;

export interface BenchRecord {
  schema: 3;
  startedAt: string;
  finishedAt: string;
  elapsedSeconds: number;
  machine: {
    node: string;
    cpus: number;
    kernel: string;
    loadAverageBefore: number[];
    loadAverageAfter: number[];
  };
  settings: {
    rounds: number;
    durationSeconds: number;
    warmupSeconds: number;
    connections: number;
    startupSamples: number;
    pairedRounds: number;
    routes: RouteId[];
    loadGenerator: LoadGenerator;
    loadGeneratorVersion: string;
    /** CPU lists, or null when the run was not pinned (and why). */
    serverCpus: string | null;
    loadCpus: string | null;
    pinningNote: string;
    serviceBuild: string;
  };
  skipped: { id: RowId; reason: string }[];
  rows: RowRecord[];
  summary: RowSummary[];
  /** book-service and Fastify loaded at once (paired.ts), when both rows ran. */
  paired: { rows: RowId[]; samples: PairedSample[]; summary: PairedSummary[] } | null;
  goals: GoalResult[];
  /** Only with --guard. */
  guard: GuardVerdict | null;
}

/** Requests per second of one row on one route, round by round. */
function rpsOf(row: RowRecord | undefined, route: RouteId): number[] {
  return (row?.rounds ?? []).filter((r) => r.route === route).map((r) => r.requestsPerSecond);
}

function summarise(row: RowRecord, route: RouteId, byId: Map<RowId, RowRecord>): RowSummary {
  const rounds = row.rounds.filter((r) => r.route === route);
  const rps = rounds.map((r) => r.requestsPerSecond);
  const proxy = rounds.map((r) => r.proxyCpuMicrosPerRequest ?? Number.NaN);
  const singleProcess = row.processes.length === 1;
  const first = row.processes[0];
  const ratioTo = (other: RowId) =>
    byId.has(other) ? medianRatio(rps, rpsOf(byId.get(other), route)) : Number.NaN;
  return {
    id: row.id,
    route,
    requestsPerSecond: median(rps),
    ratioToRaw: ratioTo('raw'),
    ratioToFastify: ratioTo('fastify'),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    cpuMicrosPerRequest: median(rounds.map((r) => r.cpuMicrosPerRequest)),
    proxyCpuMicrosPerRequest: median(proxy),
    startupMs: median(row.startupMs),
    // Fresh-start samples when there are some; else the loaded instance's own idle reading.
    idleRssBytes:
      row.idleRssBytes.length > 0
        ? median(row.idleRssBytes)
        : singleProcess && first
          ? first.idleRssBytes
          : Number.NaN,
    peakRssBytes: singleProcess && first ? first.peakRssBytes : Number.NaN,
  };
}

/** One summary per row and route it was loaded on, routes in their fixed order. */
export function summariseRows(rows: RowRecord[]): RowSummary[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ROUTE_IDS.flatMap((route) =>
    rows
      .filter((row) => row.rounds.some((r) => r.route === route))
      .map((row) => summarise(row, route, byId)),
  );
}

function goal(
  spec: Omit<GoalResult, 'status' | 'measured'>,
  measured: number | undefined,
  note?: string,
): GoalResult {
  if (measured === undefined || !Number.isFinite(measured)) {
    return {
      ...spec,
      measured: null,
      status: 'SKIPPED',
      note: note ?? 'a row it needs did not run',
    };
  }
  const met =
    spec.comparison === '>='
      ? measured >= spec.target
      : spec.comparison === '<='
        ? measured <= spec.target
        : measured < spec.target;
  return { ...spec, measured, status: met ? 'MET' : 'MISSED', ...(note ? { note } : {}) };
}

/** The figures the goals compare, each taken from this run's rows. */
function measuresOf(rows: RowRecord[], summary: RowSummary[]) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const sum = (id: RowId) => summary.find((s) => s.id === id && s.route === 'list');
  return {
    sum,
    perRound(a: RowId, b: RowId, route: RouteId, field: 'requestsPerSecond' | 'p99Ms') {
      const pick = (id: RowId) =>
        (byId.get(id)?.rounds ?? []).filter((r) => r.route === route).map((r) => r[field]);
      const [ra, rb] = [pick(a), pick(b)];
      return ra.length > 0 && rb.length > 0 ? medianRatio(ra, rb) : undefined;
    },
    ofSummaries(a: RowId, b: RowId, field: 'startupMs' | 'idleRssBytes') {
      const [sa, sb] = [sum(a), sum(b)];
      return sa && sb ? sa[field] / sb[field] : undefined;
    },
    errorsNote(route: RouteId, ...ids: RowId[]) {
      const failing = ids.filter((id) =>
        summary.some((s) => s.id === id && s.route === route && s.errors > 0),
      );
      return failing.length > 0 ? `errors in ${failing.join(', ')}: not comparable` : undefined;
    },
  };
}

/** A goal on a ratio of two rows (unit `x`). */
const ratio = (
  id: string,
  description: string,
  target: number,
  comparison: '>=' | '<=',
  value: number | undefined,
  note?: string,
) => goal({ id, description, target, comparison, unit: 'x' }, value, note);

/** A row's CPU per request over another's on one route: median of the per-round ratios. */
function cpuRatio(rows: RowRecord[], a: RowId, b: RowId, route: RouteId): number | undefined {
  const pick = (id: RowId) =>
    (rows.find((r) => r.id === id)?.rounds ?? [])
      .filter((r) => r.route === route)
      .map((r) => r.cpuMicrosPerRequest);
  const [ra, rb] = [pick(a), pick(b)];
  return ra.length > 0 && rb.length > 0 ? medianRatio(ra, rb) : undefined;
}

/**
 * book-service's CPU per request over Fastify's, route by route: from the paired rounds when
 * the run had them (the steadier figure), else from the interleaved rounds.
 */
function cpuGoals(rows: RowRecord[], paired: BenchRecord['paired'], m: Measures): GoalResult[] {
  return ROUTE_IDS.map((route) => {
    const pairedRoute = paired?.summary.find((p) => p.route === route);
    const measured = pairedRoute?.ratio ?? cpuRatio(rows, 'service', 'fastify', route);
    const errors =
      pairedRoute && pairedRoute.errors > 0
        ? 'errors in the paired rounds: not comparable'
        : m.errorsNote(route, 'service', 'fastify');
    return ratio(
      `service-cpu-vs-fastify-${route}`,
      `book-service ${routeLabel(route)} CPU us/req <= 1x Fastify 5${pairedRoute ? ' (paired)' : ''}`,
      1,
      '<=',
      measured,
      errors,
    );
  });
}

/** `--guard`'s verdict: FAIL above GUARD_MAX_RATIO on any route, or when it cannot tell. */
export function guardVerdict(paired: BenchRecord['paired']): GuardVerdict {
  const reasons: string[] = [];
  if (!paired || paired.summary.length === 0) reasons.push('no paired rounds ran');
  for (const p of paired?.summary ?? []) {
    const route = routeLabel(p.route);
    if (p.errors > 0) reasons.push(`${route}: ${p.errors} errors, not comparable`);
    else if (!(p.ratio <= GUARD_MAX_RATIO)) {
      reasons.push(`${route}: ${p.ratio.toFixed(2)}x Fastify's CPU per request`);
    }
  }
  return { maxRatio: GUARD_MAX_RATIO, status: reasons.length > 0 ? 'FAIL' : 'PASS', reasons };
}

type Measures = ReturnType<typeof measuresOf>;

/** The goals, each computed from rows measured in this same run. */
export function evaluateGoals(
  rows: RowRecord[],
  summary: RowSummary[],
  paired: BenchRecord['paired'] = null,
): GoalResult[] {
  const m = measuresOf(rows, summary);
  const versus = (other: RowId, name: string, target: number) =>
    ROUTE_IDS.map((route) =>
      ratio(
        `service-vs-${other}-${route}`,
        `book-service ${routeLabel(route)} req/s >= ${target}x ${name}`,
        target,
        '>=',
        m.perRound('service', other, route, 'requestsPerSecond'),
        m.errorsNote(route, 'service', other),
      ),
    );
  const localNote = m.errorsNote('list', 'local', 'nginx');
  return [
    ...cpuGoals(rows, paired, m),
    ...versus('fastify', 'Fastify 5', 1),
    ...versus('express', 'Express 4', 2),
    ratio(
      'local-throughput-vs-nginx',
      'local path req/s >= 0.4x nginx path',
      0.4,
      '>=',
      m.perRound('local', 'nginx', 'list', 'requestsPerSecond'),
      localNote,
    ),
    ratio(
      'local-p99-vs-nginx',
      'local path p99 <= 2x nginx path',
      2,
      '<=',
      m.perRound('local', 'nginx', 'list', 'p99Ms'),
      localNote,
    ),
    ratio(
      'service-startup-vs-raw',
      'book-service start to first 200 <= 1.2x raw',
      1.2,
      '<=',
      m.ofSummaries('service', 'raw', 'startupMs'),
    ),
    ratio(
      'service-idle-rss-vs-raw',
      'book-service idle RSS <= 1.2x raw',
      1.2,
      '<=',
      m.ofSummaries('service', 'raw', 'idleRssBytes'),
    ),
    goal(
      {
        id: 'local-stack-ready',
        description: 'whole local stack ready (median) < 3000 ms',
        target: 3000,
        comparison: '<',
        unit: 'ms',
      },
      m.sum('local')?.startupMs,
    ),
  ];
}
