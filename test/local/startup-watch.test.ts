// The local stack's start-up verdict (scripts/local/ecs/startup.ts) over replicas and a target
// group the test sets up, no process started: ready once every replica's target is healthy; a
// failure reported as soon as it is certain (a replica that exits before it listens, with its
// last output; a health check the service answers with a client error, with the manifest to
// fix) and not before (a 5xx, a timeout, a 408 or a 429 may still pass); and, past the grace
// period, what each replica still lacks.
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Target, TargetGroup } from '../../scripts/local/alb/target-group.ts';
import { StartupWatch } from '../../scripts/local/ecs/startup.ts';
import { Replica } from '../../scripts/local/ecs/supervisor.ts';
import { loadWorkspace, repoRoot, type Service } from '../../scripts/workspace/manifests.ts';
import { testHealthCheck } from './health-settings.ts';

const service = loadWorkspace().services[0] as Service;

let watch: StartupWatch | undefined;
afterEach(() => {
  // Settles the watch, clearing its grace timer.
  if (watch?.active)
    (watch as unknown as { finish(e: string | undefined): void }).finish(undefined);
  watch = undefined;
});

function setup(graceMs = 60_000) {
  const group = new TargetGroup(service.name, testHealthCheck(service.health.path), 0, {
    onStateChange: () => {},
  });
  const replicas = [new Replica(service, 0), new Replica(service, 1)];
  replicas.forEach((replica, i) => {
    const target = new Target(40_000 + i);
    replica.target = target;
    replica.port = target.port;
    target.state = 'initial';
  });
  watch = new StartupWatch(replicas, new Map([[service.name, group]]), repoRoot, graceMs);
  const w = watch;
  const [first, second] = replicas as [Replica, Replica];
  return { watch: w, first, second, target: (r: Replica) => r.target as Target };
}

describe('start-up', () => {
  it('is done once every target is healthy, and only then', async () => {
    const s = setup();
    s.target(s.first).state = 'healthy';
    s.watch.check();
    expect(s.watch.active).toBe(true);
    s.target(s.second).state = 'healthy';
    s.watch.check();
    expect(s.watch.active).toBe(false);
    expect(await s.watch.done).toBeUndefined();
  });

  it('fails at once on a health check the service answers with a client error', async () => {
    const s = setup();
    s.target(s.second).lastCheck = { passed: false, status: 404 };
    s.watch.check();
    expect(await s.watch.done).toBe(
      `${service.name}/1 fails its health check: GET ${service.health.path} answered 404 (success codes: 200).\n` +
        `The path and the success codes come from ${service.manifestFile.replace(`${repoRoot}/`, '')} (http.healthcheck): is the path one the service serves?`,
    );
  });

  it('waits on a check that may still pass: a 5xx, a timeout, a 408 or 429, a 3xx, a pass', () => {
    for (const outcome of [
      { passed: false, status: 500 },
      { passed: false, status: 503 },
      { passed: false, status: 408 },
      { passed: false, status: 429 },
      { passed: false, status: 399 },
      { passed: false, status: 302 },
      { passed: true, status: 404 },
      { passed: false, error: 'timeout' },
      { passed: false, error: 'refused' },
    ] as const) {
      const s = setup();
      s.target(s.first).lastCheck = outcome;
      s.watch.check();
      expect({ outcome, active: s.watch.active }).toEqual({ outcome, active: true });
    }
    for (const status of [400, 401, 403, 405, 499]) {
      const s = setup();
      s.target(s.first).lastCheck = { passed: false, status };
      s.watch.check();
      expect({ status, active: s.watch.active }).toEqual({ status, active: false });
    }
  });

  it('fails at once on a replica that exits before it listened, with its last output', async () => {
    const s = setup();
    s.first.keepOutput('Error: Cannot find module x');
    expect(s.watch.exitedBeforeListening(s.first, 'code 1')).toBe(true);
    const failure = await s.watch.done;
    expect(failure).toBe(
      `${service.name}/0 exited (code 1) before it listened on port 40000. Its last output:\n` +
        '    | Error: Cannot find module x\n' +
        `Run the service alone to see why: PORT=3999 npx node ${service.sourceDir.replace(`${repoRoot}/`, '')}/src/server.ts`,
    );
    // Once settled, later events change nothing.
    expect(s.watch.exitedBeforeListening(s.second, 'code 2')).toBe(false);
    s.target(s.second).lastCheck = { passed: false, status: 404 };
    s.watch.check();
    expect(await s.watch.done).toBe(failure);
  });

  it('says when an exiting replica printed nothing', async () => {
    const s = setup();
    s.watch.exitedBeforeListening(s.second, 'SIGKILL');
    expect(await s.watch.done).toMatch(/before it listened on port 40001\. It printed nothing\.\n/);
  });

  it('reports, past the grace period, what each replica not healthy still lacks', async () => {
    const s = setup(5);
    s.target(s.first).reason = 'Elb.InitialHealthChecking';
    s.first.child = { exitCode: null, signalCode: null } as ChildProcess;
    s.target(s.second).reason = 'Target.Timeout';
    s.target(s.second).state = 'unhealthy';
    s.target(s.second).lastCheck = { passed: false, error: 'timeout' };
    s.second.keepOutput('warming up');
    const report = await s.watch.done;
    expect(report).toBe(
      `The local stack did not become healthy within 5 ms (the manifests' health-check grace period):\n` +
        `  ${service.name}/0 (127.0.0.1:40000): initial Elb.InitialHealthChecking; GET ${service.health.path}: no answer yet\n` +
        `  ${service.name}/1 (127.0.0.1:40001): not running\n    | warming up\n` +
        'Run the service alone to see why: PORT=3999 npx node services/<name>/src/server.ts',
    );
  });

  it('leaves a healthy replica out of the report', async () => {
    const s = setup(5);
    s.target(s.first).state = 'healthy';
    expect(await s.watch.done).not.toContain(`${service.name}/0`);
  });
});
