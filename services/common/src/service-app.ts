// What every service shares around its own routes: request ids and one log line per request,
// the body limit, the health check that turns 503 while draining, the OpenAPI document, and
// errors as problem+json (404, 405 with Allow, 413, 400, and a 500 that never leaks a stack).

import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { type RequestIdVariables, requestId } from 'hono/request-id';
import type { Lifecycle } from './lifecycle.ts';
import type { Logger } from './logger.ts';
import { PROBLEM_CONTENT_TYPE, type Problem, problemBody, statusTitle } from './problem.ts';

/** Requests carry no body in this API; anything larger than this is refused with 413. */
export const MAX_BODY_BYTES = 16 * 1024;

/** What the app's middleware puts on each request's context: Hono's request id. */
export type ServiceEnv = { Variables: RequestIdVariables };

const REQUEST_ID_MAX = 200;
const REQUEST_ID = new RegExp(`^[\\w.:;=/+-]{1,${REQUEST_ID_MAX}}$`);

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
  routes: (app: OpenAPIHono<ServiceEnv>) => void;
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
        description: statusTitle(status),
        content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
      },
    ]),
  );

const HEALTH_TAG = 'health';

const HealthSchema = z.object({ status: z.enum(['ok', 'draining']) }).openapi('Health');

/** The project's licence (package.json `license`; a test checks they agree). */
export const LICENSE = 'MIT-0';

/** `book-service` → `BookService`: operationIds are built from names like this. */
export const pascalCase = (name: string) =>
  name.replace(/(?:^|[-_\s]+)(\w)/g, (_, first: string) => first.toUpperCase());

const tagDescriptions = new WeakMap<object, Map<string, string>>();

/** Describes a tag that the app's operations use, for the document's `tags` list. */
export function describeTag(app: OpenAPIHono<ServiceEnv>, name: string, description: string): void {
  const tags = tagDescriptions.get(app);
  if (tags === undefined) throw new Error('describeTag: not an app of createServiceApp');
  tags.set(name, description);
}

/** What the document says beyond its routes: where to send requests, who may, tags, licence. */
function documentConfig(app: OpenAPIHono<ServiceEnv>, options: ServiceAppOptions) {
  const described = tagDescriptions.get(app) ?? new Map<string, string>();
  const used = new Set(
    app.openAPIRegistry.definitions.flatMap((d) =>
      d.type === 'route' ? (d.route.tags ?? []) : [],
    ),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: options.title,
      version: options.version,
      description: options.description,
      license: { name: LICENSE, identifier: LICENSE },
    },
    // The paths below are the full paths, and every hop forwards them unchanged (the HTTP API's
    // $default stage adds no prefix, the internal ALB rewrites none), so the server is the root
    // of whatever origin served this document: the HTTP API, its custom domain, the ALB.
    servers: [{ url: '/', description: 'The origin that served this document' }],
    // Public: no operation needs credentials from the service. (The addon's optional JWT
    // authorizer sits in front, in API Gateway, and is not part of this service's contract.)
    security: [],
    tags: [...used].sort().map((name) => ({ name, description: described.get(name) ?? name })),
  };
}

