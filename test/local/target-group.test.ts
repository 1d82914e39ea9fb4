// The target group's health model, against Elastic Load Balancing's documentation ("Health
// checks for Application Load Balancer target groups"): a newly registered target is healthy
// after ONE passing check; an unhealthy one comes back after `healthyThreshold` consecutive
// passes; `unhealthyThreshold` consecutive failures take a target out; only unhealthy
// targets registered: the group fails open to them; none healthy or unhealthy (none
// registered, or all still initial): nothing to route to, the ALB's 503.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Clock,
  Target,
  TargetGroup,
  type TargetState,
} from '../../scripts/local/alb/target-group.ts';
import { waitFor } from '../helpers/wait.ts';

const HEALTH = {
  path: '/health',
  successCodes: [200],
  // Distinct from 1, so "one check" and "the threshold" cannot be confused.
  healthyThreshold: 3,
  unhealthyThreshold: 2,
  // The checks run when the test says (StepClock), so the interval is never waited for; the
  // timeout is a real one (the probe's own), long enough that no check times out on a busy
  // machine, which these tests do not expect.
  intervalMs: 1_000,
  timeoutMs: 10_000,
};

/** Each target's next check runs when the test calls `fire()`, never by itself. */
class StepClock implements Clock {
  private readonly timers = new Set<{ run: () => void }>();

  setTimeout(run: () => void): unknown {
    const timer = { run };
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(timer: unknown): void {
    this.timers.delete(timer as { run: () => void });
  }

  fire(): void {
    const due = [...this.timers];
    this.timers.clear();
    for (const timer of due) timer.run();
  }
}

let status = 200;
let checks = 0;
const server = http.createServer((req, res) => {
  if (req.url === HEALTH.path) checks++;
  res.writeHead(status).end();
});
let port: number;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

interface Stepped {
  group: TargetGroup;
  transitions: string[];
  /** Runs the next health check of every registered target and waits for its outcome. */
  step(): Promise<void>;
  /** Steps until `done`, at most `limit` checks. */
  stepUntil(done: () => boolean, limit?: number): Promise<void>;
}

function group(): Stepped {
  const transitions: string[] = [];
  const clock = new StepClock();
  let outcomes = 0;
  const g = new TargetGroup(
    'svc',
    HEALTH,
    100,
    {
      onStateChange: (_g, target, from: TargetState) =>
        transitions.push(`${from} -> ${target.state} after ${checks} checks`),
      onCheck: () => {
        outcomes++;
      },
    },
    { clock },
  );
  const step = async () => {
    const before = outcomes;
    clock.fire();
    await waitFor('a health check to be answered', () => outcomes > before);
  };
  const stepUntil = async (done: () => boolean, limit = 10) => {
    for (let i = 0; i < limit && !done(); i++) await step();
  };
  return { group: g, transitions, step, stepUntil };
}

/** A target registered with `g`, once healthy, then made unhealthy (the server answers 500). */
async function sickTarget(s: Stepped): Promise<Target> {
  const target = new Target(port);
  s.group.add(target);
  status = 200;
  s.group.register(target);
  await s.stepUntil(() => target.state === 'healthy');
  status = 500;
  checks = 0;
  await s.stepUntil(() => target.state === 'unhealthy');
  return target;
}

describe('target health', () => {
  it('a new target is healthy after one passing check, not the healthy threshold', async () => {
    const stepped = group();
    const { group: g, transitions } = stepped;
    const target = new Target(port);
    g.add(target);
    status = 200;
    checks = 0;
    g.register(target);
    await stepped.step();
    g.close();
    expect(transitions).toEqual([
      'unused -> initial after 0 checks',
      'initial -> healthy after 1 checks',
    ]);
  });

  it('an unhealthy target needs the healthy threshold to come back', async () => {
    const stepped = group();
    const { group: g, transitions } = stepped;
    const target = await sickTarget(stepped);
    expect(transitions.at(-1)).toBe(
      `healthy -> unhealthy after ${HEALTH.unhealthyThreshold} checks`,
    );
    expect(target.reason).toBe('Target.ResponseCodeMismatch');
    expect(g.describeLastCheck(target)).toBe('GET /health answered 500 (success codes: 200)');
    status = 200;
    checks = 0;
    await stepped.stepUntil(() => target.state === 'healthy');
    g.close();
    expect(transitions.at(-1)).toBe(`unhealthy -> healthy after ${HEALTH.healthyThreshold} checks`);
  });
});

describe('where requests go', () => {
  it('nowhere with no target registered, or only initial ones; to unhealthy ones if that is all', async () => {
    const stepped = group();
    const { group: g } = stepped;
    expect(g.pick()).toBeUndefined();
    // A target whose port refuses: it stays initial (a task still starting).
    const starting = new Target(1);
    g.add(starting);
    g.register(starting);
    expect(starting.state).toBe('initial');
    expect(g.pick()).toBeUndefined();
    // Fail open: only unhealthy targets registered, the group routes to them.
    const sick = await sickTarget(stepped);
    const picked = g.pick();
    expect(picked).toBe(sick);
    g.release(sick);
    g.close();
  });
});
