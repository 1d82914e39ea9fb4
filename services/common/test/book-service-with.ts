// book-service's routes in a real server, with something of a test's own registered before them
// (a middleware, a route): what the socket-level tests of the shared app start.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { BASE_PATH } from '../../book-service/src/app.ts';
import { booksRoutes } from '../../book-service/src/routes/books.ts';
import { createLogger } from '../src/logger.ts';
import { type RunningService, startService } from '../src/server.ts';
import { createServiceApp, type ServiceEnv } from '../src/service-app.ts';

/** Starts it on a free port; its log lines go to `lines`. */
export function startBookServiceWith(
  description: string,
  before: (app: OpenAPIHono<ServiceEnv>) => void,
  lines: string[],
): Promise<RunningService> {
  return startService({
    service: 'book-service',
    port: 0,
    hostname: '127.0.0.1',
    logger: createLogger({ service: 'book-service', write: (chunk) => lines.push(chunk) }),
    createApp: (deps) =>
      createServiceApp({
        ...deps,
        title: 'book-service',
        version: '1.0.0',
        description,
        basePath: BASE_PATH,
        routes: (app) => {
          before(app);
          booksRoutes(app, BASE_PATH);
        },
      }),
  });
}
