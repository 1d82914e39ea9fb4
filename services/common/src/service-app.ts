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

const HEALTH_TAG = 'health';

const HealthSchema = z.object({ status: z.enum(['ok', 'draining']) }).openapi('Health');

/** The project's licence (package.json `license`; a test checks they agree). */
export const LICENSE = 'MIT-0';

/** `book-service` → `BookService`: operationIds are built from names like this. */
export const pascalCase = (name: string) =>
  name.replace(/(?:^|[-_\s]+)(\w)/g, (_, first: string) => first.toUpperCase());

const tagDescriptions = new WeakMap<object, Map<string, string>>();

/** Describes a tag that the app's operations use, for the document's `tags` list. */
export function describeTag(app: OpenAPIHono, name: string, description: string): void {
  const tags = tagDescriptions.get(app);
  if (tags === undefined) throw new Error('describeTag: not an app of createServiceApp');
  tags.set(name, description);
}

/** What the document says beyond its routes: where to send requests, who may, tags, licence. */
function documentConfig(app: OpenAPIHono, options: ServiceAppOptions) {
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
  tagDescriptions.set(app, new Map([[HEALTH_TAG, 'Whether the service is serving']]));
  fastPaths.set(app, createFastPath(table, { lifecycle, logger }));

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

  app.openapi(
    createRoute({
      method: 'get',
      path: `${basePath}/health`,
      operationId: `get${pascalCase(options.title)}Health`,
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

  app.doc31(`${basePath}/openapi.json`, () => documentConfig(app, options));

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

  return app;
}
