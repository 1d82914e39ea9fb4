// The behaviour every catalog service promises its clients, run by each service's own tests.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import packageJson from '../../../package.json' with { type: 'json' };
import { Conformance } from '../../../scripts/checks/openapi-conformance.ts';
import { createLifecycle, type Lifecycle } from '../src/lifecycle.ts';
import { createLogger } from '../src/logger.ts';
import { MAX_BODY_BYTES, type ServiceDeps, type ServiceEnv } from '../src/service-app.ts';

export interface CatalogContract {
  createApp: (deps: ServiceDeps) => OpenAPIHono<ServiceEnv>;
  basePath: string;
  items: readonly { id: number }[];
}

export function quietDeps(lines: string[] = [], lifecycle: Lifecycle = createLifecycle()) {
  return {
    lifecycle,
    logger: createLogger({ service: 'test', level: 'info', write: (c) => lines.push(c) }),
  };
}

async function expectProblem(response: Response, status: number): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ type: 'about:blank', status });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\.ts:\d+|Error:/);
  return body;
}

/**
 * Sends the app a request for every answer its routes give (each item, a page, a miss, bad
 * input, health serving and draining) and judges each answer by the app's own served document.
 * Returns what departs from the document, plus each documented answer no request produced: a
 * route changed without its schema, or a schema without its route, shows up here.
 */
