import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { registerCatalogRoutes } from '../../../common/src/catalog-routes.ts';
import type { ServiceEnv } from '../../../common/src/service-app.ts';
import { type Author, authors } from '../data.ts';

export const AuthorSchema: z.ZodType<Author> = z
  .object({
    id: z.number().int().openapi({ example: 1 }),
    name: z.string(),
    book: z.string().openapi({ description: 'Title of a book by this author' }),
  })
  .openapi('Author');

export function authorsRoutes(app: OpenAPIHono<ServiceEnv>, basePath: string): void {
  registerCatalogRoutes(app, {
    resource: 'authors',
    item: 'author',
    basePath,
    schema: AuthorSchema,
    items: authors,
  });
}
