// Graceful shutdown of a real service process: what ECS relies on during a rolling deploy.
import { Agent } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../scripts/workspace/manifests.ts';
import { type Reply, request } from './helpers/http.ts';
import { type StartedProcess, startNodeProcess } from './helpers/process.ts';

function get(port: number, agent: Agent, urlPath: string): Promise<Reply> {
  return request(`http://127.0.0.1:${port}${urlPath}`, { agent });
}

function tryConnect(port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let started: StartedProcess | undefined;
afterEach(() => {
  started?.child.kill('SIGKILL');
  started = undefined;
});

describe('graceful shutdown on SIGTERM', () => {
  it('finishes in-flight requests on keep-alive connections, refuses new ones, exits 0 within 5 s', async () => {
    started = await startNodeProcess(path.join(repoRoot, 'test/fixtures/slow-book-service.ts'), {
      DELAY_MS: '1500',
      LOG_LEVEL: 'info',
    });
    const { port, child, exited } = started;
    const agent = new Agent({ keepAlive: true, maxSockets: 5 });
    // Warm the keep-alive sockets so the in-flight requests below reuse them.
    await Promise.all(Array.from({ length: 5 }, () => get(port, agent, '/api/books/health')));
    const inFlight = Array.from({ length: 5 }, (_, i) => get(port, agent, `/api/books/${i + 1}`));
    await new Promise((resolve) => setTimeout(resolve, 300));

    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await tryConnect(port)).toBe('ECONNREFUSED');

    const replies = await Promise.all(inFlight);
    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toMatchObject({ id: i + 1 });
      expect(reply.headers.connection).toBe('close');
    }
    const exit = await exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.afterMs).toBeLessThan(5_000);
    agent.destroy();
  });

  it('lets a request already inside the app at SIGTERM finish, with Connection: close', async () => {
    started = await startNodeProcess(path.join(repoRoot, 'test/fixtures/held-book-service.ts'), {
      DELAY_MS: '1000',
      LOG_LEVEL: 'info',
    });
    const { port, child, exited, lines } = started;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await get(port, agent, '/api/books/health');
    const inside = get(port, agent, '/api/books/2');
    // Past the service's own middleware (which saw no draining yet) when SIGTERM comes.
    await waitFor(() => lines.some((line) => line.includes('"msg":"held"')));
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await tryConnect(port)).toBe('ECONNREFUSED');

    const reply = await inside;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ id: 2 });
    expect(reply.headers.connection).toBe('close');
    const exit = await exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.afterMs).toBeLessThan(5_000);
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

  it('book-service with idle keep-alive clients exits 0 at once', async () => {
    started = await startNodeProcess(path.join(repoRoot, 'services/book-service/src/server.ts'));
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
    expect(exit.afterMs).toBeLessThan(2_000);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    agent.destroy();
  });

  it('turns health to 503 while draining', async () => {
    started = await startNodeProcess(path.join(repoRoot, 'test/fixtures/slow-book-service.ts'), {
      DELAY_MS: '800',
    });
    const { port, child, exited } = started;
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    await get(port, agent, '/api/books/health');
    const slow = get(port, agent, '/api/books/1');
    // Sent before SIGTERM, answered after: the health check a load balancer sees while we drain.
    const health = get(port, agent, '/api/books/health');
    await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGTERM');
    expect((await slow).status).toBe(200);
    const draining = await health;
    expect(draining.status).toBe(503);
    expect(JSON.parse(draining.body)).toEqual({ status: 'draining' });
    expect((await exited).code).toBe(0);
    agent.destroy();
  });
});
