// A read-only collection of items with integer ids: the shape of both seed services.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { MAX_ID } from './input-rules.ts';
import { problem } from './problem.ts';
import { respond } from './request-scope.ts';
import { describeTag, pascalCase, problemResponses, type ServiceEnv } from './service-app.ts';
import { validatedRoute } from './validated-route.ts';

const IdParam = z.object({
  id: z
    .string()
    .regex(/^\d+$/, { message: 'must be a positive integer', abort: true })
    // Leading zeros do not make an id longer (`000000000001` is 1). Digits only, so Number()
    // is exact up to 2^53, and any longer string is far above MAX_ID however it rounds.
    .refine((value) => Number(value) >= 1 && Number(value) <= MAX_ID, {
      message: `must be between 1 and ${MAX_ID}`,
    })
    .openapi({ example: '1' }),
});

/**
 * A query parameter's string. A key given twice reads as an array (route-input.ts), which a
 * string refuses; the caller is told which key and why, not zod's "expected string".
 */
const queryParam = () =>
  z.string({ error: (issue) => (Array.isArray(issue.input) ? 'must be given once' : undefined) });

const ListQuery = z.object({
  limit: queryParam()
    .regex(/^\d{1,3}$/, { message: 'must be an integer from 1 to 100', abort: true })
    .refine((value) => Number(value) >= 1 && Number(value) <= 100, {
      message: 'must be an integer from 1 to 100',
    })
    .optional()
    .openapi({ example: '10' }),
  offset: queryParam()
    .regex(/^\d{1,9}$/, 'must be a non-negative integer')
    .optional()
    .openapi({ example: '0' }),
});

export interface CatalogOptions<T extends { id: number }> {
  /** Plural, as in the path: "books". Also the operations' tag. */
  resource: string;
  /** Singular: "book". Names the operations: listBooks, getBook. */
  item: string;
  basePath: string;
  schema: z.ZodType<T>;
  items: readonly T[];
}

export function registerCatalogRoutes<T extends { id: number }>(
  app: OpenAPIHono<ServiceEnv>,
  { resource, item: itemName, basePath, schema, items }: CatalogOptions<T>,
): void {
  describeTag(app, resource, `The ${resource}, read-only`);
  // Items by id, not their bodies: each answer is serialised when asked, as a service reading
  // a database would have to, so the figures in bench/README.md hold for one.
  const byId = new Map(items.map((item) => [item.id, item]));
  const send = (c: Context<ServiceEnv>, body: string) => respond(c, 200, body, 'application/json');

  validatedRoute(
    app,
    createRoute({
      method: 'get',
      path: basePath,
      operationId: `list${pascalCase(resource)}`,
      tags: [resource],
      summary: `List ${resource}`,
      request: { query: ListQuery },
      responses: {
        200: {
          description: `The ${resource}, in id order`,
          content: { 'application/json': { schema: z.array(schema), example: items.slice(0, 2) } },
        },
        ...problemResponses(400),
      },
    }),
    (c, { query: { limit, offset } }) => {
      if (limit === undefined && offset === undefined) return send(c, JSON.stringify(items));
      const start = Number(offset ?? 0);
      const page = items.slice(start, start + Number(limit ?? items.length));
      return send(c, JSON.stringify(page));
    },
  );

  validatedRoute(
    app,
    createRoute({
      method: 'get',
      path: `${basePath}/{id}`,
      operationId: `get${pascalCase(itemName)}`,
      tags: [resource],
      summary: `Get one of the ${resource} by id`,
      request: { params: IdParam },
      responses: {
        200: {
          description: 'Found',
          content: { 'application/json': { schema, example: items[0] } },
        },
        ...problemResponses(400, 404),
      },
    }),
    (c, { param: { id } }) => {
      const found = byId.get(Number(id));
      if (found === undefined)
        return problem(c, 404, `There is no ${resource} item with id ${id}.`);
      return send(c, JSON.stringify(found));
    },
  );
}
