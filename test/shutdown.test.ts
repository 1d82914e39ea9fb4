// Graceful shutdown of a real service process: what ECS relies on during a rolling deploy.
import { Agent } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../scripts/workspace/manifests.ts';
import { tryConnect } from '../services/common/test/connect.ts';
import { type Reply, request } from './helpers/http.ts';
import { type StartedProcess, startNodeProcess } from './helpers/process.ts';

function get(port: number, agent: Agent, urlPath: string): Promise<Reply> {
  return request(`http://127.0.0.1:${port}${urlPath}`, { agent });
}

/** Polls until `condition` holds; bounded only so that a broken service fails, not hangs. */
async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`never saw ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Whether the promise has settled, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending');
  return (await Promise.race([promise.then(() => true), Promise.resolve(pending)])) !== pending;
}

const heldLines = (lines: string[]) => lines.filter((line) => line.includes('"msg":"held"'));

// Requests are held until the test sends SIGUSR2 (test/fixtures/hold.ts), so what happens is
// decided by the order of events, never by how fast a busy machine runs. And the drain timeout
// is far beyond any test's: a service that exits did so because its work was done.
const HELD = { HOLD: 'signal', LOG_LEVEL: 'info', DRAIN_TIMEOUT_SECONDS: '600' };

let started: StartedProcess | undefined;
afterEach(() => {
  started?.child.kill('SIGKILL');
  started = undefined;
});

describe('graceful shutdown on SIGTERM', () => {
  it('finishes in-flight requests on keep-alive connections, refuses new ones, then exits 0', async () => {
    started = await startNodeProcess(
      path.join(repoRoot, 'test/fixtures/held-book-service.ts'),
      HELD,
    );
    const { port, child, exited, lines } = started;
    const agent = new Agent({ keepAlive: true, maxSockets: 5 });
    // Warm the keep-alive sockets so the in-flight requests below reuse them.
    await Promise.all(Array.from({ length: 5 }, () => get(port, agent, '/api/books/health')));
    const inFlight = Array.from({ length: 5 }, (_, i) => get(port, agent, `/api/books/${i + 1}`));
    await waitFor(() => heldLines(lines).length === 5, 'five requests held inside the app');

    child.kill('SIGTERM');
    await waitFor(
      async () => (await tryConnect(port)) === 'ECONNREFUSED',
      'new connections refused',
    );
    // Refused while the five are still in flight, and they are still there.
    expect(await settled(Promise.all(inFlight))).toBe(false);
    expect(await settled(exited)).toBe(false);

    child.kill('SIGUSR2');
    const replies = await Promise.all(inFlight);
    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toMatchObject({ id: i + 1 });
      expect(reply.headers.connection).toBe('close');
    }
    expect(await exited).toMatchObject({ code: 0, signal: null });
    agent.destroy();
  });

  it('lets a request already inside the app at SIGTERM finish, with Connection: close', async () => {
    started = await startNodeProcess(
      path.join(repoRoot, 'test/fixtures/held-book-service.ts'),
      HELD,
    );
    const { port, child, exited, lines } = started;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await get(port, agent, '/api/books/health');
    const inside = get(port, agent, '/api/books/2');
    // Past the service's own middleware (which saw no draining yet) when SIGTERM comes.
    await waitFor(() => heldLines(lines).length === 1, 'the request held inside the app');
    child.kill('SIGTERM');
    await waitFor(
      async () => (await tryConnect(port)) === 'ECONNREFUSED',
      'new connections refused',
    );
    child.kill('SIGUSR2');

    const reply = await inside;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ id: 2 });
    expect(reply.headers.connection).toBe('close');
    const exit = await exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    const logged = lines.flatMap((line): Record<string, unknown>[] => {
      try {
        return [JSON.parse(line)];
      } catch {
        return []; // stderr output, kept by startNodeProcess for failure messages
      }
    });
    expect(logged.map((r) => r.msg)).toEqual(
      expect.arrayContaining(['held', 'draining', 'request', 'stopped']),
    );
    expect(logged.find((r) => r.msg === 'request' && r.path === '/api/books/2')).toMatchObject({
      status: 200,
    });
    agent.destroy();
  });

  it('book-service with idle keep-alive clients exits 0 at once, not after its idle timeout', async () => {
    // With the drain timeout at 600 s and keep-alive's at 65 s, only closing the idle
    // connections at once lets it exit before this test's own timeout.
    started = await startNodeProcess(path.join(repoRoot, 'services/book-service/src/server.ts'), {
      DRAIN_TIMEOUT_SECONDS: '600',
    });
    const { port, child, exited } = started;
    const agent = new Agent({ keepAlive: true, maxSockets: 10 });
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => get(port, agent, '/api/books')),
    );
    expect(replies.every((r) => r.status === 200 && r.headers.connection === 'keep-alive')).toBe(
      true,
    );

    child.kill('SIGTERM');
    const exit = await exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    agent.destroy();
  });

  it('turns health to 503 while draining', async () => {
    started = await startNodeProcess(
      path.join(repoRoot, 'test/fixtures/slow-book-service.ts'),
      HELD,
    );
    const { port, child, exited, lines } = started;
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const slow = get(port, agent, '/api/books/1');
    // Sent before SIGTERM, answered after: the health check a load balancer sees while we drain.
    const health = get(port, agent, '/api/books/health');
    await waitFor(() => heldLines(lines).length === 2, 'both requests held');
    child.kill('SIGTERM');
    await waitFor(
      async () => (await tryConnect(port)) === 'ECONNREFUSED',
      'new connections refused',
    );
    child.kill('SIGUSR2');
    expect((await slow).status).toBe(200);
    const draining = await health;
    expect(draining.status).toBe(503);
    expect(JSON.parse(draining.body)).toEqual({ status: 'draining' });
    expect((await exited).code).toBe(0);
    agent.destroy();
  });
});
