// The local HTTP API and internal ALB in the test's own process, in front of targets the test
// serves itself: the gateway's and the ALB's whole request path with no replica process, no
// stack and no health-check timer. Each test builds its own inside the test, so a mutation
// tool can tell which test covers which line (vitest.mutate.config.ts), and the stack suites'
// behaviours can be checked at their edges in milliseconds.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { attachAlbListener } from '../../scripts/local/alb/listener.ts';
import { LoadBalancer } from '../../scripts/local/alb/load-balancer.ts';
import { type Clock, Target, TargetGroup } from '../../scripts/local/alb/target-group.ts';
import { attachHttpApi, type RequestObserver } from '../../scripts/local/gateway/http-api.ts';
import type { BodyBudget } from '../../scripts/local/gateway/request-body.ts';
import { type ClientTimeouts, serverOptions } from '../../scripts/local/http/listeners.ts';
import {
  type HttpApiSettings,
  type ParameterOverrides,
  readHttpApiSettings,
} from '../../scripts/workspace/http-api-settings.ts';
import { testHealthCheck } from './health-settings.ts';

export const ALB_HOST = 'internal-bookstore-test.elb.localhost';
export const SERVICE = 'book-service';
export const PATH = '/api/books';
export const INTERNAL_HOST = `${SERVICE}.test.bookstore.internal`;

/** Timers due at once run on the next turn; the rest (intervals, delays) never fire. */
const immediateClock: Clock = {
  setTimeout: (run, ms) => (ms === 0 ? setImmediate(run) : undefined),
  clearTimeout: (timer) => {
    if (timer !== undefined) clearImmediate(timer as NodeJS.Immediate);
  },
};

export interface InProcessOptions {
  /** Template parameters, as `npm start -- --parameter`. Throttling is lifted unless set. */
  parameters?: ParameterOverrides;
  /** Changes the settings read from the template (a smaller payload quota, say). */
  settings?: (settings: HttpApiSettings) => HttpApiSettings;
  /**
   * The service's targets: a handler each (a server the test owns), or 'refused' (a port
   * nothing listens on). None: the group has no target, so the ALB answers 503.
   */
  targets?: (http.RequestListener | 'refused')[];
  /** The ALB's idle timeout toward targets (ms); 0, the default, never. */
  idleTimeoutMs?: number;
  lingerMs?: number;
  /** Both listeners' slow-client limits (listeners.ts serverOptions). */
  clientTimeouts?: ClientTimeouts;
  /** Leave the ALB's listener port unset (X-Forwarded-Port then says 80). */
  portUnset?: true;
  /** false: no access log at all (the stack's `accessLog: false`). */
  accessLog?: false;
  observer?: RequestObserver;
  bodyBudget?: BodyBudget;
}

export interface InProcessApi {
  apiUrl: string;
  apiPort: number;
  albUrl: string;
  albPort: number;
  /** The access-log lines written so far, parsed (the template's format is JSON). */
  accessLog: Record<string, string>[];
  settings: HttpApiSettings;
  alb: LoadBalancer;
  group: TargetGroup;
  close(): Promise<void>;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** A port nothing listens on (bound once, then closed). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  const port = await listen(server);
  await close(server);
  return port;
}

const settingsRead = new Map<string, HttpApiSettings>();
/** The template's settings for these parameters, read once per set (tests never change them). */
function settingsFor(parameters: ParameterOverrides): HttpApiSettings {
  const key = JSON.stringify(parameters);
  let settings = settingsRead.get(key);
  if (settings === undefined) {
    settings = readHttpApiSettings({ parameters });
    settingsRead.set(key, settings);
  }
  return settings;
}

/** The API and the ALB with one listener rule (book-service's path) and its targets, healthy. */
export async function inProcessApi(options: InProcessOptions = {}): Promise<InProcessApi> {
  const read = settingsFor({
    ThrottlingRateLimit: 1e6,
    ThrottlingBurstLimit: 1e6,
    ...options.parameters,
  });
  const settings = options.settings ? options.settings(read) : read;
  const probe = async () => ({ status: 200 });
  const group = new TargetGroup(
    SERVICE,
    testHealthCheck(`${PATH}/health`),
    1_000,
    { onStateChange: () => {} },
    { clock: immediateClock, probe },
  );
  group.idleTimeoutMs = options.idleTimeoutMs ?? 0;
  const servers: http.Server[] = [];
  for (const handler of options.targets ?? []) {
    let port: number;
    if (handler === 'refused') port = await closedPort();
    else {
      const server = http.createServer(handler);
      servers.push(server);
      port = await listen(server);
    }
    const target = new Target(port, group.idleTimeoutMs);
    group.add(target);
    group.register(target);
  }
  const alb = new LoadBalancer(ALB_HOST, [
    { service: SERVICE, pathPrefix: PATH, hosts: [INTERNAL_HOST], group },
  ]);
  if (options.lingerMs !== undefined) alb.lingerMs = options.lingerMs;
  const accessLog: Record<string, string>[] = [];
  const api = http.createServer(serverOptions(options.clientTimeouts));
  attachHttpApi(api, {
    settings,
    alb,
    accessLog:
      options.accessLog === false
        ? null
        : (line) => accessLog.push(JSON.parse(line) as Record<string, string>),
    ...(options.lingerMs !== undefined ? { lingerMs: options.lingerMs } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
    ...(options.bodyBudget ? { bodyBudget: options.bodyBudget } : {}),
  });
  const albServer = http.createServer(serverOptions(options.clientTimeouts));
  attachAlbListener(albServer, alb);
  const apiPort = await listen(api);
  const albPort = await listen(albServer);
  if (!options.portUnset) alb.port = albPort;
  // Every registered target's first check has passed: healthy.
  while (group.targets.some((t) => t.state === 'initial')) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  return {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    apiPort,
    albUrl: `http://127.0.0.1:${albPort}`,
    albPort,
    accessLog,
    settings,
    alb,
    group,
    async close() {
      group.close();
      await Promise.all([api, albServer, ...servers].map(close));
    },
  };
}

/**
 * A test file's way to start an API: each one started is closed after its test, or when the
 * test starts another (the caller registers this once, at the top of the file).
 */
export function apiPerTest(): (options: InProcessOptions) => Promise<InProcessApi> {
  let api: InProcessApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });
  return async (options) => {
    await api?.close();
    api = await inProcessApi(options);
    return api;
  };
}