export async function documentDrift({ createApp, basePath, items }: CatalogContract) {
  const lifecycle = createLifecycle();
  const app = createApp(quietDeps([], lifecycle));
  const document = (await (await app.request(`${basePath}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  };
  const conformance = new Conformance(document);
  const requests = [
    basePath,
    `${basePath}?limit=2&offset=1`,
    `${basePath}?limit=0`,
    ...items.map((item) => `${basePath}/${item.id}`),
    `${basePath}/999`,
    `${basePath}/abc`,
    `${basePath}/health`,
  ];
  const problems: string[] = [];
  const answered = new Set<string>();
  const judge = async (target: string) => {
    const response = await app.request(target);
    const match = conformance.match('get', new URL(target, 'http://service').pathname);
    if (!match) return problems.push(`GET ${target} is not in the document`);
    answered.add(`${match.template} ${response.status}`);
    const answer = {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      body: await response.text(),
    };
    problems.push(...conformance.check('get', match.template, answer));
  };
  for (const target of requests) await judge(target);
  lifecycle.draining = true;
  await judge(`${basePath}/health`);
  for (const [template, operations] of Object.entries(document.paths)) {
    for (const status of Object.keys(operations.get?.responses ?? {})) {
      if (!answered.has(`${template} ${status}`)) {
        problems.push(`GET ${template} documents ${status}, which no request produced`);
      }
    }
  }
  return problems;
}

export function catalogContract({ createApp, basePath, items }: CatalogContract): void {
  // A new app for each request, built inside the test that sends it: code that runs outside
  // any test is what mutation testing must run every test against (docs/mutation.md).
  const get = (path: string, init?: RequestInit) => createApp(quietDeps()).request(path, init);

  describe('reads', () => {
    it('lists every item as a JSON array', async () => {
      const response = await get(basePath);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual(items);
    });

    it('returns each item by id', async () => {
      for (const item of items) {
        const response = await get(`${basePath}/${item.id}`);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual(item);
      }
    });

    it('treats a trailing slash as none, as the seed did', async () => {
      expect(await (await get(`${basePath}/`)).json()).toEqual(items);
      expect(await (await get(`${basePath}/1/`)).json()).toEqual(items[0]);
    });

    it('accepts leading zeros in an id', async () => {
      expect(await (await get(`${basePath}/01`)).json()).toEqual(items[0]);
      expect(await (await get(`${basePath}/000000000001`)).json()).toEqual(items[0]);
    });

    it('pages with limit and offset', async () => {
      const response = await get(`${basePath}?limit=2&offset=1`);
      expect(await response.json()).toEqual(items.slice(1, 3));
    });

    it('answers HEAD like GET, without a body', async () => {
      const response = await get(basePath, { method: 'HEAD' });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('');
    });

    it('answers health with JSON, 503 while draining', async () => {
      const lifecycle = createLifecycle();
      const draining = createApp(quietDeps([], lifecycle));
      const ok = await draining.request(`${basePath}/health`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ status: 'ok' });
      lifecycle.draining = true;
      const off = await draining.request(`${basePath}/health`);
      expect(off.status).toBe(503);
      expect(await off.json()).toEqual({ status: 'draining' });
      expect(off.headers.get('connection')).toBe('close');
    });
  });

  describe('bad input gets a problem+json 4xx', () => {
    it.each(['abc', '1.5', '-1', '1e3', '0x10', '%20', '1%00'])('id %j: 400', async (id) => {
      const body = await expectProblem(await get(`${basePath}/${id}`), 400);
      expect(body.detail).toContain('param.id');
    });

    it.each(['0', '2147483648', '99999999999999999999'])('out-of-range id %s: 400', async (id) => {
      const body = await expectProblem(await get(`${basePath}/${id}`), 400);
      expect(body.detail).toMatch(/between 1 and 2147483647/);
    });

    it('unknown id: 404, answered once', async () => {
      const body = await expectProblem(await get(`${basePath}/999`), 404);
      expect(body.detail).toContain('999');
    });

    it.each([`${basePath}/1/extra`, `${basePath}/health/x`, '/', '/api', `${basePath}x`])(
      'unknown path %s: 404',
      async (path) => {
        await expectProblem(await get(path), 404);
      },
    );

    it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])('%s: 405 with Allow', async (method) => {
      for (const path of [basePath, `${basePath}/1`, `${basePath}/health`]) {
        const response = await get(path, { method });
        await expectProblem(response, 405);
        expect(response.headers.get('allow')).toBe('GET, HEAD');
      }
    });

    it('a body over the limit: 413', async () => {
      const response = await get(basePath, {
        method: 'POST',
        body: 'x'.repeat(MAX_BODY_BYTES + 1),
        headers: { 'content-length': String(MAX_BODY_BYTES + 1) },
      });
      await expectProblem(response, 413);
    });

    it.each([
      'limit=abc',
      'limit=0',
      'limit=101',
      'limit=-1',
      'offset=x',
      'limit=1&limit=2',
      'limit=',
    ])('query %s: 400', async (query) => {
      const body = await expectProblem(await get(`${basePath}?${query}`), 400);
      expect(body.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ location: expect.stringMatching(/^query\./) }),
        ]),
      );
    });

    it('a query key given twice: 400 naming the key', async () => {
      const body = await expectProblem(await get(`${basePath}?offset=1&limit=1&limit=2`), 400);
      expect(body.errors).toEqual([{ location: 'query.limit', message: 'must be given once' }]);
    });
  });

  describe('request ids and logs', () => {
    it('echoes x-request-id, else x-amzn-trace-id, else generates one', async () => {
      const given = await get(basePath, { headers: { 'x-request-id': 'abc-123' } });
      expect(given.headers.get('x-request-id')).toBe('abc-123');
      const trace = 'Root=1-67891233-abcdef012345678912345678';
      const traced = await get(basePath, { headers: { 'x-amzn-trace-id': trace } });
      expect(traced.headers.get('x-request-id')).toBe(trace);
      const generated = await get(basePath);
      expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const hostile = await get(basePath, { headers: { 'x-request-id': 'a b\u0007' } });
      expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('logs one JSON line per request', async () => {
      const lines: string[] = [];
      const logged = createApp(quietDeps(lines));
      await logged.request(`${basePath}/2?limit=1`, { headers: { 'x-request-id': 'r-1' } });
      await new Promise((resolve) => setImmediate(resolve));
      const records = lines
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        level: 'info',
        msg: 'request',
        method: 'GET',
        path: `${basePath}/2`,
        status: 200,
        requestId: 'r-1',
      });
      expect(typeof records[0].durationMs).toBe('number');
    });

    it('honours LOG_LEVEL: warn logs no request lines', async () => {
      const lines: string[] = [];
      const quiet = createApp({
        lifecycle: createLifecycle(),
        logger: createLogger({ service: 't', level: 'warn', write: (c) => lines.push(c) }),
      });
      await quiet.request(basePath);
      await new Promise((resolve) => setImmediate(resolve));
      expect(lines).toEqual([]);
    });
  });

  describe('OpenAPI', () => {
    it('serves a valid OpenAPI 3.1 document describing every route', async () => {
      const response = await get(`${basePath}/openapi.json`);
      expect(response.status).toBe(200);
      const document = (await response.json()) as {
        openapi: string;
        paths: Record<string, Record<string, unknown>>;
      };
      expect(document.openapi).toBe('3.1.0');
      const validator = new Validator();
      const result = await validator.validate(document as never);
      expect(result.errors ?? []).toEqual([]);
      expect(result.valid).toBe(true);
      expect(validator.version).toBe('3.1');
      expect(Object.keys(document.paths).sort()).toEqual(
        [basePath, `${basePath}/health`, `${basePath}/{id}`].sort(),
      );
      for (const operations of Object.values(document.paths)) {
        expect(Object.keys(operations)).toEqual(['get']);
      }
    });

    // The document is the contract clients and their generated code rely on: every change to
    // it, wording included, shows in review as a change to this file (`npx vitest run -u`
    // rewrites it after a deliberate change; CI never does).
    it('serves the document its committed snapshot holds, word for word', async () => {
      const document = await (await get(`${basePath}/openapi.json`)).json();
      await expect(`${JSON.stringify(document, null, 2)}\n`).toMatchFileSnapshot(
        './__snapshots__/openapi.json',
      );
    });

    it('answers exactly what its document says: every status, content type and body', async () => {
      expect(await documentDrift({ createApp, basePath, items })).toEqual([]);
    });

    it('gives examples that are valid against their schemas', async () => {
      const document = (await (await get(`${basePath}/openapi.json`)).json()) as object;
      const examples = new Conformance(document).examples();
      // The items' fields, the parameters, and each 200 and health answer have one.
      expect(examples.length).toBeGreaterThanOrEqual(7);
      expect(examples.filter((e) => e.problems.length > 0)).toEqual([]);
    });

    it('names every operation uniquely, is public, served from its own origin, MIT-0', async () => {
      const document = (await (await get(`${basePath}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { operationId?: string; tags?: string[] }>>;
        servers: unknown;
        security: unknown;
        tags: { name: string; description: string }[];
        info: { license: { identifier: string } };
      };
      const operations = Object.values(document.paths).flatMap((item) => Object.values(item));
      const ids = operations.map((o) => o.operationId);
      expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      // Every hop forwards the full path, so the paths resolve against the serving origin.
      expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
      expect(document.security).toEqual([]);
      const tags = new Set(operations.flatMap((o) => o.tags ?? []));
      expect(document.tags.map((t) => t.name).sort()).toEqual([...tags].sort());
      expect(document.info.license.identifier).toBe(packageJson.license);
    });
  });
}
