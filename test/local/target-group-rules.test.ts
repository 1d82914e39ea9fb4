// The target group's rules, each at its exact edge, on a clock and health checks the test
// drives (ELB's "Health checks for Application Load Balancer target groups" and "Deregistration
// delay" pages): a new target serves after ONE passing check; an unhealthy one after exactly
// `healthyThreshold` consecutive passes; a target goes out after exactly `unhealthyThreshold`
// consecutive failures; the group fails open to unhealthy targets when no target is healthy;
// a draining target never gets a new request, and is gone when its requests end or when the
// deregistration delay passes, whichever comes first. target-group.test.ts checks the same
// model against a real HTTP server; here no threshold can be off by one unnoticed.
import { describe, expect, it } from 'vitest';
import type { ProbeAnswer } from '../../scripts/local/alb/health-check.ts';
import {
  STARTUP_PROBE_MS,
  Target,
  TargetGroup,
  type TargetState,
} from '../../scripts/local/alb/target-group.ts';
import { ManualClock } from './manual-clock.ts';

const INTERVAL_MS = 1_000;
// Longer than the checks any test runs while a target drains.
const DELAY_MS = 30_000;
const HEALTH = {
  path: '/health',
  successCodes: [200],
  // Distinct from each other and from 1, so no rule can pass by using another's number.
  healthyThreshold: 3,
  unhealthyThreshold: 4,
  intervalMs: INTERVAL_MS,
  timeoutMs: 500,
};

/**
 * A group whose targets answer what `answers` says, one check at a time. While `hold` is on,
 * each check waits for `releaseHeld()` before it answers (a check in flight).
 */
function setup(health: typeof HEALTH = HEALTH) {
  const clock = new ManualClock();
  const answers = new Map<number, ProbeAnswer>();
  const checks = new Map<number, number>();
  const transitions: string[] = [];
  /** Ports, in the order the group reported a counted check. */
  const counted: number[] = [];
  let held: (() => void)[] = [];
  let hold = false;
  const group = new TargetGroup(
    'svc',
    health,
    DELAY_MS,
    {
      onStateChange: (_g, target, from: TargetState) =>
        transitions.push(`${target.port}: ${from} -> ${target.state}`),
      onCheck: (_g, target) => counted.push(target.port),
    },
    {
      clock,
      probe: async (port) => {
        checks.set(port, (checks.get(port) ?? 0) + 1);
        if (hold) await new Promise<void>((resolve) => held.push(resolve));
        return answers.get(port) ?? { status: 200 };
      },
    },
  );
  const add = (port: number, answer: ProbeAnswer = { status: 200 }): Target => {
    const target = new Target(port);
    answers.set(port, answer);
    group.add(target);
    group.register(target);
    return target;
  };
  /** The first check runs at once on register; each later one an interval after the last. */
  const checksPass = (n: number) => clock.advance(n * INTERVAL_MS);
  const holdChecks = (on: boolean) => {
    hold = on;
  };
  /** Lets every held check answer, and the group hear it. */
  const releaseHeld = async () => {
    const waiting = held;
    held = [];
    for (const resolve of waiting) resolve();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    clock,
    group,
    answers,
    checks,
    transitions,
    counted,
    add,
    checksPass,
    holdChecks,
    releaseHeld,
  };
}

/** A healthy target with one request in flight. */
async function busyTarget(s: ReturnType<typeof setup>): Promise<Target> {
  const target = s.add(1);
  await s.clock.advance(0);
  expect(s.group.pick()).toBe(target);
  return target;
}

/** A target that has been healthy, then failed `unhealthyThreshold` checks. */
async function unhealthyTarget(s: ReturnType<typeof setup>, port: number): Promise<Target> {
  const target = s.add(port);
  await s.clock.advance(0);
  s.answers.set(port, { status: 500 });
  await s.checksPass(HEALTH.unhealthyThreshold);
  expect(target.state).toBe('unhealthy');
  return target;
}

