import type { OpenAPIHono } from '@hono/zod-openapi';
import {
  createServiceApp,
  type ServiceDeps,
  type ServiceEnv,
} from '../../common/src/service-app.ts';
import { authorsRoutes } from './routes/authors.ts';

export const SERVICE_NAME = 'author-service';
/** Must equal `image.port` in copilot/author-service/manifest.yml (the contract test checks). */
export const DEFAULT_PORT = 3001;
export const BASE_PATH = '/api/authors';

export function createApp(deps: ServiceDeps): OpenAPIHono<ServiceEnv> {
  return createServiceApp({
    ...deps,
    title: 'author-service',
    version: '1.0.0',
    description: 'The author catalog, served behind the internal ALB at /api/authors.',
    basePath: BASE_PATH,
    routes: (app) => authorsRoutes(app, BASE_PATH),
  });
}
