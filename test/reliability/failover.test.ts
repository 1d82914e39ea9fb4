// A replica that dies (SIGKILL: no drain, no goodbye) under load is taken out by the ALB's
// health checks within what the manifest's thresholds allow, and once it is out no request
// fails. Until then some do: the local ALB, like the real one, keeps routing to a target that
// passed its last check; those are reported, not hidden.
//
// The bound: checks start every `interval`, each independent of the last, and a failed one is
// known at most `timeout` after it started; the target is out at the `unhealthyThreshold`-th
// consecutive failure. The first failing check starts within one interval of the death, so
// the target is out within unhealthyThreshold × interval + timeout (all scaled). SLACK_MS
// covers timers firing late: the ALB, the client loop and the test share one event loop on
// two shared cores (the loop's worst delay during the run is printed beside the result).
//
// A deliberate break must be caught: a "zombie" fixture whose health route still answers 200
// while every other request has its connection dropped is never taken out.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/lib/local/index.ts';
import { loadWorkspace, type Service } from '../../scripts/lib/manifests.ts';
import {
  describeFailures,
  type FailoverReport,
  FIXTURE_PATH,
  FIXTURE_SERVICE,
  failoverViolations,
  fixtureWorkspace,
  livePids,
  ms,
  NO_THROTTLING,
  runLoad,
  type StackLog,
  stackForSuite,
  stackLog,
  startedPids,
  waitFor,
} from './helpers.ts';

const SCALE = 0.1;
const SLACK_MS = 250;
const CONCURRENCY = 8;

const books = loadWorkspace().services.find((s) => s.name === 'book-service');
if (!books) throw new Error('the manifests lack book-service');

function boundMs(service: Service): number {
  const { unhealthyThreshold, intervalMs, timeoutMs } = service.health;
  const interval = intervalMs * SCALE;
  return unhealthyThreshold * interval + Math.min(timeoutMs * SCALE, interval) + SLACK_MS;
}

/**
 * Sends `signal` to replica 0 of `service` under load, waits `settleMs` (or, with `awaitBack`,
 * for its replacement to be healthy), and reports when the ALB took the target out.
 */
async function failover(
  stack: LocalStack,
  log: StackLog,
  options: { service: Service; url: string; signal: NodeJS.Signals; awaitBack: boolean },
): Promise<FailoverReport & { loopDelayMaxMs: number; backAfterMs: number | undefined }> {
  const replica = stack.services.find((s) => s.name === options.service.name)?.replicas[0];
  if (!replica) throw new Error(`no ${options.service.name} replica`);
  const bound = boundMs(options.service);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let done = false;
  const load = runLoad({
    url: options.url,
    concurrency: CONCURRENCY,
    maxRequests: 200_000,
    maxMs: 30_000,
    until: () => done,
  });
  let killedAt = 0;
  let backAfterMs: number | undefined;
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const oldPid = replica.pid;
    killedAt = performance.now();
    // Resolves when the process exits, which a zombie never does.
    const killed = stack.killReplica(options.service.name, replica.index, options.signal);
    if (options.awaitBack) {
      await killed;
      await waitFor(
        'the replacement to be healthy',
        () => replica.healthy && replica.pid !== oldPid,
        bound + 10_000,
      );
      backAfterMs = performance.now() - killedAt;
    } else {
      await new Promise((resolve) => setTimeout(resolve, bound + 500));
    }
    // Some load on the healed group too.
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    done = true;
  }
  const result = await load;
  delay.disable();
  return {
    killedAt,
    takenOutAt: log.when(`target ${replica.target}: healthy -> unhealthy`, killedAt),
    boundMs: bound,
    load: result,
    loopDelayMaxMs: delay.max / 1e6,
    backAfterMs,
  };
}

describe('SIGKILL of a book-service replica under load', () => {
  const suite = stackForSuite({ healthCheckScale: SCALE });

  it('is taken out within the health-check bound, and nothing fails after', async () => {
    const { stack, log } = suite;
    const report = await failover(stack, log, {
      service: books,
      url: `${stack.apiUrl}${books.pathPrefix}`,
      signal: 'SIGKILL',
      awaitBack: true,
    });
    const takenOut = (report.takenOutAt ?? Number.NaN) - report.killedAt;
    const lastFailure = Math.max(...report.load.failures.map((f) => f.end - report.killedAt));
    console.log(
      `SIGKILL failover: ${report.load.requests} requests, ${report.load.failures.length} failed ` +
        `(${describeFailures(report.load.failures, 2)}); taken out after ${ms(takenOut)} ` +
        `(bound ${ms(report.boundMs)}); last failure answered ${ms(lastFailure)} after the kill; ` +
        `replacement healthy after ${ms(report.backAfterMs ?? Number.NaN)}; ` +
        `event-loop delay max ${ms(report.loopDelayMaxMs)}`,
    );
    expect(failoverViolations(report)).toEqual([]);
    // Not sooner than the thresholds allow either: it was the health checks that took it out.
    const interval = books.health.intervalMs * SCALE;
    expect(takenOut).toBeGreaterThanOrEqual((books.health.unhealthyThreshold - 1) * interval - 50);
    // A dead target refuses connections: every failure is the ALB's 502, none a client error.
    expect(new Set(report.load.failures.map((f) => f.status))).toEqual(
      new Set(report.load.failures.length > 0 ? [502] : []),
    );
  }, 30_000);
});

describe('the same property on a deliberately broken service', () => {
  const fixture = fixtureWorkspace({ realServices: false });
  afterAll(() => fixture.remove());

  it('fails for a zombie whose health check passes while it serves nothing', async () => {
    const log = stackLog();
    const stack = await startLocalStack({
      root: fixture.root,
      apiPort: 0,
      healthCheckScale: SCALE,
      replicaOutput: 'ignore',
      parameters: NO_THROTTLING,
      log: log.log,
    });
    try {
      const service = loadWorkspace(fixture.root).services.find((s) => s.name === FIXTURE_SERVICE);
      if (!service) throw new Error('the fixture workspace lacks its service');
      const report = await failover(stack, log, {
        service,
        url: `${stack.apiUrl}${FIXTURE_PATH}`,
        signal: 'SIGUSR2',
        awaitBack: false,
      });
      const violations = failoverViolations(report).join('\n');
      expect(violations).toMatch(/never taken out/);
      expect(violations).toMatch(/requests sent after the target was out failed: 502/);
    } finally {
      await stack.stop();
      expect(livePids(startedPids(log))).toEqual([]);
    }
  }, 30_000);
});