describe('health thresholds, exactly', () => {
  it('a new target is healthy after one passing check', async () => {
    const s = setup();
    const target = s.add(1);
    expect(target.state).toBe('initial');
    await s.clock.advance(0);
    expect(s.checks.get(1)).toBe(1);
    expect(target.state).toBe('healthy');
    expect(s.transitions).toEqual(['1: unused -> initial', '1: initial -> healthy']);
  });

  it(`out after exactly ${HEALTH.unhealthyThreshold} consecutive failures, not one fewer`, async () => {
    const s = setup();
    const target = s.add(1);
    await s.clock.advance(0);
    s.answers.set(1, { status: 500 });
    await s.checksPass(HEALTH.unhealthyThreshold - 1);
    expect(target.state).toBe('healthy');
    expect(s.group.pick()).toBe(target);
    s.group.release(target);
    await s.checksPass(1);
    expect(target.state).toBe('unhealthy');
    expect(target.reason).toBe('Target.ResponseCodeMismatch');
  });

  it('a pass in between starts the failure count again', async () => {
    const s = setup();
    const target = s.add(1);
    await s.clock.advance(0);
    s.answers.set(1, { status: 500 });
    await s.checksPass(HEALTH.unhealthyThreshold - 1);
    s.answers.set(1, { status: 200 });
    await s.checksPass(1);
    s.answers.set(1, { error: 'timeout' });
    await s.checksPass(HEALTH.unhealthyThreshold - 1);
    expect(target.state).toBe('healthy');
    await s.checksPass(1);
    expect(target.state).toBe('unhealthy');
    expect(target.reason).toBe('Target.Timeout');
  });

  it(`back after exactly ${HEALTH.healthyThreshold} consecutive passes, not one fewer`, async () => {
    const s = setup();
    const target = await unhealthyTarget(s, 1);
    s.answers.set(1, { status: 200 });
    await s.checksPass(HEALTH.healthyThreshold - 1);
    expect(target.state).toBe('unhealthy');
    await s.checksPass(1);
    expect(target.state).toBe('healthy');
  });

  it('a failure in between starts the pass count again', async () => {
    const s = setup();
    const target = await unhealthyTarget(s, 1);
    s.answers.set(1, { status: 200 });
    await s.checksPass(HEALTH.healthyThreshold - 1);
    s.answers.set(1, { status: 503 });
    await s.checksPass(1);
    s.answers.set(1, { status: 200 });
    await s.checksPass(HEALTH.healthyThreshold - 1);
    expect(target.state).toBe('unhealthy');
    await s.checksPass(1);
    expect(target.state).toBe('healthy');
  });

  it('a new target that refuses connections is still starting: not failed, probed again soon', async () => {
    const s = setup();
    const target = s.add(1, { error: 'refused' });
    // Far more refusals than the unhealthy threshold, within one interval.
    await s.clock.advance(INTERVAL_MS);
    expect(s.checks.get(1)).toBeGreaterThan(HEALTH.unhealthyThreshold * 2);
    expect(target.state).toBe('initial');
    s.answers.set(1, { status: 200 });
    await s.clock.advance(INTERVAL_MS / 10);
    expect(target.state).toBe('healthy');
  });
});

