// documentDrift (catalog-contract.ts), which every catalog service's tests run on themselves,
// run here on broken copies of a catalog service, so it cannot pass vacuously: a route whose
// answers changed without its schema, or a schema changed without its route, is reported.
import { z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { registerCatalogRoutes } from '../src/catalog-routes.ts';
import { createServiceApp, type ServiceDeps } from '../src/service-app.ts';
import { documentDrift } from './catalog-contract.ts';

const basePath = '/api/things';
const Thing = z.object({ id: z.number().int(), name: z.string() }).openapi('Thing');
const things = [
  { id: 1, name: 'one' },
  { id: 2, name: 'two' },
];

/** A catalog service serving `items` and documenting them with `schema`. */
function catalog(schema: z.ZodType<{ id: number }>, items: readonly { id: number }[]) {
  const createApp = (deps: ServiceDeps) =>
    createServiceApp({
      ...deps,
      title: 'thing-service',
      version: '1.0.0',
      description: 'Things.',
      basePath,
      routes: (app) =>
        registerCatalogRoutes(app, { resource: 'things', item: 'thing', basePath, schema, items }),
    });
  return documentDrift({ createApp, basePath, items });
}

describe('documentDrift', () => {
  it('finds nothing when the routes answer what the schemas say', async () => {
    expect(await catalog(Thing, things)).toEqual([]);
  });

  it('reports a route that sends a field its schema lacks', async () => {
    const problems = await catalog(
      Thing,
      things.map((t) => ({ ...t, colour: 'red' })),
    );
    expect(problems).toContain(
      'GET /api/things/{id} 200 body: (body) must NOT have unevaluated properties',
    );
  });

  it('reports a route whose field changed type without its schema', async () => {
    const problems = await catalog(
      Thing,
      things.map((t) => ({ ...t, name: t.id })),
    );
    expect(problems).toContain('GET /api/things 200 body: /0/name must be string');
  });

  it('reports a schema that gained a field its route never sends', async () => {
    const problems = await catalog(Thing.extend({ size: z.number() }), things);
    expect(problems).toContain(
      "GET /api/things/{id} 200 body: (body) must have required property 'size'",
    );
  });

  it('reports a schema whose field changed type without its route', async () => {
    const problems = await catalog(Thing.extend({ name: z.number() }), things);
    expect(problems).toContain('GET /api/things/{id} 200 body: /name must be number');
  });
});
