// The process around a service's app: listen, and on SIGTERM drain without dropping a request.
// Node's server.close() alone never ends while clients hold keep-alive sockets, so draining
// marks responses `Connection: close`, closes idle sockets, and as a last resort, shortly
// before ECS's stop timeout would SIGKILL us, closes whatever is left.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { settleAsyncContextFrame } from './async-context.ts';
import {
  createLifecycle,
  DEFAULT_DRAIN_TIMEOUT_SECONDS,
  drainSecondsFrom,
  type Lifecycle,
} from './lifecycle.ts';
import { createLogger, type Logger } from './logger.ts';
import { keepMapsWhenIdle } from './memory-reducer.ts';

/** Above the ALB's 60 s idle timeout, so the ALB, not us, closes idle connections. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** How often draining closes the keep-alive sockets that have gone idle since the last look. */
const IDLE_SWEEP_MS = 100;

export type AppFactory = (deps: { lifecycle: Lifecycle; logger: Logger }) => {
  fetch: (request: Request) => unknown;
};

interface StartOptions {
  createApp: AppFactory;
  service: string;
  port: number;
  hostname?: string | undefined;
  logger?: Logger;
  /** How long in-flight requests may take after SIGTERM before their sockets are closed. */
  drainTimeoutMs?: number;
}

export interface RunningService {
  server: Server;
  port: number;
  lifecycle: Lifecycle;
  logger: Logger;
  /** Drains and closes; resolves once every connection is gone. */
  shutdown(reason: string): Promise<void>;
}

export function startService(options: StartOptions): Promise<RunningService> {
  settleAsyncContextFrame();
  const logger = options.logger ?? createLogger({ service: options.service });
  const lifecycle = createLifecycle();
  const app = options.createApp({ lifecycle, logger });
  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_SECONDS * 1000;

  return new Promise((resolve, reject) => {
    // Every request goes through the app: there is no other path.
    const server = createServer(
      getRequestListener(app.fetch, {
        ...(options.hostname ? { hostname: options.hostname } : {}),
      }),
    );
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;

    let closing: Promise<void> | undefined;
    const shutdown = (reason: string): Promise<void> => {
      closing ??= new Promise<void>((done) => {
        lifecycle.draining = true;
        logger.info({ reason, drainTimeoutMs }, 'draining');
        const force = setTimeout(() => {
          logger.warn('drain timeout reached: closing remaining connections');
          server.closeAllConnections();
        }, drainTimeoutMs);
        force.unref();
        // An app that does not answer `Connection: close` while draining leaves each socket
        // idle (keep-alive) after its last response, and close() waited on those until the
        // drain timeout, past ECS's stop timeout in a short one: close sockets as they go
        // idle. Nothing new is routed here once the ALB has deregistered us.
        const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
        sweep.unref();
        server.close(() => {
          clearTimeout(force);
          clearInterval(sweep);
          logger.info('stopped');
          // Lines still batched (logger.ts) are written now, before the process exits.
          logger.flush();
          done();
        });
        // close() closes the connections idle now itself (Node 19 and later: node:http docs,
        // server.close()); the sweep takes those that go idle later.
      });
      return closing;
    };

    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      // After start-up, whose code it would slow down (memory-reducer.ts).
      keepMapsWhenIdle();
      logger.info({ port }, 'listening');
      resolve({ server, port, lifecycle, logger, shutdown });
    });
    server.listen(options.port, options.hostname);
  });
}

/**
 * A PORT set to nothing (`PORT: ""` in a manifest) is one left unset: read as a number it would
 * be 0, a random port the ALB's health checks never reach.
 */
function readPort(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT "${value}" is not a TCP port (0-65535)`);
  }
  return port;
}

/** What the entry point uses of its process: tests pass their own, and signal no real one. */
export interface ServiceProcess {
  env: NodeJS.ProcessEnv;
  on(
    event: 'SIGTERM' | 'SIGINT' | 'uncaughtException' | 'unhandledRejection',
    listener: (cause: unknown) => void,
  ): unknown;
  exit(code: number): void;
  stderr: { write(text: string): unknown };
}

/** The container entry point: configuration from the environment, signals, exit codes. */
export async function runService(
  options: {
    createApp: AppFactory;
    service: string;
    defaultPort: number;
    /** Where lines go instead of stdout at LOG_LEVEL (tests). */
    logger?: Logger;
  },
  host: ServiceProcess = process,
): Promise<void> {
  const { env } = host;
  try {
    const logger =
      options.logger ?? createLogger({ service: options.service, level: env.LOG_LEVEL });
    const drainSetting = env.DRAIN_TIMEOUT_SECONDS;
    const drainSeconds = drainSecondsFrom(drainSetting);
    if (!Number.isFinite(drainSeconds) || drainSeconds < 0) {
      throw new Error(`DRAIN_TIMEOUT_SECONDS "${drainSetting}" is not a number of seconds`);
    }
    const running = await startService({
      createApp: options.createApp,
      service: options.service,
      port: readPort(env.PORT, options.defaultPort),
      hostname: env.HOST,
      logger,
      drainTimeoutMs: drainSeconds * 1000,
    });
    // A crash is logged as one JSON line like everything else, then the task is replaced.
    host.on('uncaughtException', (error) => {
      logger.error({ error: String(error) }, 'uncaught exception');
      logger.flush();
      host.exit(1);
    });
    host.on('unhandledRejection', (reason) => {
      logger.error({ error: String(reason) }, 'unhandled rejection');
      logger.flush();
      host.exit(1);
    });
    // `on`, not `once`: a second SIGTERM (a process-group signal, an impatient operator) must
    // not kill the process mid-drain with Node's default action; shutdown is idempotent.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      host.on(signal, () => {
        void running.shutdown(signal).then(() => host.exit(0));
      });
    }
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const why =
      err.code === 'EADDRINUSE'
        ? 'the port is in use by another process; set PORT to a free port'
        : err.message;
    host.stderr.write(`${options.service} failed to start: ${why}\n`);
    host.exit(1);
  }
}