describe('where requests go', () => {
  it('fails open to unhealthy targets only while none is healthy', async () => {
    const s = setup();
    const sick = await unhealthyTarget(s, 1);
    expect(s.group.pick()).toBe(sick);
    s.group.release(sick);
    const well = s.add(2);
    await s.clock.advance(0);
    for (let i = 0; i < 4; i++) {
      expect(s.group.pick()).toBe(well);
      s.group.release(well);
    }
  });

  it('nowhere before anything is registered; checks need no onCheck listener', async () => {
    const clock = new ManualClock();
    const quiet = new TargetGroup(
      'svc',
      HEALTH,
      DELAY_MS,
      { onStateChange: () => {} },
      {
        clock,
        probe: async () => ({ status: 200 }),
      },
    );
    expect(quiet.pick()).toBeUndefined();
    const target = new Target(1);
    quiet.add(target);
    quiet.register(target);
    await clock.advance(INTERVAL_MS);
    expect(target.state).toBe('healthy');
    expect(quiet.pick()).toBe(target);
    quiet.close();
  });

  it('nowhere while every target is still initial', async () => {
    const s = setup();
    s.add(1, { error: 'refused' });
    s.add(2, { error: 'refused' });
    await s.clock.advance(INTERVAL_MS);
    expect(s.group.pick()).toBeUndefined();
  });

  it('never to a draining target, even the last one left', async () => {
    const s = setup();
    const a = s.add(1);
    const b = s.add(2);
    await s.clock.advance(0);
    const busy = s.group.pick() as Target;
    void s.group.deregister(busy);
    expect(busy.state).toBe('draining');
    const checksAtDeregistration = s.checks.get(busy.port);
    const other = busy === a ? b : a;
    for (let i = 0; i < 4; i++) {
      expect(s.group.pick()).toBe(other);
      s.group.release(other);
    }
    // The other one unhealthy: the group fails open, but not to the draining target.
    s.answers.set(other.port, { status: 500 });
    await s.checksPass(HEALTH.unhealthyThreshold);
    expect(other.state).toBe('unhealthy');
    expect(s.group.pick()).toBe(other);
    s.group.release(other);
    void s.group.deregister(other);
    expect(s.group.pick()).toBeUndefined();
    // A draining target is checked no more, so nothing brings it back.
    await s.checksPass(HEALTH.healthyThreshold + 1);
    expect(busy.state).toBe('draining');
    expect(s.checks.get(busy.port)).toBe(checksAtDeregistration);
  });
});

describe('the deregistration delay', () => {
  it('ends draining when the delay passes, with a request still in flight', async () => {
    const s = setup();
    const target = await busyTarget(s);
    let drained = false;
    void s.group.deregister(target).then(() => {
      drained = true;
    });
    await s.clock.advance(DELAY_MS - 1);
    expect(target.state).toBe('draining');
    expect(drained).toBe(false);
    await s.clock.advance(1);
    expect(target.state).toBe('unused');
    expect(drained).toBe(true);
  });

  it('ends draining as soon as the last request ends, before the delay', async () => {
    const s = setup();
    const target = await busyTarget(s);
    let drained = false;
    void s.group.deregister(target).then(() => {
      drained = true;
    });
    await s.clock.advance(DELAY_MS / 2);
    s.group.release(target);
    await s.clock.advance(0);
    expect(target.state).toBe('unused');
    expect(drained).toBe(true);
  });

  it('with nothing in flight, deregistration is immediate', async () => {
    const s = setup();
    const target = s.add(1);
    await s.clock.advance(0);
    await s.group.deregister(target);
    expect(target.state).toBe('unused');
  });
});

describe('what the log and the console say of the last check', () => {
  it('names the request, its answer and, for a failure, the success codes or the cause', async () => {
    const s = setup();
    const cases: [ProbeAnswer, string][] = [
      [{ status: 200 }, 'GET /health answered 200'],
      [{ status: 404 }, 'GET /health answered 404 (success codes: 200)'],
      [{ error: 'timeout' }, 'GET /health timed out after 500 ms'],
      [{ error: 'refused' }, 'GET /health: connection refused'],
      [{ error: 'socket hang up' }, 'GET /health: socket hang up'],
    ];
    const fresh = s.add(1);
    expect(s.group.describeLastCheck(fresh)).toBe('GET /health: no answer yet');
    // Each answer comes to a target that has served (a refused connection from one that is
    // still starting is not counted as a check).
    const targets = cases.map((_, index) => s.add(10 + index));
    await s.clock.advance(0);
    for (const [index, [answer]] of cases.entries()) s.answers.set(10 + index, answer);
    await s.checksPass(1);
    expect(targets.map((t) => s.group.describeLastCheck(t))).toEqual(cases.map(([, said]) => said));
  });

  it('forgets a removed target: it is no longer listed or checked', async () => {
    const s = setup();
    const kept = s.add(1);
    const removed = s.add(2);
    await s.clock.advance(0);
    s.group.remove(removed);
    expect(s.group.targets).toEqual([kept]);
    const before = s.checks.get(2);
    await s.checksPass(3);
    expect(s.checks.get(2)).toBe(before);
    expect(s.checks.get(1)).toBe(4);
  });
});

