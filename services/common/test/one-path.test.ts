// One request path: every request a service's server receives goes through its Hono app, so a
// middleware added to the app applies to every route, the exact targets included that a
// former "fast path" in front of Hono answered by itself (`/api/books`, `/api/books/1`). Sent
// over a real socket to the real server: an in-process app.request() never meets whatever
// stands between the socket and the app.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE_PATH } from '../../book-service/src/app.ts';
import type { RunningService } from '../src/server.ts';
import { startBookServiceWith } from './book-service-with.ts';

const CACHE_CONTROL = 'public, max-age=60';
const lines: string[] = [];
let running: RunningService;
let base: string;

// Per test (not once for the file), so mutation testing knows which test covers what.
beforeEach(async () => {
  // Where a service adds its own middleware: before its routes.
  running = await startBookServiceWith(
    'book-service with a middleware of its own',
    (app) => {
      app.use(async (c, next) => {
        await next();
        c.header('cache-control', CACHE_CONTROL);
      });
    },
    lines,
  );
  base = `http://127.0.0.1:${running.port}`;
});
afterEach(() => running.shutdown('test over'));

describe('a middleware added to the app', () => {
  it.each([
    ['GET', BASE_PATH, 200],
    ['GET', `${BASE_PATH}/1`, 200],
    ['GET', `${BASE_PATH}/6`, 200],
    ['GET', `${BASE_PATH}?limit=4&offset=1`, 200],
    ['GET', `${BASE_PATH}?`, 200],
    ['GET', `${BASE_PATH}/`, 200],
    ['GET', `${BASE_PATH}/01`, 200],
    ['HEAD', BASE_PATH, 200],
    ['HEAD', `${BASE_PATH}/1`, 200],
    ['GET', `${BASE_PATH}/99`, 404],
    ['GET', `${BASE_PATH}/abc`, 400],
    ['GET', `${BASE_PATH}?limit=0`, 400],
  ])('applies to %s %s', async (method, target, status) => {
    const response = await fetch(`${base}${target}`, { method });
    expect(response.status).toBe(status);
    expect(response.headers.get('cache-control')).toBe(CACHE_CONTROL);
    // And the service's own middleware ran too: a request id, and one log line.
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.filter((line) => line.includes(`"requestId":"${id}"`))).toHaveLength(1);
    await response.arrayBuffer();
  });

  it('leaves the bodies as they were', async () => {
    const response = await fetch(`${base}${BASE_PATH}/1`);
    expect(await response.json()).toMatchObject({ id: 1, isbn: 9781119490708 });
  });
});
