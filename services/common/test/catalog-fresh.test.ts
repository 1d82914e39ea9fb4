// No cache of response bodies: a catalog's answers are built from its items when asked, as a
// service reading a database would have to build them (issue 24: the CPU per request in
// bench/README.md is measured on that work, not on bodies kept from start-up).

import { z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { registerCatalogRoutes } from '../src/catalog-routes.ts';
import { createLifecycle } from '../src/lifecycle.ts';
import { createLogger } from '../src/logger.ts';
import { createServiceApp } from '../src/service-app.ts';

const Item = z.object({ id: z.number().int(), name: z.string() });

function catalogOf(items: { id: number; name: string }[]) {
  return createServiceApp({
    lifecycle: createLifecycle(),
    logger: createLogger({ service: 'things', level: 'silent' }),
    title: 'things',
    version: '1.0.0',
    description: 'a catalog whose items change',
    basePath: '/api/things',
    routes: (app) =>
      registerCatalogRoutes(app, {
        resource: 'things',
        item: 'thing',
        basePath: '/api/things',
        schema: Item,
        items,
      }),
  });
}

describe('a catalog answers from its items as they are now', () => {
  it.each(['/api/things', '/api/things/1', '/api/things?limit=1'])('%s', async (target) => {
    const items = [{ id: 1, name: 'before' }];
    const app = catalogOf(items);
    expect(await (await app.request(target)).text()).toContain('"before"');
    (items[0] as { name: string }).name = 'after';
    expect(await (await app.request(target)).text()).toContain('"after"');
  });
});
