// What every service shares around its own routes: the request scope (request ids and one log
// line per request, draining's `Connection: close`), the body limit, the health check that
// turns 503 while draining, the OpenAPI document, and errors as problem+json (404, 405 with
// Allow, 413, 400, and a 500 that never leaks a stack).

import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { PatternRouter } from 'hono/router/pattern-router';
import type { Lifecycle } from './lifecycle.ts';
import type { Logger } from './logger.ts';
import { invalidInput, PROBLEM_CONTENT_TYPE, problem, statusTitle } from './problem.ts';
import { respond, routedPath, type ServiceEnv, withRequestScope } from './request-scope.ts';
import { validatedRoute } from './validated-route.ts';

export type { ServiceEnv } from './request-scope.ts';

/** Requests carry no body in this API; anything larger than this is refused with 413. */
export const MAX_BODY_BYTES = 16 * 1024;

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

/**
 * The app, with schema validation failures answered as 400 problems. Hono's pattern router
 * (one regular expression per route) matches these few routes in fewer instructions than its
 * trie router, and the regular-expression router refuses `/health` beside `/{id}`.
 */
function newApp(): OpenAPIHono<ServiceEnv> {
  return new OpenAPIHono<ServiceEnv>({
    router: new PatternRouter(),
    getPath: routedPath,
    // For routes a service registers with app.openapi(): the same 400 as validatedRoute's.
    defaultHook: (result, c) =>
      result.success ? undefined : invalidInput(c, result.target, result.error),
  });
}

/** The health route the ALB's health check calls (the manifest's `http.healthcheck`). */
function registerHealth(
  app: OpenAPIHono<ServiceEnv>,
  { lifecycle, basePath, title }: ServiceAppOptions,
) {
  const route = createRoute({
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
  });
  validatedRoute(app, route, (c) =>
    lifecycle.draining
      ? respond(c, 503, JSON.stringify({ status: 'draining' }), 'application/json')
      : respond(c, 200, JSON.stringify({ status: 'ok' }), 'application/json'),
  );
}

/**
 * What no route answers: a known path asked with a method it does not have gets 405 with Allow
 * (Hono's method-not-allowed middleware; Hono answers HEAD with the GET routes, and the
 * middleware lists HEAD wherever GET is), anything else 404. Only requests that reach no route
 * come here, so the routes' requests do not pass through it.
 */
function answerUnrouted(app: OpenAPIHono<ServiceEnv>) {
  const notAllowed = methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) => {
      const allow = methods.join(', ');
      const detail = `${c.req.method} is not allowed on ${c.req.path}. Allowed: ${allow}.`;
      return problem(c, 405, detail, { headers: { allow } });
    },
  });
  app.notFound(async (c) => {
    await notAllowed(c, async () => {
      c.res = problem(c, 404, `No resource at ${c.req.path}.`);
    });
    return c.res;
  });
}

/**
 * The way in for requests that may carry a body (every method but GET and HEAD): Hono's body
 * limit, then the app. GET and HEAD go straight to the app: fetch gives them no body, and
 * asking for one makes @hono/node-server build a full WHATWG Request.
 */
function limitBodies(route: OpenAPIHono<ServiceEnv>['fetch']) {
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => problem(c, 413, `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`),
  });
  return new Hono<ServiceEnv>().use(limitBody).all('*', (c) => route(c.req.raw, c.env)).fetch;
}

export function createServiceApp(options: ServiceAppOptions): OpenAPIHono<ServiceEnv> {
  const { lifecycle, logger, basePath } = options;
  const app = newApp();
  tagDescriptions.set(app, new Map([[HEALTH_TAG, 'Whether the service is serving']]));
  registerHealth(app, options);
  app.doc31(`${basePath}/openapi.json`, () => documentConfig(app, options));
  options.routes(app);
  answerUnrouted(app);
  app.onError((error, c) => {
    logger.error({ path: c.req.path, error: String(error) }, 'unhandled error');
    return problem(c, 500, 'The service failed to answer this request. It has been logged.');
  });
  const route = app.fetch;
  app.fetch = withRequestScope(route, { lifecycle, logger, routeWithBody: limitBodies(route) });
  return app;
}
