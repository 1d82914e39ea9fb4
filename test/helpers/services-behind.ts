// The services' own apps behind one server on 127.0.0.1, routed by path prefix as the HTTP API
// routes them (any other path: `{"message":"Not Found"}`), or, with `albHost`, as the internal
// ALB's rules do: any other Host gets the default action's 503. Each path asked is recorded.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { createApp as authorApp } from '../../services/author-service/src/app.ts';
import { createApp as bookApp } from '../../services/book-service/src/app.ts';
import { createLifecycle } from '../../services/common/src/lifecycle.ts';
import { createLogger } from '../../services/common/src/logger.ts';

const APPS = { 'book-service': bookApp, 'author-service': authorApp } as const;

export async function servicesBehind(albHost?: string) {
  const deps = {
    lifecycle: createLifecycle(),
    logger: createLogger({ service: 't', level: 'silent' }),
  };
  const routes = loadWorkspace().services.map((s) => ({
    prefix: s.pathPrefix,
    app: APPS[s.name as keyof typeof APPS](deps),
  }));
  const asked: string[] = [];
  const server = http.createServer(
    getRequestListener(async (request) => {
      const url = new URL(request.url);
      asked.push(url.pathname);
      if (albHost !== undefined && url.host !== albHost) {
        return new Response('<html>503</html>', {
          status: 503,
          headers: { 'content-type': 'text/html' },
        });
      }
      const route = routes.find(
        (r) => url.pathname === r.prefix || url.pathname.startsWith(`${r.prefix}/`),
      );
      if (!route) return Response.json({ message: 'Not Found' }, { status: 404 });
      return route.app.fetch(request);
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, asked, close: () => new Promise<void>((r) => server.close(() => r())) };
}