/** The caller's id when it is a sane one (ALB, API Gateway or the client), else a new one. */
function chooseRequestId(given: string | undefined): string {
  return given !== undefined && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/**
 * Hono's request-id middleware, with our rule for ids it refuses: it takes `x-request-id`
 * when it is `[\w=-]` only (a subset of ours, at our length limit); for anything else the
 * generator applies our rule, which also accepts the ALB's `x-amzn-trace-id`
 * (`Root=1-...;Parent=...`), so the id a request gets is the one it got before.
 */
const requestIds = requestId({
  headerName: 'x-request-id',
  limitLength: REQUEST_ID_MAX,
  generator: (c) =>
    chooseRequestId(c.req.header('x-request-id') ?? c.req.header('x-amzn-trace-id')),
});

/** The app, with schema validation failures answered as 400 problems. */
function newApp(): OpenAPIHono<ServiceEnv> {
  return new OpenAPIHono<ServiceEnv>({
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
}

/** Draining's `connection: close` and the log line, request ids, 405 with Allow, the body limit. */
function useRequestMiddleware(
  app: OpenAPIHono<ServiceEnv>,
  { lifecycle, logger }: ServiceAppOptions,
) {
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    // After the app answered, so a request in flight when draining began closes too.
    if (lifecycle.draining) c.res.headers.set('connection', 'close');
    // No line to write (LOG_LEVEL above info): skip the work of building it.
    if (!logger.isLevelEnabled('info')) return;
    const durationMs = Math.round((performance.now() - started) * 100) / 100;
    const { method, path } = c.req;
    const requestId = c.get('requestId');
    logger.info({ method, path, status: c.res.status, durationMs, requestId }, 'request');
  });
  app.use(requestIds);
  // A known path asked with a method it does not have: 405 with Allow (Hono answers HEAD with
  // the GET routes, and the middleware lists HEAD wherever GET is).
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => {
        const allow = methods.join(', ');
        const detail = `${c.req.method} is not allowed on ${c.req.path}. Allowed: ${allow}.`;
        return problem(c, 405, detail, { headers: { allow } });
      },
    }),
  );

  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => problem(c, 413, `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`),
  });
  // A GET or HEAD request has no body (fetch gives it none), so the limit would pass it
  // anyway; but asking for the body makes @hono/node-server build a full WHATWG Request,
  // which was the largest single cost of GET /api/books in the CPU profile.
  app.use((c, next) =>
    c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next),
  );
}

/** The health route the ALB's health check calls (the manifest's `http.healthcheck`). */
function registerHealth(
  app: OpenAPIHono<ServiceEnv>,
  { lifecycle, basePath, title }: ServiceAppOptions,
) {
  app.openapi(
    createRoute({
      method: 'get',
      path: `${basePath}/health`,
      operationId: `get${pascalCase(title)}Health`,
      tags: [HEALTH_TAG],
      summary: 'Health check used by the load balancer',
      responses: {
        200: {
          description: 'Serving',
          content: {
            'application/json': { schema: HealthSchema, example: { status: 'ok' as const } },
          },
        },
        503: {
          description: 'Draining before shutdown',
          content: {
            'application/json': { schema: HealthSchema, example: { status: 'draining' as const } },
          },
        },
      },
    }),
    (c) =>
      lifecycle.draining
        ? c.json({ status: 'draining' as const }, 503)
        : c.json({ status: 'ok' as const }, 200),
  );
}

/**
 * Hono's trie router looks the method up as a key of a plain object, so a method named like
 * an Object.prototype member ("toString", "constructor") throws inside routing, where no
 * middleware or onError runs (found by test/reliability/fuzz-services.test.ts). Node's HTTP
 * parser refuses such methods; in-process callers and other runtimes do not. Every prototype
 * key has a lowercase letter, so the uppercased token routes as the unknown method it is: 405
 * on a known path, 404 elsewhere.
 */
function routeOddMethods(app: OpenAPIHono<ServiceEnv>): void {
  const route = app.fetch;
  app.fetch = (request, ...rest) =>
    request.method in Object.prototype
      ? route(new Request(request, { method: request.method.toUpperCase() }), ...rest)
      : route(request, ...rest);
}

export function createServiceApp(options: ServiceAppOptions): OpenAPIHono<ServiceEnv> {
  const { logger, basePath } = options;
  const app = newApp();
  tagDescriptions.set(app, new Map([[HEALTH_TAG, 'Whether the service is serving']]));
  useRequestMiddleware(app, options);
  registerHealth(app, options);
  app.doc31(`${basePath}/openapi.json`, () => documentConfig(app, options));
  options.routes(app);
  app.notFound((c) => problem(c, 404, `No resource at ${c.req.path}.`));
  app.onError((error, c) => {
    logger.error({ path: c.req.path, error: String(error) }, 'unhandled error');
    return problem(c, 500, 'The service failed to answer this request. It has been logged.');
  });
  routeOddMethods(app);
  return app;
}
