// Unhealthy tasks are replaced as ECS replaces them (issue 27): the replacement starts first,
// within the service's maximumPercent, and the unhealthy task is stopped only once its
// replacement is healthy ("Deploy Amazon ECS services by replacing tasks"). With both
// replicas of a service hung, the service answers again as soon as a replacement has passed
// its one health check, while the hung tasks are still there: asserted by the order of
// events, on the health checks' own time scale (healthCheckScale), never by seconds.
import { describe, expect, it } from 'vitest';
import { replacementFirst } from '../../scripts/local/ecs/scheduler.ts';
import type { LocalStackEvent } from '../../scripts/local/index.ts';
import { request } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { manifestService } from '../helpers/workspace.ts';
import { NO_THROTTLING, processGone, stackForSuite } from './helpers.ts';

const books = manifestService('book-service');

describe('replacementFirst: room within maximumPercent of the desired count', () => {
  it.each([
    // running, desired, maximumPercent, start the replacement first?
    [2, 2, 200, true],
    [3, 2, 200, true],
    [4, 2, 200, false],
    [2, 2, 100, false],
    [3, 3, 150, true],
    [4, 3, 150, false],
  ])('%i running of %i desired at %i%%: %s', (running, desired, percent, expected) => {
    expect(replacementFirst(running, desired, percent)).toBe(expected);
  });

  it('reads maximumPercent as Copilot renders it: 200% unless `deployment.rolling: recreate`', () => {
    expect(books.maximumPercent).toBe(200);
    expect(books.minimumHealthyPercent).toBe(100);
  });
});

describe('both replicas of a service hung', () => {
  // A request sent to a hung task is given up on at the integration timeout, kept short.
  const suite = stackForSuite({
    healthCheckScale: 0.1,
    accessLog: false,
    parameters: { ...NO_THROTTLING, IntegrationTimeoutMillis: 500 },
  });

  it('starts replacements first, answers again once one is healthy, and stops the hung tasks after', async () => {
    const service = suite.stack.services.find((s) => s.name === books.name);
    if (service === undefined) throw new Error('no book-service');
    await waitFor('both replicas healthy', () => service.replicas.every((r) => r.healthy));
    const hung = service.replicas.map((r) => ({ pid: r.pid as number, target: r.target }));
    const events: { at: number; event: LocalStackEvent }[] = [];
    const stop = suite.stack.observe((event) => events.push({ at: performance.now(), event }), {
      requests: false,
    });
    // The grace period (scaled) must be over, or ECS would not act on the health checks yet.
    const graceMs = books.health.gracePeriodMs * 0.1;
    await new Promise((resolve) => setTimeout(resolve, graceMs));
    for (const replica of service.replicas)
      suite.stack.pauseReplica(books.name, replica.index, true);
    const paused = performance.now();

    // Until a request is answered 200 again, each by a fresh connection, one at a time.
    let answered: { at: number; target: string; hungAlive: boolean } | undefined;
    let maxTasks = 0;
    await waitFor('the service to answer again', async () => {
      const tasks = [...service.replicas.map((r) => r.pid), ...hung.map((h) => h.pid)];
      const live = new Set(tasks.filter((pid) => pid !== undefined && !processGone(pid)));
      maxTasks = Math.max(maxTasks, live.size);
      const reply = await request(`${suite.stack.apiUrl}${books.pathPrefix}`).catch(
        () => undefined,
      );
      if (reply?.status !== 200) return false;
      answered = {
        at: performance.now(),
        target: String(reply.headers['x-local-target']),
        hungAlive: hung.every((h) => !processGone(h.pid)),
      };
      return true;
    }).catch((error: Error) => error);
    // Both hung tasks are found out by their own checks, whichever first: wait for the second.
    await waitFor('both hung targets to go unhealthy', () =>
      hung.every(({ target }) =>
        events.some(
          (e) =>
            e.event.type === 'target-state' &&
            e.event.target === target &&
            e.event.state === 'unhealthy',
        ),
      ),
    ).catch(() => {});
    stop();
    const states = events.filter((e) => e.event.type === 'target-state') as {
      at: number;
      event: Extract<LocalStackEvent, { type: 'target-state' }>;
    }[];
    const firstAt = (target: string | undefined, state: string) =>
      states.find((s) => s.event.target === target && s.event.state === state)?.at;

    expect(answered, 'the service never answered 200 again').toBeDefined();
    // Answered by a new task, while both hung tasks were still there: no stop came first.
    expect(hung.map((h) => h.target)).not.toContain(answered?.target);
    expect(answered?.hungAlive).toBe(true);
    for (const { target } of hung) {
      const unhealthyAt = firstAt(target, 'unhealthy');
      expect(unhealthyAt, `${target} never went unhealthy`).toBeGreaterThan(paused);
      // Its replacement registered (initial) before it was deregistered (draining), if it has been.
      const replacement = states.find(
        (s) =>
          s.at > (unhealthyAt ?? 0) && s.event.from === 'unused' && s.event.state === 'initial',
      );
      expect(replacement, `no replacement for ${target}`).toBeDefined();
      const drainedAt = firstAt(target, 'draining');
      if (drainedAt !== undefined) {
        const healthyAt = firstAt(replacement?.event.target, 'healthy');
        expect(healthyAt).toBeDefined();
        expect(drainedAt).toBeGreaterThan(healthyAt ?? Number.POSITIVE_INFINITY);
      }
    }
    // Within maximumPercent: two replacements beside the two hung tasks, no more.
    expect(maxTasks).toBeLessThanOrEqual((books.minCount * books.maximumPercent) / 100);
  }, 120_000);
});
