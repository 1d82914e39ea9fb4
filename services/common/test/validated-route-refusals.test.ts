// The whole message validatedRoute throws when a route would leave input unchecked: every
// unchecked part named, in the route's order, then its middleware (validated-route.test.ts
// checks each alone).
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { respond, type ServiceEnv } from '../src/request-scope.ts';
import { validatedRoute } from '../src/validated-route.ts';

const ok = { 200: { description: 'OK' } };

describe('validatedRoute names all it would leave unchecked', () => {
  it('names a body and middleware together', () => {
    const app = new OpenAPIHono<ServiceEnv>();
    const route = createRoute({
      method: 'put',
      path: '/things/{id}',
      request: {
        body: { content: { 'application/json': { schema: z.object({ a: z.string() }) } } },
      },
      middleware: [(_c, next) => next()],
      responses: ok,
    });
    expect(() => validatedRoute(app, route, (c) => respond(c, 200, null, 'text/plain'))).toThrow(
      new Error(
        'PUT /things/{id}: validatedRoute checks params and query only; use app.openapi() for body, middleware',
      ),
    );
  });

  it('names a body alone, and nothing else', () => {
    const app = new OpenAPIHono<ServiceEnv>();
    const route = createRoute({
      method: 'post',
      path: '/things',
      request: {
        body: { content: { 'application/json': { schema: z.object({ a: z.string() }) } } },
      },
      responses: ok,
    });
    expect(() => validatedRoute(app, route, (c) => respond(c, 200, null, 'text/plain'))).toThrow(
      new Error(
        'POST /things: validatedRoute checks params and query only; use app.openapi() for body',
      ),
    );
  });
});
