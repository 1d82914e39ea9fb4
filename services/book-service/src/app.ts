import type { OpenAPIHono } from '@hono/zod-openapi';
import {
  createServiceApp,
  type ServiceDeps,
  type ServiceEnv,
} from '../../common/src/service-app.ts';
import { booksRoutes } from './routes/books.ts';

export const SERVICE_NAME = 'book-service';
/** Must equal `image.port` in copilot/book-service/manifest.yml (the contract test checks). */
export const DEFAULT_PORT = 3000;
export const BASE_PATH = '/api/books';

export function createApp(deps: ServiceDeps): OpenAPIHono<ServiceEnv> {
  return createServiceApp({
    ...deps,
    title: 'book-service',
    version: '1.0.0',
    description: 'The book catalog, served behind the internal ALB at /api/books.',
    basePath: BASE_PATH,
    routes: (app) => booksRoutes(app, BASE_PATH),
  });
}
