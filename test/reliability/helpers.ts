// Shared by the gateway-level reliability tests: a bounded load loop, percentiles, the stack's
// log with timestamps, a fixture workspace, and the properties the
// tests assert, written as functions that return what is violated so each test can also show
// them failing on a deliberately broken fixture.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  type LocalStack,
  type LocalStackOptions,
  startLocalStack,
} from '../../scripts/local/index.ts';
import { loadWorkspace, repoRoot } from '../../scripts/workspace/manifests.ts';
import { waitFor } from '../helpers/wait.ts';
import { type StackLog, writeTemplateWithRoutesFor } from '../local/helpers.ts';

export {
  livePids,
  NO_THROTTLING,
  type StackLog,
  stackForSuite,
  stackLog,
  startedPids,
} from '../local/helpers.ts';

// ---------------------------------------------------------------- fixture workspace

/** A stack on `root` as the broken-setup tests start it: fast checks, nothing printed. */
export function quietStack(root: string, options: LocalStackOptions = {}): Promise<LocalStack> {
  return startLocalStack({
    root,
    apiPort: 0,
    healthCheckScale: 0.1,
    replicaOutput: 'ignore',
    accessLog: false,
    log: () => {},
    ...options,
  });
}

const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'reliability');
/**
 * A fuzz file's fixed seed and run count, overridable with FC_SEED and FC_RUNS, and the
 * command that replays a failure.
 */
export function fuzzSettings(
  file: string,
  defaultSeed: number,
): { seed: number; numRuns: number; replay: string } {
  const seed = envInteger('FC_SEED', defaultSeed);
  return {
    seed,
    numRuns: envInteger('FC_RUNS', 1_000),
    replay: `FC_SEED=${seed} npx vitest run ${file}`,
  };
}

function envInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name}="${raw}" is not an integer`);
  return value;
}

export const FIXTURE_SERVICE = 'fixture-service';
export const FIXTURE_PATH = '/api/fixture';

/**
 * A temporary workspace holding the fixture service (and, with `realServices`, this
 * repository's own services), with the addon template's routes for it cloned from
 * book-service's. Returns its root and a remover.
 */
export function fixtureWorkspace(options: { realServices: boolean }): {
  root: string;
  remove: () => void;
} {
  const root = mkdtempSync(path.join(os.tmpdir(), 'reliability-'));
  const real = loadWorkspace(repoRoot);
  mkdirSync(path.join(root, 'copilot'));
  mkdirSync(path.join(root, 'services'));
  cpSync(path.join(repoRoot, 'copilot', '.workspace'), path.join(root, 'copilot', '.workspace'));
  cpSync(
    path.join(repoRoot, 'copilot', 'environments'),
    path.join(root, 'copilot', 'environments'),
    { recursive: true },
  );
  if (options.realServices) {
    for (const service of real.services) {
      cpSync(path.dirname(service.manifestFile), path.join(root, 'copilot', service.name), {
        recursive: true,
      });
      symlinkSync(service.sourceDir, path.join(root, 'services', path.basename(service.sourceDir)));
    }
  }
  cpSync(path.join(FIXTURE, 'copilot'), path.join(root, 'copilot'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'services', 'common'), path.join(root, 'services', 'common'));
  symlinkSync(path.join(FIXTURE, FIXTURE_SERVICE), path.join(root, 'services', FIXTURE_SERVICE));

  const model = real.services.find((s) => s.name === 'book-service');
  if (!model) throw new Error('the repository has no book-service to model routes on');
  writeTemplateWithRoutesFor(root, model.pathPrefix, FIXTURE_PATH);
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------- load

export interface Outcome {
  /** `performance.now()` when the request was sent and when it was settled. */
  start: number;
  end: number;
  status: number;
  error?: string;
  target?: string;
}

export interface LoadResult {
  requests: number;
  ok: number;
  failures: Outcome[];
  /** Latency of every request, in ms, in completion order. */
  latencies: number[];
  /** When each successful request was answered (`performance.now()`), in completion order. */
  answeredAt: number[];
  /** Successful requests per target (`x-local-target`). */
  servedBy: Record<string, number>;
  /** Requests in flight right now (read while the load runs). */
  inFlight: number;
  elapsedMs: number;
}

export interface LoadOptions {
  url: string;
  concurrency: number;
  /** Hard bounds: the loop stops at whichever comes first. */
  maxRequests: number;
  maxMs: number;
  /** Stops the loop early once it returns true (checked before each request). */
  until?: () => boolean;
  /** A request taking longer counts as failed. */
  requestTimeoutMs?: number;
}

/** `concurrency` keep-alive connections, each sending its next GET as soon as one is answered. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return startLoad(options).done;
}

/** The same load, with its result readable while it runs (in flight, served so far). */
export function startLoad(options: LoadOptions): { live: LoadResult; done: Promise<LoadResult> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  // A hang guard: a request unanswered this long counts as failed.
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const started = performance.now();
  const deadline = started + options.maxMs;
  const result: LoadResult = {
    requests: 0,
    ok: 0,
    failures: [],
    latencies: [],
    answeredAt: [],
    servedBy: {},
    inFlight: 0,
    elapsedMs: 0,
  };
  const one = () =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      result.inFlight++;
      const settle = (status: number, error?: string, target?: string) => {
        const end = performance.now();
        result.inFlight--;
        result.latencies.push(end - start);
        if (error === undefined && status >= 200 && status < 300) {
          result.ok++;
          result.answeredAt.push(end);
          if (target !== undefined) result.servedBy[target] = (result.servedBy[target] ?? 0) + 1;
        } else
          result.failures.push({
            start,
            end,
            status,
            ...(error === undefined ? {} : { error }),
            ...(target === undefined ? {} : { target }),
          });
        resolve();
      };
      const req = http.get(options.url, { agent }, (res) => {
        res.resume();
        const target = res.headers['x-local-target'];
        res.on('end', () => settle(res.statusCode ?? 0, undefined, target as string | undefined));
        res.on('error', (error) => settle(res.statusCode ?? 0, error.message));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
      req.on('error', (error) => settle(0, error.message));
    });
  const worker = async () => {
    while (
      result.requests < options.maxRequests &&
      performance.now() < deadline &&
      !options.until?.()
    ) {
      result.requests++;
      await one();
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, worker)).then(() => {
    result.elapsedMs = performance.now() - started;
    agent.destroy();
    return result;
  });
  return { live: result, done };
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentiles(latencies: readonly number[]): Percentiles {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

/** A duration for a report line; a phase whose log line was not seen says so, not `NaN ms`. */
export const ms = (value: number) =>
  Number.isFinite(value) ? `${value.toFixed(1)} ms` : '(not seen in the log)';

export function describeFailures(failures: readonly Outcome[], limit = 5): string {
  return failures
    .slice(0, limit)
    .map((f) => `${f.status}${f.error ? ` ${f.error}` : ''}${f.target ? ` from ${f.target}` : ''}`)
    .join('; ');
}

// ---------------------------------------------------------------- rolling restart

export interface RestartReport {
  load: LoadResult;
  /** How each replaced process ended, from the stack's log: `code 0`, `SIGKILL`... */
  exits: string[];
  /** Per replica, ms from the kill request to the replacement passing its health check. */
  replaceMs: number[];
  /** The targets replaced, and the ones that replaced them. */
  oldTargets: string[];
  newTargets: string[];
  /** Per replica, the requests the ALB had in flight to it when it was told to stop. */
  inFlightAtStop: number[];
}

/**
 * ECS's rolling deployment, one replica at a time: each is stopped as ECS stops a task
 * (deregister, drain, SIGTERM, SIGKILL after the stop timeout) and the next waits until the
 * replacement is healthy. A steady load runs through the API all along.
 */
export async function rollingRestart(
  stack: LocalStack,
  log: StackLog,
  options: { service: string; url: string; concurrency: number; perReplicaTimeoutMs: number },
): Promise<RestartReport> {
  const service = stack.services.find((s) => s.name === options.service);
  if (!service) throw new Error(`no service ${options.service}`);
  let done = false;
  const load = startLoad({
    url: options.url,
    concurrency: options.concurrency,
    maxRequests: 200_000,
    maxMs: 120_000,
    until: () => done,
  });
  const result = load.done;
  const replaceMs: number[] = [];
  const oldTargets: string[] = [];
  const newTargets: string[] = [];
  const inFlightAtStop: number[] = [];
  const since = performance.now();
  try {
    // Load on every target first, so the first SIGTERM meets connections and requests.
    await waitFor('every target to answer the load', () =>
      service.replicas.every((r) => (load.live.servedBy[r.target] ?? 0) > 0),
    );
    for (const replica of service.replicas) {
      const oldPid = replica.pid;
      const started = performance.now();
      oldTargets.push(replica.target);
      // Stopped while the ALB has requests in flight to it: those a broken drain would drop.
      const target = stack.parts.groups
        .get(options.service)
        ?.targets.find((t) => t.address === replica.target);
      await waitFor(`requests in flight to ${replica.target}`, () => (target?.inFlight ?? 0) > 0);
      inFlightAtStop.push(target?.inFlight ?? 0);
      await stack.killReplica(options.service, replica.index, 'SIGTERM');
      await waitFor(
        `${options.service}/${replica.index} to be replaced and healthy`,
        () => replica.healthy && replica.pid !== oldPid,
        options.perReplicaTimeoutMs,
      );
      replaceMs.push(performance.now() - started);
      newTargets.push(replica.target);
    }
    // Load on the new replicas too, before it stops.
    await waitFor('every replacement to answer the load', () =>
      newTargets.every((target) => (load.live.servedBy[target] ?? 0) > 0),
    );
  } finally {
    done = true;
  }
  const exits = log.lines
    .filter((l) => l.at >= since && l.line.includes(`${options.service}/`))
    .map((l) => /exited \((.+)\)$/.exec(l.line)?.[1])
    .filter((how): how is string => how !== undefined);
  return { load: await result, exits, replaceMs, oldTargets, newTargets, inFlightAtStop };
}

/**
 * Zero loss: every request answered 2xx, every old process ended on SIGTERM by itself. And the
 * load covered the restart: requests in flight at each SIGTERM, and answers from every replaced
 * target and from every replacement.
 */
export function rollingRestartViolations(report: RestartReport): string[] {
  const violations: string[] = [];
  const { load } = report;
  if (load.requests === 0) violations.push('no request was sent during the restart');
  if (report.inFlightAtStop.some((n) => n === 0)) {
    violations.push(`no request in flight at a stop (${report.inFlightAtStop.join(', ')})`);
  }
  for (const target of [...report.oldTargets, ...report.newTargets]) {
    if (!load.servedBy[target]) violations.push(`target ${target} answered no request`);
  }
  if (load.failures.length > 0) {
    violations.push(
      `${load.failures.length} of ${load.requests} requests failed: ${describeFailures(load.failures)}`,
    );
  }
  for (const how of report.exits) {
    if (how !== 'code 0') violations.push(`a replaced replica exited with ${how}, not code 0`);
  }
  return violations;
}

// ---------------------------------------------------------------- a replica dies

/**
 * What a dead replica may cost: ECS's agent reports a stopped task and the service scheduler
 * deregisters its target; locally the exit is seen at once. So only requests sent before the
 * stack saw the exit may fail (those the ALB had picked for the dying target); a request sent
 * after it must be answered. Judged by the order of events on this process's clock (the load
 * and the stack's log both run here), never by a time budget.
 */
export interface DeathReport {
  killedAt: number;
  /** When the stack saw the process exit (its `<service>/<index> exited` line), if it did. */
  exitSeenAt: number | undefined;
  /** When the stack deregistered the dead target (its `-> draining` line), if it did. */
  deregisteredAt: number | undefined;
  load: LoadResult;
}

/** No request failing that was sent after the exit was seen (or after the kill, if never). */
export function deathViolations(report: DeathReport): string[] {
  const violations: string[] = [];
  const { killedAt, exitSeenAt, deregisteredAt, load } = report;
  if (load.requests === 0) violations.push('no request was sent');
  if (deregisteredAt === undefined) violations.push('the dead target was never deregistered');
  const since = exitSeenAt ?? killedAt;
  const late = load.failures.filter((f) => f.start > since);
  if (late.length > 0) {
    const when = exitSeenAt === undefined ? 'the kill (its exit never seen)' : 'its exit was seen';
    violations.push(
      `${late.length} requests failed that were sent after ${when}: ${describeFailures(late)}`,
    );
  }
  return violations;
}

// ---------------------------------------------------------------- handles

/** The kinds of handle that would betray a leak: sockets, servers, child processes. */
const LEAK_KINDS = ['TCPSocketWrap', 'TCPServerWrap', 'ProcessWrap', 'PipeWrap'];

export function leakProneHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (LEAK_KINDS.includes(kind)) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/** Kinds with more handles now than in `before`. */
export function handlesAbove(
  before: Record<string, number>,
  now: Record<string, number>,
): string[] {
  return Object.entries(now)
    .filter(([kind, count]) => count > (before[kind] ?? 0))
    .map(([kind, count]) => `${kind}: ${before[kind] ?? 0} before, ${count} now`);
}
