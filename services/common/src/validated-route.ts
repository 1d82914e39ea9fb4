// A route described once, for the OpenAPI document and for validation: its path parameters and
// query are checked against the route's own zod schemas, synchronously, inside the route's one
// Hono handler. @hono/zod-openapi's `app.openapi()` checks the same schemas in an asynchronous
// middleware per request part (`safeParseAsync` behind Hono's validator), which puts every
// request on Hono's asynchronous compose path: that path alone, with an empty middleware, cost
// book-service about 10% more CPU per request (bench/README.md).
import type { OpenAPIHono, RouteConfig, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { invalidInput } from './problem.ts';
import type { ServiceEnv } from './request-scope.ts';
import { paramsChecker, queryOf } from './route-input.ts';

type Part<R extends RouteConfig, K extends 'params' | 'query'> =
  R['request'] extends Record<K, infer Schema extends z.ZodType> ? z.output<Schema> : undefined;

/** What a handler receives: the validated path parameters and query, as their schemas output. */
export interface RouteInput<R extends RouteConfig> {
  param: Part<R, 'params'>;
  query: Part<R, 'query'>;
}

export type ValidatedHandler<R extends RouteConfig> = (
  c: Context<ServiceEnv>,
  input: RouteInput<R>,
) => Response;

/** `/api/books/{id}` (OpenAPI) as Hono routes it: `/api/books/:id`. */
const honoPath = (path: string) => path.replaceAll(/\/{(.+?)}/g, '/:$1');

/**
 * Registers `route` in the app's OpenAPI document and answers it with `handler`, after checking
 * its params and query: the first that fails is answered 400 (problem+json, each issue named).
 * Routes that take a body, headers or cookies are `app.openapi()`'s, which validates those.
 */
export function validatedRoute<R extends RouteConfig>(
  app: OpenAPIHono<ServiceEnv>,
  route: R,
  handler: ValidatedHandler<R>,
): void {
  const { query, params, ...others } = route.request ?? {};
  const unchecked = Object.keys(others);
  if (unchecked.length > 0 || route.middleware !== undefined) {
    throw new Error(
      `${route.method.toUpperCase()} ${route.path}: validatedRoute checks params and query only; use app.openapi() for ${[...unchecked, ...(route.middleware ? ['middleware'] : [])].join(', ')}`,
    );
  }
  if (!route.hide) app.openAPIRegistry.registerPath(route);
  const names = [...route.path.matchAll(/{(.+?)}/g)].map((match) => match[1] as string);
  const checkParams = params && paramsChecker(params, names);
  app.on(route.method.toUpperCase(), honoPath(route.path), (c) => {
    let checkedQuery: unknown;
    let checkedParams: unknown;
    if (query) {
      const result = query.safeParse(queryOf(c.req.url));
      if (!result.success) return invalidInput(c, 'query', result.error);
      checkedQuery = result.data;
    }
    if (checkParams) {
      const result = checkParams(c);
      if (!result.success) return invalidInput(c, 'param', result.error);
      checkedParams = result.data;
    }
    return handler(c, { param: checkedParams, query: checkedQuery } as RouteInput<R>);
  });
}