describe('round robin', () => {
  it('takes the healthy targets in turn, in registration order', async () => {
    const s = setup();
    const targets = [s.add(1), s.add(2), s.add(3)];
    await s.clock.advance(0);
    const picked = Array.from({ length: 7 }, () => {
      const target = s.group.pick() as Target;
      s.group.release(target);
      return target.port;
    });
    expect(picked).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(targets.map((t) => t.inFlight)).toEqual([0, 0, 0]);
  });
});

describe('reason codes, as TargetHealth reports them', () => {
  it('for each state a target passes through', async () => {
    const s = setup();
    const target = new Target(1);
    expect([target.state, target.reason]).toEqual(['unused', 'Target.NotRegistered']);
    s.group.add(target);
    s.group.register(target);
    expect([target.state, target.reason]).toEqual(['initial', 'Elb.InitialHealthChecking']);
    await s.clock.advance(0);
    expect([target.state, target.reason]).toEqual(['healthy', '']);
    expect(s.group.pick()).toBe(target);
    void s.group.deregister(target);
    expect([target.state, target.reason]).toEqual(['draining', 'Target.DeregistrationInProgress']);
    s.group.release(target);
    expect([target.state, target.reason]).toEqual(['unused', 'Target.NotRegistered']);
  });

  it('while unhealthy, the reason follows the latest failure', async () => {
    const s = setup();
    const target = await unhealthyTarget(s, 1);
    expect(target.reason).toBe('Target.ResponseCodeMismatch');
    s.answers.set(1, { error: 'timeout' });
    await s.checksPass(1);
    expect(target.reason).toBe('Target.Timeout');
    s.answers.set(1, { error: 'refused' });
    await s.checksPass(1);
    expect(target.reason).toBe('Target.FailedHealthChecks');
    expect(target.state).toBe('unhealthy');
  });

  it('while unhealthy, a failure after a pass updates the reason too', async () => {
    const s = setup();
    const target = await unhealthyTarget(s, 1);
    s.answers.set(1, { status: 200 });
    await s.checksPass(1);
    s.answers.set(1, { error: 'timeout' });
    await s.checksPass(1);
    expect([target.state, target.reason]).toEqual(['unhealthy', 'Target.Timeout']);
  });

  it('a healthy target keeps no reason while it fails fewer checks than the threshold', async () => {
    const s = setup();
    const target = s.add(1);
    await s.clock.advance(0);
    s.answers.set(1, { status: 500 });
    await s.checksPass(HEALTH.unhealthyThreshold - 1);
    expect([target.state, target.reason]).toEqual(['healthy', '']);
  });
});

describe('a target that stops answering', () => {
  it('is out after the threshold once it has answered, whatever the error', async () => {
    const s = setup();
    const target = s.add(1);
    await s.clock.advance(0);
    s.answers.set(1, { error: 'refused' });
    await s.checksPass(HEALTH.unhealthyThreshold);
    expect([target.state, target.reason]).toEqual(['unhealthy', 'Target.FailedHealthChecks']);
  });

  // Either first answer means the task was listening: a refusal after it is a failure.
  it.each([
    ['a failing answer', { status: 500 }],
    ['a timeout', { error: 'timeout' }],
  ] as const)('counts a refusal after %s', async (_, first: ProbeAnswer) => {
    const s = setup();
    const target = s.add(1, first);
    await s.clock.advance(0);
    s.answers.set(1, { error: 'refused' });
    await s.checksPass(HEALTH.unhealthyThreshold - 1);
    expect(target.state).toBe('unhealthy');
  });

  it('a new target that only times out goes unhealthy at the threshold', async () => {
    const s = setup();
    const target = s.add(1, { error: 'timeout' });
    await s.clock.advance(0);
    await s.checksPass(HEALTH.unhealthyThreshold - 2);
    expect(target.state).toBe('initial');
    await s.checksPass(1);
    expect([target.state, target.reason]).toEqual(['unhealthy', 'Target.Timeout']);
  });

  it('while starting, is probed every STARTUP_PROBE_MS, one timer at a time', async () => {
    const s = setup();
    s.add(1, { error: 'refused' });
    await s.clock.advance(INTERVAL_MS);
    expect(s.checks.get(1)).toBe(INTERVAL_MS / STARTUP_PROBE_MS + 1);
  });
});

