// The shape of a run's record (bench/results/<timestamp>.json), and what is derived from the
// raw samples: medians, ratios in the same round, and each goal as met or missed.
import type { LoadGenerator } from './load.ts';
import { median, medianRatio } from './stats.ts';
import type { ProcessRef, RowId } from './targets.ts';

export interface RoundSample {
  round: number;
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
  bodyBytes: number;
  /** The body equals the raw row's byte for byte (or the service's when raw did not run). */
  sameBody: boolean;
  rounds: RoundSample[];
  /** Spawn to first 200, from fresh starts (single-process rows and the local stack). */
  startupMs: number[];
  /** VmRSS shortly after the first 200, from the same fresh starts. */
  idleRssBytes: number[];
  /** The long-running instance the rounds loaded: idle before load, peak (VmHWM) after. */
  processes: ProcessMemory[];
}

export interface RowSummary {
  id: RowId;
  requestsPerSecond: number;
  ratioToRaw: number;
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

export interface BenchRecord {
  schema: 1;
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
  goals: GoalResult[];
}

function summarise(row: RowRecord, raw: RowRecord | undefined): RowSummary {
  const rps = row.rounds.map((r) => r.requestsPerSecond);
  const proxy = row.rounds.map((r) => r.proxyCpuMicrosPerRequest ?? Number.NaN);
  const singleProcess = row.processes.length === 1;
  const first = row.processes[0];
  return {
    id: row.id,
    requestsPerSecond: median(rps),
    ratioToRaw: raw
      ? medianRatio(
          rps,
          raw.rounds.map((r) => r.requestsPerSecond),
        )
      : Number.NaN,
    p50Ms: median(row.rounds.map((r) => r.p50Ms)),
    p99Ms: median(row.rounds.map((r) => r.p99Ms)),
    errors: row.rounds.reduce((sum, r) => sum + r.errors, 0),
    cpuMicrosPerRequest: median(row.rounds.map((r) => r.cpuMicrosPerRequest)),
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

export function summariseRows(rows: RowRecord[]): RowSummary[] {
  const raw = rows.find((r) => r.id === 'raw');
  return rows.map((row) => summarise(row, raw));
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

/** The goals, each computed from rows measured in this same run. */
export function evaluateGoals(rows: RowRecord[], summary: RowSummary[]): GoalResult[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const sum = new Map(summary.map((s) => [s.id, s]));
  const perRound = (a: RowId, b: RowId, field: 'requestsPerSecond' | 'p99Ms') => {
    const ra = byId.get(a);
    const rb = byId.get(b);
    if (!ra || !rb) return undefined;
    return medianRatio(
      ra.rounds.map((r) => r[field]),
      rb.rounds.map((r) => r[field]),
    );
  };
  const ofSummaries = (a: RowId, b: RowId, field: 'startupMs' | 'idleRssBytes') => {
    const sa = sum.get(a);
    const sb = sum.get(b);
    return sa && sb ? sa[field] / sb[field] : undefined;
  };
  const errorsNote = (...ids: RowId[]) => {
    const failing = ids.filter((id) => (sum.get(id)?.errors ?? 0) > 0);
    return failing.length > 0 ? `errors in ${failing.join(', ')}: not comparable` : undefined;
  };
  return [
    goal(
      {
        id: 'service-throughput-vs-raw',
        description: 'book-service req/s >= 0.95x raw node:http',
        target: 0.95,
        comparison: '>=',
        unit: 'x',
      },
      perRound('service', 'raw', 'requestsPerSecond'),
      errorsNote('service', 'raw'),
    ),
    goal(
      {
        id: 'service-throughput-vs-express',
        description: 'book-service req/s >= Express 4',
        target: 1,
        comparison: '>=',
        unit: 'x',
      },
      perRound('service', 'express', 'requestsPerSecond'),
      errorsNote('service', 'express'),
    ),
    goal(
      {
        id: 'local-throughput-vs-nginx',
        description: 'local path req/s >= 0.4x nginx path',
        target: 0.4,
        comparison: '>=',
        unit: 'x',
      },
      perRound('local', 'nginx', 'requestsPerSecond'),
      errorsNote('local', 'nginx'),
    ),
    goal(
      {
        id: 'local-p99-vs-nginx',
        description: 'local path p99 <= 2x nginx path',
        target: 2,
        comparison: '<=',
        unit: 'x',
      },
      perRound('local', 'nginx', 'p99Ms'),
      errorsNote('local', 'nginx'),
    ),
    goal(
      {
        id: 'service-startup-vs-raw',
        description: 'book-service start to first 200 <= 1.2x raw',
        target: 1.2,
        comparison: '<=',
        unit: 'x',
      },
      ofSummaries('service', 'raw', 'startupMs'),
    ),
    goal(
      {
        id: 'local-stack-ready',
        description: 'whole local stack ready (median) < 3000 ms',
        target: 3000,
        comparison: '<',
        unit: 'ms',
      },
      sum.get('local')?.startupMs,
    ),
    goal(
      {
        id: 'service-idle-rss-vs-raw',
        description: 'book-service idle RSS <= 1.2x raw',
        target: 1.2,
        comparison: '<=',
        unit: 'x',
      },
      ofSummaries('service', 'raw', 'idleRssBytes'),
    ),
  ];
}
