// For tests that run a service's start-up in a fresh Node (`node --eval`): module source that
// starts a do-nothing service with startService(), on a free port of 127.0.0.1, as `running`.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const src = path.join(import.meta.dirname, '..', 'src');
const url = (file: string) => JSON.stringify(pathToFileURL(path.join(src, file)).href);

export const START_PROBE_SERVICE = `const { startService } = await import(${url('server.ts')});
const { createLogger } = await import(${url('logger.ts')});
const running = await startService({
  service: 'probe',
  port: 0,
  hostname: '127.0.0.1',
  logger: createLogger({ service: 'probe', level: 'silent' }),
  createApp: () => ({ fetch: () => new Response('') }),
});`;
