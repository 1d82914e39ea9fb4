// What createServiceApp adds around any service's routes, asserted word for word where a client
// or an operator reads it: the problems' details, the log line's fields, draining's
// `connection: close`, the body limit as a real socket meets it, the 500 that logs and never
// leaks. Run on an app with routes of the test's own (one that throws, one that waits, one
// untagged), so nothing here depends on a catalog's data.
import http from 'node:http';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLifecycle, type Lifecycle } from '../src/lifecycle.ts';
import { createLogger } from '../src/logger.ts';
import { problemBody } from '../src/problem.ts';
import { type RunningService, startService } from '../src/server.ts';
import {
  createServiceApp,
  describeTag,
  MAX_BODY_BYTES,
  pascalCase,
  type ServiceDeps,
  type ServiceEnv,
} from '../src/service-app.ts';

const BASE = '/api/things';

function thingApp(deps: ServiceDeps) {
  return createServiceApp({
    ...deps,
    title: 'thing-service',
    version: '1.0.0',
    description: 'Things.',
    basePath: BASE,
    routes: (app) => {
      app.get(`${BASE}/boom`, () => {
        throw new Error('boom');
      });
      // Draining begins while this request is inside the app.
      app.get(`${BASE}/drain-now`, (c) => {
        deps.lifecycle.draining = true;
        return c.json({ ok: true });
      });
      // Registered with a schema but no tags: the document lists no tag for it.
      app.openapi(
        createRoute({
          method: 'get',
          path: `${BASE}/untagged`,
          operationId: 'getUntagged',
          request: {
            query: z.object({ a: z.string().regex(/^\d$/), b: z.string().regex(/^\d$/) }),
          },
          responses: { 200: { description: 'OK' } },
        }),
        (c) => c.text('ok'),
      );
      // A schema component of the service's own, beside the routes in the registry.
      app.openAPIRegistry.register('Thing', z.object({ id: z.number() }));
    },
  });
}

function setup(lifecycle: Lifecycle = createLifecycle()) {
  const lines: string[] = [];
  const logger = createLogger({ service: 'thing-service', write: (line) => lines.push(line) });
  const app = thingApp({ lifecycle, logger });
  /** The JSON log lines written so far (pino writes on the same turn). */
  const logged = () =>
    lines
      .join('')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { app, lifecycle, logged };
}

async function detailOf(response: Response): Promise<string> {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return ((await response.json()) as { detail: string }).detail;
}