describe('checks in flight, registration and closing', () => {
  it('a check that answers after deregistration counts for nothing', async () => {
    const s = setup();
    const target = s.add(1);
    await s.clock.advance(0);
    s.holdChecks(true);
    s.answers.set(1, { status: 500 });
    await s.checksPass(1);
    await s.group.deregister(target);
    const countedBefore = s.counted.length;
    await s.releaseHeld();
    expect(target.state).toBe('unused');
    expect(target.lastCheck).toEqual({ passed: true, status: 200 });
    expect(s.counted).toHaveLength(countedBefore);
  });

  it('a check that answers while the target drains counts for nothing', async () => {
    const s = setup();
    const target = await busyTarget(s);
    s.holdChecks(true);
    s.answers.set(1, { status: 500 });
    await s.checksPass(1);
    void s.group.deregister(target);
    const countedBefore = s.counted.length;
    await s.releaseHeld();
    expect(target.state).toBe('draining');
    expect(s.counted).toHaveLength(countedBefore);
    s.group.release(target);
  });

  it('a start-up refusal that answers after close starts no probing', async () => {
    const s = setup();
    s.add(1, { error: 'refused' });
    s.holdChecks(true);
    await s.clock.advance(0);
    s.group.close();
    await s.releaseHeld();
    s.holdChecks(false);
    const checksBefore = s.checks.get(1);
    await s.checksPass(2);
    expect(s.checks.get(1)).toBe(checksBefore);
  });

  it('a refusal that answers after deregistration during start-up starts no probing', async () => {
    const s = setup();
    const target = s.add(1, { error: 'refused' });
    s.holdChecks(true);
    await s.clock.advance(0);
    await s.group.deregister(target);
    await s.releaseHeld();
    s.holdChecks(false);
    const checksBefore = s.checks.get(1);
    await s.checksPass(2);
    expect(s.checks.get(1)).toBe(checksBefore);
    expect(target.state).toBe('unused');
  });

  it('registering twice restarts the checks: one check per interval, no self-transition', async () => {
    const s = setup();
    const target = s.add(1, { status: 500 });
    s.group.register(target);
    await s.clock.advance(0);
    const first = s.checks.get(1) ?? 0;
    // Fewer failures in all than the unhealthy threshold: still initial.
    await s.checksPass(2);
    expect((s.checks.get(1) ?? 0) - first).toBe(2);
    expect(s.transitions).toEqual(['1: unused -> initial']);
  });

  it('a target registered again while draining is not ended by its old drain', async () => {
    const s = setup();
    const target = await busyTarget(s);
    void s.group.deregister(target);
    s.group.register(target);
    await s.clock.advance(0);
    expect(target.state).toBe('healthy');
    s.group.release(target);
    expect(target.state).toBe('healthy');
  });

  it('draining lasts until the last of several requests ends', async () => {
    const s = setup();
    const target = s.add(1);
    await s.clock.advance(0);
    expect([s.group.pick(), s.group.pick()]).toEqual([target, target]);
    void s.group.deregister(target);
    s.group.release(target);
    expect(target.state).toBe('draining');
    s.group.release(target);
    expect(target.state).toBe('unused');
  });

  it("the first drain's delay does not end a second drain of a target registered again", async () => {
    const s = setup();
    const target = await busyTarget(s);
    // Deregistered with a request in flight, then registered again before it ends.
    void s.group.deregister(target);
    s.group.register(target);
    await s.clock.advance(0);
    expect(target.state).toBe('healthy');
    await s.clock.advance(DELAY_MS / 2);
    let drained = false;
    void s.group.deregister(target).then(() => {
      drained = true;
    });
    // The first drain's timer fires here; the second drain has half its delay left.
    await s.clock.advance(DELAY_MS / 2);
    expect(target.state).toBe('draining');
    expect(drained).toBe(false);
    await s.clock.advance(DELAY_MS / 2);
    expect(drained).toBe(true);
  });

  it('a second deregistration gets its own full delay, not what is left of the first', async () => {
    const s = setup();
    const target = await busyTarget(s);
    void s.group.deregister(target);
    await s.clock.advance(DELAY_MS / 2);
    s.group.release(target);
    expect(target.state).toBe('unused');
    s.group.register(target);
    await s.clock.advance(0);
    expect(s.group.pick()).toBe(target);
    let drained = false;
    void s.group.deregister(target).then(() => {
      drained = true;
    });
    // Where the first drain's timer would have fired.
    await s.clock.advance(DELAY_MS / 2 + 1);
    expect(drained).toBe(false);
    expect(target.state).toBe('draining');
    await s.clock.advance(DELAY_MS / 2);
    expect(drained).toBe(true);
  });

  it('deregistering an unused or draining target changes nothing', async () => {
    const s = setup();
    const idle = new Target(1);
    s.group.add(idle);
    await s.group.deregister(idle);
    expect(idle.state).toBe('unused');
    const busy = s.add(2);
    await s.clock.advance(0);
    expect(s.group.pick()).toBe(busy);
    let drained = 0;
    void s.group.deregister(busy).then(() => drained++);
    await s.group.deregister(busy);
    expect(busy.state).toBe('draining');
    expect(drained).toBe(0);
    expect(s.transitions.filter((t) => t.startsWith('1:'))).toEqual([]);
  });

  it('after close, nothing is checked or registered, drains end, connections are closed', async () => {
    const s = setup();
    const target = await busyTarget(s);
    let drained = false;
    void s.group.deregister(target).then(() => {
      drained = true;
    });
    const other = s.add(2);
    await s.clock.advance(0);
    s.group.close();
    await s.clock.advance(0);
    expect(drained).toBe(true);
    expect([target.pool.destroyed, other.pool.destroyed]).toEqual([true, true]);
    const checks = [s.checks.get(1), s.checks.get(2)];
    await s.checksPass(3);
    expect([s.checks.get(1), s.checks.get(2)]).toEqual(checks);
    const late = new Target(3);
    s.group.add(late);
    s.group.register(late);
    expect(late.state).toBe('unused');
  });

  it('a check in flight at close counts for nothing', async () => {
    const s = setup();
    const target = s.add(1);
    await s.clock.advance(0);
    s.holdChecks(true);
    s.answers.set(1, { status: 500 });
    await s.checksPass(1);
    s.group.close();
    const counted = s.counted.length;
    await s.releaseHeld();
    expect(s.counted).toHaveLength(counted);
    expect(target.lastCheck).toEqual({ passed: true, status: 200 });
  });

  it('removing a target closes its connections; removing an unknown one keeps the rest', async () => {
    const s = setup();
    const a = s.add(1);
    const b = s.add(2);
    const stranger = new Target(3);
    s.group.remove(stranger);
    expect(s.group.targets).toEqual([a, b]);
    expect(stranger.pool.destroyed).toBe(true);
    s.group.remove(a);
    expect(a.pool.destroyed).toBe(true);
    expect(b.pool.destroyed).toBe(false);
    s.group.close();
  });
});

describe('the success codes in a failed check', () => {
  it('lists every code, comma-separated', async () => {
    const s = setup({ ...HEALTH, successCodes: [200, 204] });
    const target = s.add(1, { status: 500 });
    await s.clock.advance(0);
    expect(s.group.describeLastCheck(target)).toBe(
      'GET /health answered 500 (success codes: 200, 204)',
    );
  });

  // success_codes: 200-299 (a range, as ELB's Matcher takes it) is a hundred codes.
  it('shows a range as one, and passes every code in it', async () => {
    const codes = Array.from({ length: 100 }, (_, i) => 200 + i);
    const s = setup({ ...HEALTH, successCodes: codes });
    const failing = s.add(1, { status: 300 });
    const passing = s.add(2, { status: 299 });
    await s.clock.advance(0);
    expect(s.group.describeLastCheck(failing)).toBe(
      'GET /health answered 300 (success codes: 200-299)',
    );
    expect(s.group.describeLastCheck(passing)).toBe('GET /health answered 299');
  });
});
