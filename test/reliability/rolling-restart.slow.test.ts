// A rolling deployment drops no request: under a steady load through the HTTP API, each
// replica of book-service is replaced in turn as ECS replaces a task (deregister and drain,
// SIGTERM, SIGKILL only past the stop timeout, a new replica, its health check), and the next
// waits until the replacement is healthy. Every request must be answered 2xx, and every old
// process must end by itself on SIGTERM.
//
// The same property is then run against a fixture service with deliberate faults, and must
// report each: a service that exits at once on SIGTERM (its requests in flight are dropped),
// one that ignores SIGTERM (SIGKILLed at the stop timeout: ECS reports exit code 137), and
// one that passes its health check before it can serve. A control run of the same fixture
// with the real drain must pass, so what fails is the fault, not the fixture.
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../scripts/local/index.ts';
import { manifestService } from '../helpers/workspace.ts';
import {
  FIXTURE_PATH,
  FIXTURE_SERVICE,
  fixtureWorkspace,
  livePids,
  ms,
  NO_THROTTLING,
  percentiles,
  type RestartReport,
  rollingRestart,
  rollingRestartViolations,
  stackForSuite,
  stackLog,
  startedPids,
} from './helpers.ts';

/** Manifest timings × 0.1: health interval 1 s, deregistration delay 3.5 s. */
const SCALE = 0.1;
const CONCURRENCY = 12;
/** A hang guard: how long one replacement may take before the test gives up. */
const PER_REPLICA_TIMEOUT_MS = 60_000;

const books = manifestService('book-service');

function summary(what: string, report: RestartReport): string {
  const { load } = report;
  const p = percentiles(load.latencies);
  return (
    `${what}: ${load.requests} requests in ${ms(load.elapsedMs)}, ${load.failures.length} failed; ` +
    `exits [${report.exits.join(', ')}]; in flight at each stop ${report.inFlightAtStop.join(', ')}; replacements ${report.replaceMs.map(ms).join(', ')}; ` +
    `p50 ${ms(p.p50)} p99 ${ms(p.p99)} max ${ms(p.max)}`
  );
}

describe('rolling restart of book-service under load', () => {
  const suite = stackForSuite({ healthCheckScale: SCALE });

  it('drops no request and every old replica exits on SIGTERM', async () => {
    const { stack, log } = suite;
    const report = await rollingRestart(stack, log, {
      service: books.name,
      url: `${stack.apiUrl}${books.pathPrefix}`,
      concurrency: CONCURRENCY,
      perReplicaTimeoutMs: PER_REPLICA_TIMEOUT_MS,
    });
    console.log(summary(`rolling restart, ${books.minCount} replicas`, report));
    expect(report.exits).toHaveLength(books.minCount);
    expect(rollingRestartViolations(report)).toEqual([]);
  }, 120_000);
});

describe('the same property on a deliberately broken service', () => {
  const fixture = fixtureWorkspace({ realServices: false });
  afterAll(() => fixture.remove());

  /** Starts the fixture with `mode`, restarts it under load, stops, returns the violations. */
  async function restartFixture(mode: string, warmupMs = 0, delayMs = 500): Promise<string[]> {
    const log = stackLog();
    const stack = await startLocalStack({
      root: fixture.root,
      apiPort: 0,
      healthCheckScale: SCALE,
      replicaOutput: 'ignore',
      parameters: NO_THROTTLING,
      log: log.log,
      // Requests outlive the fixture's 200 ms (scaled) deregistration delay: SIGTERM meets
      // requests in flight, which only a service that drains finishes.
      env: {
        FIXTURE_MODE: mode,
        FIXTURE_DELAY_MS: String(delayMs),
        FIXTURE_WARMUP_MS: String(warmupMs),
      },
    });
    try {
      // Past the first replicas' warm-up: only the replacements' is under test.
      await new Promise((resolve) => setTimeout(resolve, warmupMs));
      const report = await rollingRestart(stack, log, {
        service: FIXTURE_SERVICE,
        url: `${stack.apiUrl}${FIXTURE_PATH}`,
        concurrency: 16,
        perReplicaTimeoutMs: PER_REPLICA_TIMEOUT_MS,
      });
      console.log(summary(`fixture ${mode}`, report));
      return rollingRestartViolations(report);
    } finally {
      await stack.stop();
      expect(livePids(startedPids(log))).toEqual([]);
    }
  }

  it('passes with the real drain (the control)', async () => {
    expect(await restartFixture('graceful')).toEqual([]);
  }, 120_000);

  it('fails when the service exits at once on SIGTERM', async () => {
    // Requests of 3 s: those in flight when it is stopped cannot all end within the 200 ms drain.
    const violations = await restartFixture('exit-on-sigterm', 0, 3_000);
    expect(violations.join('\n')).toMatch(/requests failed/);
  }, 120_000);

  it('fails when the service ignores SIGTERM until SIGKILL', async () => {
    const violations = await restartFixture('ignore-sigterm');
    expect(violations.join('\n')).toMatch(/exited with SIGKILL/);
  }, 120_000);

  it('fails when the service passes health checks before it can serve', async () => {
    const violations = await restartFixture('healthy-early', 1_500);
    expect(violations.join('\n')).toMatch(/requests failed: 503/);
  }, 120_000);
});
