// validatedRoute checks a route's params and query against the schemas its document shows, and
// refuses, when it is registered, a route whose other input (a body, headers, cookies) it would
// leave unchecked: such a route belongs to app.openapi(), which validates those.
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { respond, type ServiceEnv } from '../src/request-scope.ts';
import { validatedRoute } from '../src/validated-route.ts';

const ok = { 200: { description: 'OK' } };

describe('validatedRoute', () => {
  it.each([
    [
      'a body',
      {
        body: { content: { 'application/json': { schema: z.object({ a: z.string() }) } } },
      },
      'body',
    ],
    ['headers', { headers: z.object({ 'x-a': z.string() }) }, 'headers'],
    ['cookies', { cookies: z.object({ a: z.string() }) }, 'cookies'],
  ])('refuses a route with %s, naming it', (_, request, named) => {
    const app = new OpenAPIHono<ServiceEnv>();
    const route = createRoute({ method: 'post', path: '/things', request, responses: ok });
    expect(() => validatedRoute(app, route, (c) => respond(c, 200, null, 'text/plain'))).toThrow(
      `POST /things: validatedRoute checks params and query only; use app.openapi() for ${named}`,
    );
  });

  it('refuses route middleware, which it would not run', () => {
    const app = new OpenAPIHono<ServiceEnv>();
    const route = createRoute({
      method: 'get',
      path: '/things',
      middleware: [(_c, next) => next()],
      responses: ok,
    });
    expect(() => validatedRoute(app, route, (c) => respond(c, 200, null, 'text/plain'))).toThrow(
      'use app.openapi() for middleware',
    );
  });

  it('documents the route unless hidden, and answers it either way', async () => {
    const app = new OpenAPIHono<ServiceEnv>();
    const shown = createRoute({ method: 'get', path: '/shown/{id}', responses: ok });
    const hidden = createRoute({ method: 'get', path: '/hidden', hide: true, responses: ok });
    const params = z.object({ id: z.string().regex(/^\d+$/) });
    validatedRoute(app, { ...shown, request: { params } }, (c, { param }) =>
      respond(c, 200, param.id, 'text/plain'),
    );
    validatedRoute(app, hidden, (c) => respond(c, 200, 'hidden', 'text/plain'));
    const document = app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
    });
    expect(Object.keys(document.paths ?? {})).toEqual(['/shown/{id}']);
    expect(await (await app.request('/shown/%37')).text()).toBe('7');
    expect(await (await app.request('/hidden')).text()).toBe('hidden');
  });

  it('checks the query before the params, and answers the first that fails', async () => {
    const app = new OpenAPIHono<ServiceEnv>();
    const route = createRoute({
      method: 'get',
      path: '/things/{id}',
      request: {
        params: z.object({ id: z.string().regex(/^\d+$/, 'digits') }),
        query: z.object({
          q: z
            .string()
            .regex(/^[a-z]+$/, 'letters')
            .optional(),
        }),
      },
      responses: ok,
    });
    validatedRoute(app, route, (c, { param, query }) =>
      respond(c, 200, `${param.id} ${query.q}`, 'text/plain'),
    );
    const both = await app.request('/things/x?q=1');
    expect(((await both.json()) as { detail: string }).detail).toBe('query.q: letters');
    const param = await app.request('/things/x?q=a');
    expect(((await param.json()) as { detail: string }).detail).toBe('param.id: digits');
    expect(await (await app.request('/things/3?q=abc#q=1')).text()).toBe('3 abc');
  });
});
