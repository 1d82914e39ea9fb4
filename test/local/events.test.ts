// The local stack's interface for a console (issue 16; scripts/local/events.ts): what it tells
// a listener (requests with the rule and target that served them, target state changes,
// health checks) and the actions a console offers (pause, resume, kill, probe the ALB).
import { describe, expect, it } from 'vitest';
import type { LocalStackEvent } from '../../scripts/local/index.ts';
import { request } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { manifestService } from '../helpers/workspace.ts';
import { stackForSuite } from './helpers.ts';

const books = manifestService('book-service');
const suite = stackForSuite({ healthCheckScale: 0.1 });

function listen(): { events: LocalStackEvent[]; stop: () => void } {
  const events: LocalStackEvent[] = [];
  const stop = suite.stack.observe((event) => events.push(event));
  return { events, stop };
}

describe('what a listener is told', () => {
  it('each API request, with its access-log fields, the rule and the target that served it', async () => {
    const { events, stop } = listen();
    const reply = await request(`${suite.stack.apiUrl}${books.pathPrefix}`);
    const missing = await request(`${suite.stack.apiUrl}/nowhere`);
    await waitFor(
      'two request events',
      () => events.filter((e) => e.type === 'request').length >= 2,
    );
    stop();
    const [served, notFound] = events.filter((e) => e.type === 'request');
    expect(served).toMatchObject({
      rule: 'book-service',
      target: reply.headers['x-local-target'],
      record: { status: 200, path: books.pathPrefix, httpMethod: 'GET', integrationStatus: 200 },
    });
    expect(served?.type === 'request' && served.record.requestId).toBe(
      reply.headers['apigw-requestid'],
    );
    expect(notFound).toMatchObject({ rule: undefined, target: undefined, record: { status: 404 } });
    expect(missing.status).toBe(404);
  });

  it('nothing once the listener has stopped', async () => {
    const { events, stop } = listen();
    stop();
    await request(`${suite.stack.apiUrl}${books.pathPrefix}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual([]);
  });

  it('a killed replica: its target out, a new one initial then healthy, health checks on the way', async () => {
    const { events, stop } = listen();
    const replica = suite.stack.services.find((s) => s.name === 'book-service')?.replicas[0];
    if (!replica) throw new Error('no replica');
    const old = replica.target;
    await suite.stack.killReplica('book-service', 0, 'SIGKILL');
    await waitFor('a new healthy target', () => replica.healthy && replica.target !== old);
    stop();
    const states = events.filter((e) => e.type === 'target-state');
    expect(states.filter((e) => e.target === old).map((e) => e.state)).toEqual([
      'draining',
      'unused',
    ]);
    expect(states.filter((e) => e.target === replica.target).map((e) => e.state)).toEqual([
      'initial',
      'healthy',
    ]);
    const checks = events.filter((e) => e.type === 'health-check' && e.target === replica.target);
    expect(checks.at(-1)).toMatchObject({
      service: 'book-service',
      outcome: { passed: true, status: 200 },
      description: `GET ${books.health.path} answered 200`,
    });
  });
});

describe('what a console can do', () => {
  it('probes the ALB with a chosen Host: a rule and a target, or the default 503', async () => {
    const right = await suite.stack.probeAlb(suite.stack.albHost, books.pathPrefix);
    expect(right).toMatchObject({ status: 200, rule: 'book-service' });
    expect(right.target).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await suite.stack.probeAlb('wrong.invalid', books.pathPrefix)).toEqual({
      status: 503,
      rule: undefined,
      target: undefined,
    });
  });

  it('pauses a replica (alive, its checks time out) and resumes it before it is replaced', async () => {
    const replica = suite.stack.services.find((s) => s.name === 'book-service')?.replicas[1];
    if (!replica) throw new Error('no replica');
    await waitFor('replica 1 healthy', () => replica.healthy);
    const { pid, target } = replica;
    const { events, stop } = listen();
    const checks = () =>
      events.filter((e) => e.type === 'health-check' && e.target === target) as Extract<
        LocalStackEvent,
        { type: 'health-check' }
      >[];
    suite.stack.pauseReplica('book-service', 1, true);
    await waitFor('a timed-out check', () => checks().some((c) => !c.outcome.passed));
    suite.stack.pauseReplica('book-service', 1, false);
    const failed = checks().length;
    await waitFor('a passing check after', () =>
      checks()
        .slice(failed)
        .some((c) => c.outcome.passed),
    );
    stop();
    expect(checks().find((c) => !c.outcome.passed)?.outcome).toEqual({
      passed: false,
      error: 'timeout',
    });
    expect(replica.pid).toBe(pid);
    expect(replica.target).toBe(target);
  });
});
