import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { registerCatalogRoutes } from '../../../common/src/catalog-routes.ts';
import type { ServiceEnv } from '../../../common/src/service-app.ts';
import { type Book, books } from '../data.ts';

export const BookSchema: z.ZodType<Book> = z
  .object({
    id: z.number().int().openapi({ example: 1 }),
    isbn: z.number().int().openapi({ description: 'ISBN-13 as a number', example: 9781119490708 }),
    title: z.string(),
    publisher: z.string(),
    date: z
      .string()
      .regex(/^\d{2}\/\d{2}\/\d{4}$/)
      .openapi({ description: 'MM/DD/YYYY', example: '07/02/2019' }),
  })
  .openapi('Book');

export function booksRoutes(app: OpenAPIHono<ServiceEnv>, basePath: string): void {
  registerCatalogRoutes(app, {
    resource: 'books',
    item: 'book',
    basePath,
    schema: BookSchema,
    items: books,
  });
}
