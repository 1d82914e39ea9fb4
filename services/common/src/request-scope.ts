// What every request gets around a service's Hono app: an id, one log line, and draining's
// `Connection: close`. It wraps the app's own fetch (the one entry @hono/node-server and
// app.request() call), so it sees every request and every answer, whatever route, middleware
// or error handler produced it.
//
// It is not an app.use() middleware, nor hono/request-id, on purpose: any app-level middleware
// puts every request on Hono's asynchronous compose path (an empty one cost book-service about
// 10% more CPU per request), and hono/request-id sets its header with c.header(), which gives
// every answer a WHATWG Headers (with it, 1.2x Fastify's CPU per request; bench/README.md).
// Wrapping fetch keeps a request that one handler answers synchronous from the socket to the
// response.
import type { Context, ExecutionContext } from 'hono';
import { getPathNoStrict } from 'hono/utils/url';
import { REQUEST_ID } from './input-rules.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { Logger } from './logger.ts';

/** What the scope puts on each request's Hono env (`c.env`), for handlers and the log line. */
export interface RequestScope {
  /** The caller's `x-request-id` (else `x-amzn-trace-id`) when it is a sane id, else a UUID. */
  requestId: string;
  /** The path the app routed, as `routedPath` recorded it (the log line's `path`). */
  path?: string;
  /** The response `respond()` built for this request, which already carries `x-request-id`. */
  answered?: Response;
}

/** The Hono env of a service's app: the request scope as its bindings. */
export type ServiceEnv = { Bindings: RequestScope };

/** A Hono app's fetch: what @hono/node-server and app.request() call. */
export type Fetch = (
  request: Request,
  env?: object,
  executionCtx?: ExecutionContext,
) => Response | Promise<Response>;

/** The request's headers as the Node request parsed them, when @hono/node-server is in front. */
type NodeHeaders = Record<string, string | string[] | undefined>;

/**
 * One request header. On @hono/node-server it is read from the Node request's own header
 * object (`env.incoming.headers`, names lowercased, repeats joined with ", "), which holds what
 * the adapter's Headers wrapper would look it up in, without the wrapper's name checks;
 * elsewhere (app.request(), another runtime) from the Request.
 */
function headerOf(request: Request, node: NodeHeaders | undefined, name: string) {
  if (node === undefined) return request.headers.get(name) ?? undefined;
  const value = node[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The id a request gets: `x-request-id` when present and made of `[\w.:;=/+-]` (at most 200),
 * else, when `x-request-id` is absent, the ALB's `x-amzn-trace-id` (`Root=1-...;Parent=...`)
 * by the same rule, else a new UUID.
 */
export function chooseRequestId(request: Request, node?: NodeHeaders): string {
  const given =
    headerOf(request, node, 'x-request-id') ?? headerOf(request, node, 'x-amzn-trace-id');
  return given !== undefined && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/**
 * Hono's `strict: false` path (/api/books/ is /api/books, as the seed's Express had it), also
 * kept on the request's scope for its log line. Given to the app as its `getPath`, which Hono
 * calls once per request with the env.
 */
export function routedPath(request: Request, options?: { env?: object }): string {
  const path = getPathNoStrict(request);
  if (options?.env) (options.env as RequestScope).path = path;
  return path;
}

/**
 * An answer with plain headers, `x-request-id` among them. @hono/node-server writes a response
 * built from a plain header object straight to the socket; `c.header()` or a second header in
 * `c.body()` makes Hono build a WHATWG `Headers` that the adapter then copies back.
 */
export function respond(
  c: Context<ServiceEnv>,
  status: number,
  body: string | null,
  contentType: string,
  extraHeaders?: Record<string, string>,
): Response {
  const scope: RequestScope | undefined = c.env;
  const requestId = scope?.requestId;
  // One literal per shape: the adapter copies these keys into the response head.
  const headers: Record<string, string> =
    requestId === undefined
      ? { 'content-type': contentType }
      : { 'content-type': contentType, 'x-request-id': requestId };
  if (extraHeaders) Object.assign(headers, extraHeaders);
  const response = new Response(body, { status, headers });
  if (scope) scope.answered = response;
  return response;
}

export interface ScopeOptions {
  lifecycle: Lifecycle;
  logger: Logger;
  /** Where a request that may carry a body goes instead of `route` (the body limit). */
  routeWithBody: Fetch;
}

/** After the app answered: the id on answers respond() did not build, draining, the line. */
function finish(
  response: Response,
  request: Request,
  scope: RequestScope,
  started: number,
  { lifecycle, logger }: Omit<ScopeOptions, 'routeWithBody'>,
): Response {
  const { requestId } = scope;
  // Answers built by other code than respond(): the document, Hono's HEAD, a service's own.
  if (response !== scope.answered) response.headers.set('x-request-id', requestId);
  // After the app answered, so a request in flight when draining began closes too.
  if (lifecycle.draining) response.headers.set('connection', 'close');
  // No line to write (LOG_LEVEL above info): skip the work of building it.
  if (!logger.isLevelEnabled('info')) return response;
  const durationMs = Math.round((performance.now() - started) * 100) / 100;
  const path = scope.path ?? getPathNoStrict(request);
  const { method } = request;
  logger.info({ method, path, status: response.status, durationMs, requestId }, 'request');
  return response;
}

/** `route` (the app's own fetch) wrapped in the request scope. */
export function withRequestScope(route: Fetch, options: ScopeOptions): Fetch {
  const { routeWithBody } = options;
  return (request, env, executionCtx) => {
    const started = performance.now();
    // @hono/node-server passes a new `{ incoming, outgoing }` per request; app.request() none.
    const scope = (env ?? {}) as RequestScope & { incoming?: { headers: NodeHeaders } };
    scope.requestId = chooseRequestId(request, scope.incoming?.headers);
    const method = request.method;
    const answer = (method === 'GET' || method === 'HEAD' ? route : routeWithBody)(
      request,
      scope,
      executionCtx,
    );
    return answer instanceof Promise
      ? answer.then((response) => finish(response, request, scope, started, options))
      : finish(answer, request, scope, started, options);
  };
}
