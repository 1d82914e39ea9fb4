// The console's feed and server on this repository's stack: per-request work only while a
// client listens, records that name their route, rule and replica, and the server's refusals.
import { describe, expect, it } from 'vitest';
import type { FeedEvent } from '../../../scripts/local/console/feed.ts';
import { startConsole } from '../../../scripts/local/console/index.ts';
import { request } from '../../helpers/http.ts';
import { waitFor } from '../../helpers/wait.ts';
import { manifestService } from '../../helpers/workspace.ts';
import { stackForSuite } from '../helpers.ts';

const books = manifestService('book-service');
const suite = stackForSuite({ healthCheckScale: 0.1 });

describe('the console feed', () => {
  it('observes requests only while a client is subscribed', async () => {
    const { stack } = suite;
    const local = await startConsole(stack, { port: 0 });
    try {
      expect(stack.requestsObserved).toBe(false);
      await request(`${stack.apiUrl}${books.pathPrefix}/2`);
      expect(local.feed.recentRequests()).toEqual([]);

      const events: FeedEvent[] = [];
      const unsubscribe = local.feed.subscribe((event) => events.push(event));
      expect(stack.requestsObserved).toBe(true);
      const reply = await request(`${stack.apiUrl}${books.pathPrefix}/3`);
      const [logged] = local.feed.recentRequests();
      expect(logged).toMatchObject({
        path: `${books.pathPrefix}/3`,
        routeKey: `ANY ${books.pathPrefix}/{proxy+}`,
        status: 200,
        rule: 'book-service',
        target: reply.headers['x-local-target'],
      });
      expect(logged?.replica).toMatch(/^book-service\/[01]$/);
      // The stage's own access-log fields, by the template format's names.
      expect(logged?.fields).toMatchObject({ status: '200', path: `${books.pathPrefix}/3` });
      expect(logged?.fields.requestId).toBe(reply.headers['apigw-requestid']);
      await waitFor('a requests event', () => events.some((e) => e.type === 'requests'));

      unsubscribe();
      expect(stack.requestsObserved).toBe(false);
    } finally {
      await local.close();
    }
  });

  it('detaches when the last event stream closes', async () => {
    const { stack } = suite;
    const local = await startConsole(stack, { port: 0 });
    try {
      const controller = new AbortController();
      const response = await fetch(`${local.url}/events`, { signal: controller.signal });
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      expect(stack.requestsObserved).toBe(true);
      controller.abort();
      await waitFor('the tap removed', () => !stack.requestsObserved);
    } finally {
      await local.close();
    }
  });

  it('the Host tester names the rule, or why the ALB answered 503', async () => {
    const { stack } = suite;
    const local = await startConsole(stack, { port: 0 });
    try {
      const internal = await local.feed.probe(
        `book-service.${stack.environment}.${stack.application}.internal`,
        books.pathPrefix,
      );
      expect(internal).toMatchObject({ status: 200, rule: 'book-service' });
      expect(internal.target).toMatch(/^127\.0\.0\.1:\d+$/);
      const wrongPath = await local.feed.probe(stack.albHost, `${books.pathPrefix}x`);
      expect(wrongPath).toMatchObject({ status: 503, rule: null, target: null });
      expect(wrongPath.explanation).toContain('matches no path-pattern');
      // Another service's name with this one's path: the host matches a rule, not this one.
      const crossed = await local.feed.probe(
        `author-service.${stack.environment}.${stack.application}.internal`,
        books.pathPrefix,
      );
      expect(crossed).toMatchObject({ status: 503, rule: null });
      expect(crossed.explanation).toContain('matches no path-pattern');
    } finally {
      await local.close();
    }
  });

  it('"stop" stops a task as ECS does: draining, then stopped, and a new task in its slot', async () => {
    const { stack } = suite;
    const local = await startConsole(stack, { port: 0 });
    const unsubscribe = local.feed.subscribe(() => {});
    try {
      const slot = (g: string) =>
        local.feed.topology().targetGroups.find((t) => t.name === g)?.tasks ?? [];
      const old = slot(books.name).find((t) => t.slot === 1 && t.state === 'healthy');
      if (old === undefined) throw new Error('no healthy book-service/1');
      const message = await local.feed.act(books.name, 1, 'stop');
      expect(message).toContain('deregister, drain, then SIGTERM');
      // Deregistered before any signal: draining as soon as the action is under way.
      expect(slot(books.name).find((t) => t.id === old.id)?.state).toBe('draining');
      await waitFor(
        'the old task stopped',
        () => slot(books.name).find((t) => t.id === old.id)?.state === 'stopped',
      );
      expect(slot(books.name).find((t) => t.id === old.id)?.reason).toBe('exited (code 0)');
      await waitFor('a healthy replacement', () =>
        slot(books.name).some((t) => t.slot === 1 && t.state === 'healthy' && t.id !== old.id),
      );
      await expect(local.feed.act(books.name, 9, 'kill')).rejects.toThrow(
        'no replica book-service/9',
      );
      // An action meant for the old task (a row drawn before the replacement) reaches nothing:
      // not the new task in its slot.
      const replacement = slot(books.name).find((t) => t.slot === 1 && t.state === 'healthy');
      await expect(local.feed.act(books.name, 1, 'kill', old.id)).rejects.toMatchObject({
        status: 409,
        message: `task ${old.id} is no longer book-service/1's (now ${replacement?.id}): nothing done`,
      });
      const post = (body: string) =>
        request(`${local.url}/api/replicas/book-service/1/kill`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: Buffer.from(body),
        });
      const stale = await post(JSON.stringify({ task: old.id }));
      expect(stale.status).toBe(409);
      expect(stale.headers['content-type']).toBe('application/problem+json');
      expect((await post('{"task":5}')).status).toBe(400);
      expect(slot(books.name).find((t) => t.id === replacement?.id)?.state).toBe('healthy');
    } finally {
      unsubscribe();
      await local.close();
    }
  });

  it('answers problems, and refuses foreign hosts and form posts', async () => {
    const { stack } = suite;
    const local = await startConsole(stack, { port: 0 });
    try {
      const port = new URL(local.url).port;
      const foreign = await request(`${local.url}/api/topology`, {
        headers: { host: `attacker.example:${port}` },
      });
      expect(foreign.status).toBe(403);
      expect(foreign.headers['content-type']).toBe('application/problem+json');
      const form = await request(`${local.url}/api/replicas/book-service/0/kill`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status).toBe(415);
      const unknown = await request(`${local.url}/api/replicas/nope/0/kill`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      expect(unknown.status).toBe(404);
      expect(JSON.parse(unknown.body)).toMatchObject({ status: 404, detail: 'no replica nope/0' });
      const badPath = await request(`${local.url}/api/probe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ host: stack.albHost, path: 'api books' })),
      });
      expect(badPath.status).toBe(400);
    } finally {
      await local.close();
    }
  });
});
