// The local stack's start-up watch (scripts/local/ecs/startup.ts) at its edges, on vitest's
// fake timers: once it has its answer it holds no timer (a stack started and stopped lets its
// process exit at once, not when the grace period would have ended), and a replica whose task
// has not been placed yet (its launch awaits a free port, or failed) is waited for and named,
// not an error. startup-watch.test.ts covers its verdicts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Target, TargetGroup } from '../../scripts/local/alb/target-group.ts';
import { StartupWatch } from '../../scripts/local/ecs/startup.ts';
import { Replica } from '../../scripts/local/ecs/supervisor.ts';
import { loadWorkspace, repoRoot, type Service } from '../../scripts/workspace/manifests.ts';
import { testHealthCheck } from './health-settings.ts';

const service = loadWorkspace().services[0] as Service;
const GRACE_MS = 60_000;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Two replicas of the service; the first has a task (a target), the second none yet. */
function setup() {
  const group = new TargetGroup(service.name, testHealthCheck(service.health.path), 0, {
    onStateChange: () => {},
  });
  const placed = new Replica(service, 0);
  const target = new Target(40_000);
  placed.target = target;
  placed.port = target.port;
  target.state = 'initial';
  const unplaced = new Replica(service, 1);
  const watch = new StartupWatch(
    [placed, unplaced],
    new Map([[service.name, group]]),
    repoRoot,
    GRACE_MS,
  );
  return { watch, placed, unplaced, target };
}

describe('the start-up watch', () => {
  it('holds no timer once every replica is healthy', async () => {
    const s = setup();
    const target = new Target(40_001);
    target.state = 'healthy';
    s.unplaced.target = target;
    s.target.state = 'healthy';
    expect(vi.getTimerCount()).toBe(1);
    s.watch.check();
    expect(await s.watch.done).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('holds no timer once a replica has failed the start', async () => {
    const s = setup();
    s.watch.exitedBeforeListening(s.placed, 'code 1');
    expect(await s.watch.done).toMatch(/exited \(code 1\) before it listened/);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits for a replica with no task yet, after a healthy one', () => {
    const s = setup();
    s.target.state = 'healthy';
    s.watch.check();
    expect(s.watch.active).toBe(true);
  });

  it('judges the checks of the replicas placed while another has no task yet', () => {
    const s = setup();
    s.target.lastCheck = { passed: false, status: 503 };
    s.watch.check();
    expect(s.watch.active).toBe(true);
  });

  it('names a replica whose task never started in its report past the grace period', async () => {
    const s = setup();
    s.placed.child = { exitCode: null, signalCode: null } as never;
    vi.advanceTimersByTime(GRACE_MS);
    const report = await s.watch.done;
    expect(report).toContain(`  ${service.name}/0 (127.0.0.1:40000): initial`);
    // A replica with no task has no address yet: none is printed.
    expect(report).toContain(`\n  ${service.name}/1: not running\n`);
  });
});
