// What every service shares around its own routes: request ids and one log line per request,
// the body limit, the health check that turns 503 while draining, the OpenAPI document, and
// errors as problem+json (404, 405 with Allow, 413, 400, and a 500 that never leaks a stack).
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Lifecycle } from './lifecycle.ts';
import type { Logger } from './logger.ts';
import { PROBLEM_CONTENT_TYPE, type Problem, problemBody } from './problem.ts';

/** Requests carry no body in this API; anything larger than this is refused with 413. */
export const MAX_BODY_BYTES = 16 * 1024;

const REQUEST_ID = /^[\w.:;=/+-]{1,200}$/;

export interface ServiceDeps {
  lifecycle: Lifecycle;
  logger: Logger;
}

export interface ServiceAppOptions extends ServiceDeps {
  title: string;
  version: string;
  description: string;
  /** The service's Copilot `http.path` with a leading slash, e.g. /api/books. */
  basePath: string;
  /** Registers the service's resource routes. Called after health and openapi.json. */
  routes: (app: OpenAPIHono) => void;
}

export function problem(
  c: Context,
  status: 400 | 404 | 405 | 413 | 500 | 503,
  detail: string,
  extra: Partial<Pick<Problem, 'errors'>> & { headers?: Record<string, string> } = {},
): Response {
  const { headers, ...members } = extra;
  for (const [name, value] of Object.entries(headers ?? {})) c.header(name, value);
  c.header('content-type', PROBLEM_CONTENT_TYPE);
  return c.body(JSON.stringify(problemBody(status, detail, members)), status);
}

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ location: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: problemBody(status, '').title,
        content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
      },
    ]),
  );

const HealthSchema = z.object({ status: z.enum(['ok', 'draining']) }).openapi('Health');

function pickRequestId(c: Context): string {
  const given = c.req.header('x-request-id') ?? c.req.header('x-amzn-trace-id');
  return given !== undefined && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/** `/api/books/{id}` (OpenAPI) to `/api/books/:id` (Hono). */
const toHonoPath = (openApiPath: string) => openApiPath.replace(/\{([^}]+)\}/g, ':$1');

export function createServiceApp(options: ServiceAppOptions): OpenAPIHono {
  const { lifecycle, logger, basePath } = options;
  const app = new OpenAPIHono({
    // As the seed's Express did: /api/books/ is /api/books (the ALB rule sends both).
    strict: false,
    defaultHook: (result, c) => {
      if (result.success) return;
      const errors = result.error.issues.map((issue) => ({
        location: [result.target, ...issue.path.map(String)].join('.'),
        message: issue.message,
      }));
      const detail = errors.map((e) => `${e.location}: ${e.message}`).join('; ');
      return problem(c, 400, detail, { errors });
    },
  });

  app.use(async (c, next) => {
    const started = performance.now();
    const requestId = pickRequestId(c);
    c.header('x-request-id', requestId);
    if (lifecycle.draining) c.header('connection', 'close');
    await next();
    // Draining may have begun while this request was in flight.
    if (lifecycle.draining) c.res.headers.set('connection', 'close');
    if (logger.enabled('info')) {
      logger.info('request', {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        requestId,
      });
    }
  });

  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => problem(c, 413, `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`),
    }),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${basePath}/health`,
      summary: 'Health check used by the load balancer',
      responses: {
        200: { description: 'Serving', content: { 'application/json': { schema: HealthSchema } } },
        503: {
          description: 'Draining before shutdown',
          content: { 'application/json': { schema: HealthSchema } },
        },
      },
    }),
    (c) =>
      lifecycle.draining
        ? c.json({ status: 'draining' as const }, 503)
        : c.json({ status: 'ok' as const }, 200),
  );

  app.doc31(`${basePath}/openapi.json`, {
    openapi: '3.1.0',
    info: { title: options.title, version: options.version, description: options.description },
  });

  options.routes(app);

  // 405 for a known path with a method it does not have. Hono answers HEAD with GET routes.
  const methodsByPath = new Map<string, Set<string>>([
    [`${basePath}/openapi.json`, new Set(['GET'])],
  ]);
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== 'route') continue;
    const honoPath = toHonoPath(definition.route.path);
    const methods = methodsByPath.get(honoPath) ?? new Set<string>();
    methods.add(definition.route.method.toUpperCase());
    methodsByPath.set(honoPath, methods);
  }
  for (const [honoPath, methods] of methodsByPath) {
    if (methods.has('GET')) methods.add('HEAD');
    const allow = [...methods].join(', ');
    app.all(honoPath, (c) =>
      problem(c, 405, `${c.req.method} is not allowed on ${c.req.path}. Allowed: ${allow}.`, {
        headers: { allow },
      }),
    );
  }

  app.notFound((c) => problem(c, 404, `No resource at ${c.req.path}.`));

  app.onError((error, c) => {
    logger.error('unhandled error', { path: c.req.path, error: String(error) });
    return problem(c, 500, 'The service failed to answer this request. It has been logged.');
  });

  return app;
}
