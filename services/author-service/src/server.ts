import { runService } from '../../common/src/server.ts';
import { createApp, DEFAULT_PORT, SERVICE_NAME } from './app.ts';

await runService({ createApp, service: SERVICE_NAME, defaultPort: DEFAULT_PORT });
