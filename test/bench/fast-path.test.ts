// The static-GET fast path (services/common/src/service-app.ts, added for the benchmark's
// throughput goal) must answer exactly as the Hono route it shortcuts: same status, body,
// headers, request id and log line. Each fast target is compared with a target that means
// the same to the route but goes through Hono (an empty query, a zero-padded id).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../services/book-service/src/app.ts';
import { books } from '../../services/book-service/src/data.ts';
import { createLogger } from '../../services/common/src/logger.ts';
import { type RunningService, startService } from '../../services/common/src/server.ts';

const lines: string[] = [];
let service: RunningService;
let base: string;

beforeAll(async () => {
  const logger = createLogger({
    service: 'book-service',
    level: 'info',
    write: (chunk) => lines.push(...chunk.trim().split('\n')),
  });
  service = await startService({ createApp, service: 'book-service', port: 0, logger });
  base = `http://127.0.0.1:${service.port}`;
});
afterAll(() => service.shutdown('test over'));

async function answer(target: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${target}`, { headers });
  const { date: _date, ...rest } = Object.fromEntries(response.headers);
  return { status: response.status, headers: rest, body: await response.text() };
}

function lastRequestLog() {
  service.logger.flush();
  const record = JSON.parse(lines.at(-1) ?? '{}');
  const { time: _time, durationMs, ...rest } = record;
  expect(typeof durationMs).toBe('number');
  return rest;
}

describe('static GET fast path', () => {
  const pairs: [fast: string, viaHono: string][] = [
    ['/api/books', '/api/books?'],
    ...books.map((b): [string, string] => [`/api/books/${b.id}`, `/api/books/0${b.id}`]),
  ];

  it.each(pairs)('%s answers as %s does', async (fast, viaHono) => {
    const id = { 'x-request-id': 'bench-parity-1' };
    const a = await answer(fast, id);
    const logA = lastRequestLog();
    const b = await answer(viaHono, id);
    const logB = lastRequestLog();
    expect(a).toEqual(b);
    expect(a.headers['x-request-id']).toBe('bench-parity-1');
    expect({ ...logA, path: '' }).toEqual({ ...logB, path: '' });
    expect(logA.path).toBe(fast);
  });

  it('takes the id from x-amzn-trace-id, and makes one when none is usable', async () => {
    const traced = await answer('/api/books', { 'x-amzn-trace-id': 'Root=1-abc' });
    expect(traced.headers['x-request-id']).toBe('Root=1-abc');
    const bad = await answer('/api/books', { 'x-request-id': 'has space' });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('closes the connection while draining, as the middleware does', async () => {
    service.lifecycle.draining = true;
    try {
      const fast = await answer('/api/books');
      const viaHono = await answer('/api/books?');
      expect(fast.headers.connection).toBe('close');
      expect(viaHono.headers.connection).toBe('close');
    } finally {
      service.lifecycle.draining = false;
    }
  });
});
