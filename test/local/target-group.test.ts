// The target group's health model, against Elastic Load Balancing's documentation ("Health
// checks for Application Load Balancer target groups"): a newly registered target is healthy
// after ONE passing check; an unhealthy one comes back after `healthyThreshold` consecutive
// passes; `unhealthyThreshold` consecutive failures take a target out; only unhealthy
// targets registered: the group fails open to them; none healthy or unhealthy (none
// registered, or all still initial): nothing to route to, the ALB's 503.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Target, TargetGroup, type TargetState } from '../../scripts/local/alb/target-group.ts';
import { waitFor } from '../helpers/wait.ts';

const HEALTH = {
  path: '/health',
  successCodes: [200],
  // Distinct from 1, so "one check" and "the threshold" cannot be confused.
  healthyThreshold: 3,
  unhealthyThreshold: 2,
  intervalMs: 100,
  // As long as the interval: a check slowed by a busy machine (the full suite on 2 cores)
  // must not count as a failure, which these tests do not expect.
  timeoutMs: 100,
};

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

function group(): { group: TargetGroup; transitions: string[] } {
  const transitions: string[] = [];
  const g = new TargetGroup('svc', HEALTH, 100, {
    onStateChange: (_g, target, from: TargetState) =>
      transitions.push(`${from} -> ${target.state} after ${checks} checks`),
  });
  return { group: g, transitions };
}

/** A target registered with `g`, once healthy, then made unhealthy (the server answers 500). */
async function sickTarget(g: TargetGroup): Promise<Target> {
  const target = new Target(port);
  g.add(target);
  status = 200;
  g.register(target);
  await waitFor('healthy', () => target.state === 'healthy', 2_000);
  status = 500;
  checks = 0;
  await waitFor('unhealthy', () => target.state === 'unhealthy', 2_000);
  return target;
}

describe('target health', () => {
  it('a new target is healthy after one passing check, not the healthy threshold', async () => {
    const { group: g, transitions } = group();
    const target = new Target(port);
    g.add(target);
    status = 200;
    checks = 0;
    g.register(target);
    await waitFor('healthy', () => target.state === 'healthy', 2_000);
    g.close();
    expect(transitions).toEqual([
      'unused -> initial after 0 checks',
      'initial -> healthy after 1 checks',
    ]);
  });

  it('an unhealthy target needs the healthy threshold to come back', async () => {
    const { group: g, transitions } = group();
    const target = await sickTarget(g);
    expect(transitions.at(-1)).toBe(
      `healthy -> unhealthy after ${HEALTH.unhealthyThreshold} checks`,
    );
    expect(target.reason).toBe('Target.ResponseCodeMismatch');
    expect(g.describeLastCheck(target)).toBe('GET /health answered 500 (success codes: 200)');
    status = 200;
    checks = 0;
    await waitFor('healthy again', () => target.state === 'healthy', 2_000);
    g.close();
    expect(transitions.at(-1)).toBe(`unhealthy -> healthy after ${HEALTH.healthyThreshold} checks`);
  });
});

describe('where requests go', () => {
  it('nowhere with no target registered, or only initial ones; to unhealthy ones if that is all', async () => {
    const { group: g } = group();
    expect(g.pick()).toBeUndefined();
    // A target whose port refuses: it stays initial (a task still starting).
    const starting = new Target(1);
    g.add(starting);
    g.register(starting);
    expect(starting.state).toBe('initial');
    expect(g.pick()).toBeUndefined();
    // Fail open: only unhealthy targets registered, the group routes to them.
    const sick = await sickTarget(g);
    const picked = g.pick();
    expect(picked).toBe(sick);
    g.release(sick);
    g.close();
  });
});
