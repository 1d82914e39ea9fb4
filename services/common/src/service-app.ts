// What every service shares around its own routes: request ids and one log line per request,
// the body limit, the health check that turns 503 while draining, the OpenAPI document, and
// errors as problem+json (404, 405 with Allow, 413, 400, and a 500 that never leaks a stack).

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
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

interface ServiceAppOptions extends ServiceDeps {
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

const ProblemSchema = z
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

/** The caller's id when it is a sane one (ALB, API Gateway or the client), else a new one. */
function chooseRequestId(given: string | undefined): string {
  return given !== undefined && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

function pickRequestId(c: Context): string {
  return chooseRequestId(c.req.header('x-request-id') ?? c.req.header('x-amzn-trace-id'));
}

/** The one log line per request, the same from the fast path and from Hono. */
function logRequest(
  logger: Logger,
  method: string,
  path: string,
  status: number,
  started: number,
  requestId: string,
): void {
  if (!logger.enabled('info')) return;
  const durationMs = Math.round((performance.now() - started) * 100) / 100;
  logger.info('request', { method, path, status, durationMs, requestId });
}

/**
 * Answers a request straight from node:http when it is one of the app's static GETs, and
 * says whether it did. Hono's dispatch with our middleware cost about twice raw node:http's
 * CPU per request (profile in bench/README.md) for bodies that never change; this path keeps
 * what the middleware adds (request id, draining, the log line) and nothing else.
 */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

const fastPaths = new WeakMap<object, FastPath>();
const staticGets = new WeakMap<object, Map<string, Buffer>>();

/** The fast path of an app made by createServiceApp; undefined for any other app. */
export function fastPathOf(app: object): FastPath | undefined {
  return fastPaths.get(app);
}

/**
 * Declares that GET `path` (exactly that request target, no query) always answers 200 with
 * this JSON body. The route must still be registered with Hono: HEAD, `path/`, queries and
 * in-process callers (app.fetch) go through it, and the OpenAPI document describes it.
 */
export function registerStaticJson(app: OpenAPIHono, path: string, body: string): void {
  const table = staticGets.get(app);
  if (table === undefined) throw new Error('registerStaticJson: not an app of createServiceApp');
  table.set(path, Buffer.from(body));
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function createFastPath(table: Map<string, Buffer>, deps: ServiceDeps): FastPath {
  const { lifecycle, logger } = deps;
  return (req, res) => {
    if (req.method !== 'GET' || req.url === undefined) return false;
    const body = table.get(req.url);
    if (body === undefined) return false;
    const started = performance.now();
    const requestId = chooseRequestId(
      headerValue(req, 'x-request-id') ?? headerValue(req, 'x-amzn-trace-id'),
    );
    const headers: OutgoingHttpHeaders = {
      'content-type': 'application/json',
      'x-request-id': requestId,
      'content-length': body.length,
    };
    if (lifecycle.draining) headers.connection = 'close';
    res.writeHead(200, headers);
    res.end(body);
    logRequest(logger, 'GET', req.url, 200, started, requestId);
    return true;
  };
}

/** `/api/books/{id}` (OpenAPI) to `/api/books/:id` (Hono). */
const toHonoPath = (openApiPath: string) => openApiPath.replace(/\{([^}]+)\}/g, ':$1');

/** Request ids, draining's `connection: close`, the access log and the body limit. */
function useRequestMiddleware(app: OpenAPIHono, { lifecycle, logger }: ServiceAppOptions): void {
  app.use(async (c, next) => {
    const started = performance.now();
    const requestId = pickRequestId(c);
    c.header('x-request-id', requestId);
    if (lifecycle.draining) c.header('connection', 'close');
    await next();
    // Draining may have begun while this request was in flight.
    if (lifecycle.draining) c.res.headers.set('connection', 'close');
    logRequest(logger, c.req.method, c.req.path, c.res.status, started, requestId);
  });

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

/** The health check the load balancer polls, and the OpenAPI document. */
function registerHealthAndDocs(app: OpenAPIHono, options: ServiceAppOptions): void {
  const { lifecycle, basePath } = options;
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
}

/** 405 for a known path with a method it does not have. Hono answers HEAD with GET routes. */
function answerWrongMethods(app: OpenAPIHono, basePath: string): void {
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
}

/** Methods named like Object.prototype members, routed as the unknown methods they are. */
function routeOddMethods(app: OpenAPIHono): void {
  // Hono's trie router looks the method up as a key of a plain object, so a method named
  // like an Object.prototype member ("toString", "constructor") throws inside routing, where
  // no middleware or onError runs (found by test/reliability/fuzz-services.test.ts). Node's
  // HTTP parser refuses such methods; in-process callers and other runtimes do not. Every
  // prototype key has a lowercase letter, so the uppercased token routes as the unknown
  // method it is: 405 on a known path, 404 elsewhere.
  const route = app.fetch;
  app.fetch = (request, ...rest) =>
    request.method in Object.prototype
      ? route(new Request(request, { method: request.method.toUpperCase() }), ...rest)
      : route(request, ...rest);
}

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
  const table = new Map<string, Buffer>();
  staticGets.set(app, table);
  fastPaths.set(app, createFastPath(table, { lifecycle, logger }));

  useRequestMiddleware(app, options);

  registerHealthAndDocs(app, options);
  options.routes(app);

  answerWrongMethods(app, basePath);

  app.notFound((c) => problem(c, 404, `No resource at ${c.req.path}.`));

  app.onError((error, c) => {
    logger.error('unhandled error', { path: c.req.path, error: String(error) });
    return problem(c, 500, 'The service failed to answer this request. It has been logged.');
  });

  routeOddMethods(app);

  return app;
}