describe('the problems a client reads', () => {
  it('404 names the path', async () => {
    const response = await setup().app.request(`${BASE}/nope`);
    expect(response.status).toBe(404);
    expect(await detailOf(response)).toBe(`No resource at ${BASE}/nope.`);
  });

  it('405 names the method, the path and what is allowed', async () => {
    const response = await setup().app.request(`${BASE}/health`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect(await detailOf(response)).toBe(
      `DELETE is not allowed on ${BASE}/health. Allowed: GET, HEAD.`,
    );
  });

  it('400 lists every invalid input, in order, separated by "; "', async () => {
    const response = await setup().app.request(`${BASE}/untagged?a=x&b=y`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { detail: string; errors: unknown[] };
    expect(body.errors).toHaveLength(2);
    expect(body.detail).toMatch(/^query\.a: [^;]+; query\.b: [^;]+$/);
  });

  it('500 says only that it failed and was logged; the log has the path and the error', async () => {
    const { app, logged } = setup();
    const response = await app.request(`${BASE}/boom`);
    expect(response.status).toBe(500);
    expect(await detailOf(response)).toBe(
      'The service failed to answer this request. It has been logged.',
    );
    expect(logged().find((line) => line.level === 'error')).toMatchObject({
      msg: 'unhandled error',
      path: `${BASE}/boom`,
      error: 'Error: boom',
    });
  });

  it('a status Node has no phrase for still gets a title', () => {
    expect(problemBody(599, 'x')).toEqual({
      type: 'about:blank',
      title: 'Error',
      status: 599,
      detail: 'x',
    });
  });
});

describe('the request log line', () => {
  it("gives the request's duration in ms, to two decimals", async () => {
    const { app, logged } = setup();
    const clock = vi.spyOn(performance, 'now');
    clock.mockReturnValueOnce(1_000).mockReturnValueOnce(1_012.3456);
    try {
      await app.request(`${BASE}/health`);
    } finally {
      clock.mockRestore();
    }
    expect(logged()).toEqual([
      expect.objectContaining({ msg: 'request', path: `${BASE}/health`, durationMs: 12.35 }),
    ]);
  });
});

describe('draining', () => {
  it('closes the connection of every response once draining, and only then', async () => {
    const { app, lifecycle } = setup();
    const serving = await app.request(`${BASE}/health`);
    expect(serving.headers.get('connection')).toBeNull();
    lifecycle.draining = true;
    for (const path of [`${BASE}/health`, `${BASE}/nope`, `${BASE}/boom`]) {
      const response = await app.request(path);
      expect(response.headers.get('connection'), path).toBe('close');
    }
  });

  it('closes the connection of a request in flight when draining began', async () => {
    const { app } = setup();
    const response = await app.request(`${BASE}/drain-now`);
    expect(response.status).toBe(200);
    expect(response.headers.get('connection')).toBe('close');
  });
});

describe('the document', () => {
  it('lists only the tags operations use: an untagged operation adds none', async () => {
    const response = await setup().app.request(`${BASE}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      tags: { name: string }[];
      components: { schemas: Record<string, unknown> };
    };
    expect(document.tags.map((tag) => tag.name)).toEqual(['health']);
    // A component the service registered itself is documented, not mistaken for a route.
    expect(Object.keys(document.components.schemas)).toContain('Thing');
  });

  it('names operations after services: words joined, each capitalised, separators dropped', () => {
    const names = ['book-service', 'author_service', 'book--service', 'a b', 'books'];
    expect(names.map(pascalCase)).toEqual([
      'BookService',
      'AuthorService',
      'BookService',
      'AB',
      'Books',
    ]);
  });

  it("describes tags only for createServiceApp's apps", () => {
    const foreign = new OpenAPIHono<ServiceEnv>();
    expect(() => describeTag(foreign, 'x', 'y')).toThrow(
      'describeTag: not an app of createServiceApp',
    );
  });
});

describe('the body limit, as a socket meets it', () => {
  let running: RunningService;
  // Per test, so mutation testing knows which test covers what.
  beforeEach(async () => {
    running = await startService({
      service: 'thing-service',
      port: 0,
      hostname: '127.0.0.1',
      logger: createLogger({ service: 'thing-service', level: 'silent' }),
      createApp: thingApp,
    });
  });
  afterEach(() => running.shutdown('test over'));

  /** Sends `method` with a body of `bytes` bytes over a real socket. */
  function send(method: string, bytes: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port: running.port,
          method,
          path: `${BASE}/health`,
          // Node's client sends a GET body without framing unless told its length.
          headers: { 'content-length': String(bytes) },
        },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            body += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on('error', reject);
      request.end('x'.repeat(bytes));
    });
  }

  it('refuses a larger body with 413 and its limit in the detail', async () => {
    const { status, body } = await send('POST', MAX_BODY_BYTES + 1);
    expect(status).toBe(413);
    expect(JSON.parse(body).detail).toBe(`Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
  });

  it('lets a body of exactly the limit through to routing (405 here, not 413)', async () => {
    expect((await send('POST', MAX_BODY_BYTES)).status).toBe(405);
  });

  it('never reads the body of a GET: a large one is ignored, not refused', async () => {
    expect(await send('GET', MAX_BODY_BYTES + 1)).toEqual({
      status: 200,
      body: '{"status":"ok"}',
    });
  });
});
