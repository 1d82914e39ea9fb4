// The whole local request path, built from the Copilot manifests and the HTTP API template:
// replicas (supervisor) behind the internal ALB (listener rules, target groups, health
// checks) behind the HTTP API. The API and the ALB share this process; the ALB also listens
// on its own port so it can be reached directly, as from inside the VPC.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import {
  type HttpApiSettings,
  type ParameterOverrides,
  readHttpApiSettings,
} from '../http-api-settings.ts';
import { loadWorkspace, repoRoot, type Service, taskdefOverride } from '../manifests.ts';
import { answerConnect, createHttpApiHandler } from './http-api.ts';
import { bufferedSink, callbackSink, type LineSink } from './line-sink.ts';
import { type ListenerRule, LoadBalancer } from './load-balancer.ts';
import { formatRouteTable } from './route-table.ts';
import { Replica, Supervisor } from './supervisor.ts';
import { Target, TargetGroup, type TargetState } from './target-group.ts';

/** ECS's container stop timeout when the task definition sets none. */
const ECS_DEFAULT_STOP_TIMEOUT_S = 30;
/** How long stop() lets open client connections finish before closing them. */
const CLIENT_CLOSE_GRACE_MS = 1_000;
/**
 * How long a client may take to send a request's head, and the whole request, before the
 * listeners answer 408 and close. API Gateway cuts slow clients too, at limits it does not
 * publish; Node's defaults (60 s and 300 s, checked every 30 s) let a slowloris client hold a
 * connection for up to 90 s. The request limit matches the longest integration timeout.
 */
const CLIENT_HEADERS_TIMEOUT_MS = 10_000;
const CLIENT_REQUEST_TIMEOUT_MS = 30_000;

export interface LocalStackOptions {
  /** The workspace: `<root>/copilot` and `<root>/addons/http-api.yml`. Default: this repo. */
  root?: string;
  /** Copilot environment whose names are used (`<svc>.<env>.<app>.internal`). Default: first. */
  environment?: string;
  /** HTTP API port; 0 picks a free one. Default 8080. */
  apiPort?: number;
  /** Local ALB listener port; 0 (default) picks a free one. */
  albPort?: number;
  /** Interface both listeners bind. Default 127.0.0.1. */
  host?: string;
  /**
   * Multiplies the manifests' health-check interval, timeout and grace period and the
   * deregistration delay, e.g. 0.1 for tests. Default 1: the manifests' own timing.
   */
  healthCheckScale?: number;
  /** Template parameter overrides, as `aws cloudformation deploy --parameter-overrides`. */
  parameters?: ParameterOverrides;
  /** LOG_LEVEL for every replica, instead of the manifest's. */
  logLevel?: string;
  /** Replica stdout: prefixed and forwarded (default) or ignored. Stderr is always forwarded. */
  replicaOutput?: 'forward' | 'ignore';
  /** One access-log line per API request, in the stage's format. Default true. */
  accessLog?: boolean;
  /** Receives every line the stack emits. Default: batched writes to stdout. */
  log?: (line: string) => void;
  /** Extra environment variables for every replica. */
  env?: Record<string, string>;
  /** Slow-client limits of both listeners (ms); tests shrink them. Default 10 s and 30 s. */
  clientTimeouts?: { headersMs?: number; requestMs?: number };
}

export interface ReplicaStatus {
  readonly index: number;
  readonly port: number;
  /** `127.0.0.1:<port>`, the value of the `x-local-target` response header. */
  readonly target: string;
  readonly pid: number | undefined;
  readonly healthy: boolean;
  readonly state: TargetState;
  readonly restarts: number;
}

export interface ServiceStatus {
  readonly name: string;
  readonly pathPrefix: string;
  /** `<svc>.<env>.<app>.internal`, the service's other accepted Host. */
  readonly internalHost: string;
  readonly replicas: readonly ReplicaStatus[];
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly albUrl: string;
  /** The local ALB's "DNS name": the Host the API integration sends. */
  readonly albHost: string;
  readonly application: string;
  readonly environment: string;
  readonly settings: HttpApiSettings;
  /** Live view: states, pids and restarts change as the stack runs. */
  readonly services: readonly ServiceStatus[];
  routeTable(): string;
  /**
   * SIGTERM replaces the replica as ECS stops a task: deregister (drain), SIGTERM, and a new
   * process. Any other signal is just sent; health checks notice, the supervisor replaces.
   * Resolves when the old process has exited.
   */
  killReplica(service: string, index: number, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export class LocalStackError extends Error {
  override name = 'LocalStackError';
}

class ReplicaView implements ReplicaStatus {
  private readonly replica: Replica;
  private readonly targetRef: Target;
  constructor(replica: Replica, target: Target) {
    this.replica = replica;
    this.targetRef = target;
  }
  get index() {
    return this.replica.index;
  }
  get port() {
    return this.replica.port;
  }
  get target() {
    return this.targetRef.address;
  }
  get pid() {
    return this.replica.pid;
  }
  get healthy() {
    return this.targetRef.state === 'healthy';
  }
  get state() {
    return this.targetRef.state;
  }
  get restarts() {
    return this.replica.restarts;
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function listen(server: http.Server, port: number, host: string, what: string, flag: string) {
  return new Promise<number>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new LocalStackError(
            `${what} could not listen on ${host}:${port}: the port is in use by another process.\n` +
              `Stop that process (lsof -i :${port}) or pick another port: npm start -- ${flag} ${port + 1}`,
          ),
        );
      } else {
        reject(
          new LocalStackError(`${what} could not listen on ${host}:${port}: ${error.message}`),
        );
      }
    });
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function scaled(ms: number, scale: number): number {
  return Math.max(1, Math.round(ms * scale));
}

function stopTimeoutMs(service: Service): number {
  const seconds = taskdefOverride(service, 'ContainerDefinitions[0].StopTimeout');
  return (typeof seconds === 'number' ? seconds : ECS_DEFAULT_STOP_TIMEOUT_S) * 1000;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const root = options.root ?? repoRoot;
  const host = options.host ?? '127.0.0.1';
  const scale = options.healthCheckScale ?? 1;
  if (!(scale > 0)) throw new LocalStackError(`healthCheckScale must be > 0, got ${scale}`);
  const workspace = loadWorkspace(root);
  const environment = options.environment ?? workspace.environments[0]?.name;
  if (environment === undefined || !workspace.environments.some((e) => e.name === environment)) {
    throw new LocalStackError(
      `environment "${environment ?? ''}" not found under ${root}/copilot/environments`,
    );
  }
  const settings = readHttpApiSettings({
    root,
    ...(options.parameters ? { parameters: options.parameters } : {}),
  });
  const sink: LineSink = options.log
    ? callbackSink(options.log)
    : bufferedSink((chunk) => process.stdout.write(chunk));
  const say = (line: string) => sink.write(`[local] ${line}`);

  // Target groups and the ALB, one rule per service, as Copilot creates them.
  const replicas: Replica[] = [];
  const targetOf = new Map<Replica, Target>();
  const replicaOf = new Map<Target, Replica>();
  const replacing = new Set<Replica>();
  /** Called on every target state change: readiness and restart conditions wait on it. */
  const stateWaiters = new Set<() => void>();
  const groupEvents = {
    onStateChange(group: TargetGroup, target: Target, from: TargetState) {
      say(
        `alb ${group.name} target ${target.address}: ${from} -> ${target.state} ${target.reason}`.trimEnd(),
      );
      for (const check of stateWaiters) check();
      const replica = replicaOf.get(target);
      // ECS replaces a task the ALB finds unhealthy once its grace period is over.
      if (target.state === 'unhealthy' && replica?.running) {
        const grace = scaled(replica.service.health.gracePeriodMs, scale);
        if (Date.now() - replica.startedAt > grace)
          void replace(replica, 'failed ALB health checks');
      }
    },
  };
  const groups = new Map<string, TargetGroup>();
  /** Copilot's service-discovery name, the other Host its listener rule accepts. */
  const internalHost = (name: string) => `${name}.${environment}.${workspace.application}.internal`;
  const rules: ListenerRule[] = [];
  for (const service of workspace.services) {
    const h = service.health;
    const interval = scaled(h.intervalMs, scale);
    const group = new TargetGroup(
      service.name,
      {
        path: h.path,
        successCodes: h.successCodes,
        healthyThreshold: h.healthyThreshold,
        unhealthyThreshold: h.unhealthyThreshold,
        intervalMs: interval,
        timeoutMs: Math.min(scaled(h.timeoutMs, scale), interval),
      },
      scaled(service.deregistrationDelayMs, scale),
      groupEvents,
    );
    groups.set(service.name, group);
    rules.push({
      service: service.name,
      pathPrefix: service.pathPrefix,
      hosts: [internalHost(service.name)],
      group,
    });
  }
  const alb = new LoadBalancer(
    `internal-${workspace.application}-${environment}.elb.localhost`,
    rules,
  );
  const handleApi = createHttpApiHandler({
    settings,
    alb,
    accessLog: options.accessLog === false ? null : (line) => sink.write(line),
  });

  const headersTimeout = options.clientTimeouts?.headersMs ?? CLIENT_HEADERS_TIMEOUT_MS;
  const serverOptions: http.ServerOptions = {
    headersTimeout,
    requestTimeout: options.clientTimeouts?.requestMs ?? CLIENT_REQUEST_TIMEOUT_MS,
    // Node enforces both limits only when it sweeps its connections; sweeping this often, a
    // slow client is cut at most a quarter of the head limit (and at most 1 s) late.
    connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.round(headersTimeout / 4))),
  };
  const albServer = http.createServer(serverOptions, alb.handle);
  const apiServer = http.createServer(serverOptions, handleApi);
  apiServer.on('connect', answerConnect);
  const closeServers = async () => {
    await Promise.all(
      [apiServer, albServer].map(
        (server) =>
          new Promise<void>((resolve) => {
            if (!server.listening) return resolve();
            const force = setTimeout(() => server.closeAllConnections(), CLIENT_CLOSE_GRACE_MS);
            server.close(() => {
              clearTimeout(force);
              resolve();
            });
            server.closeIdleConnections();
          }),
      ),
    );
  };
  let albPort: number;
  let apiPort: number;
  try {
    // Listen before spawning anything, so a busy port fails fast and leaves nothing behind.
    apiPort = await listen(
      apiServer,
      options.apiPort ?? 8080,
      host,
      'The local HTTP API',
      '--port',
    );
    albPort = await listen(albServer, options.albPort ?? 0, host, 'The local ALB', '--alb-port');
  } catch (error) {
    await closeServers();
    throw error;
  }
  alb.port = albPort;

  // Replicas: count.range.min of each service, each registered with its target group.
  for (const service of workspace.services) {
    const group = groups.get(service.name) as TargetGroup;
    for (let index = 0; index < service.minCount; index++) {
      const replica = new Replica(service, index, await freePort(host));
      const target = new Target(replica.port);
      group.add(target);
      replicas.push(replica);
      targetOf.set(replica, target);
      replicaOf.set(target, replica);
    }
  }
  const supervisor = new Supervisor(replicas, {
    env: options.env ?? {},
    logLevel: options.logLevel,
    forwardStdout: options.replicaOutput !== 'ignore',
    // A task that dies is replaced by ECS long after the ALB has noticed (a Fargate task takes
    // tens of seconds to place); a local process restarts in milliseconds. So a replica that
    // was in service is restarted only once health checks have taken its target out, which
    // keeps the ALB's side of a crash (502s, then removal) what it is in the cloud.
    beforeRestart(replica) {
      const target = targetOf.get(replica) as Target;
      return new Promise<void>((resolve) => {
        const check = () => {
          if (target.state === 'healthy') return;
          stateWaiters.delete(check);
          resolve();
        };
        stateWaiters.add(check);
        check();
      });
    },
    events: {
      onStarted(replica) {
        say(`${replica.label} started: pid ${replica.pid}, port ${replica.port}`);
        const target = targetOf.get(replica) as Target;
        if (target.state === 'unused') groups.get(replica.service.name)?.register(target);
      },
      onExited(replica, code, signal) {
        say(`${replica.label} exited (${signal ?? `code ${code}`})`);
      },
      onOutput(replica, line) {
        sink.write(`${replica.label} | ${line}`);
      },
    },
  });

  /** ECS stopping a task: drain it from the ALB, SIGTERM, SIGKILL after the stop timeout. */
  async function replace(replica: Replica, reason: string): Promise<void> {
    if (replacing.has(replica)) return replica.exited();
    replacing.add(replica);
    try {
      say(`${replica.label} replacing: ${reason}`);
      const target = targetOf.get(replica) as Target;
      await groups.get(replica.service.name)?.deregister(target);
      const exited = replica.exited();
      supervisor.signal(replica, 'SIGTERM');
      const force = setTimeout(
        () => supervisor.signal(replica, 'SIGKILL'),
        stopTimeoutMs(replica.service),
      );
      await exited;
      clearTimeout(force);
    } finally {
      replacing.delete(replica);
    }
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await closeServers();
      for (const group of groups.values()) group.close();
      await supervisor.stopAll((replica) => stopTimeoutMs(replica.service));
      say('stopped');
      sink.flush();
    })();
    return stopped;
  };

  supervisor.startAll();
  // Ready when every replica is healthy, within the longest grace period ECS would allow.
  const graceMs = Math.max(...workspace.services.map((s) => s.health.gracePeriodMs));
  const allHealthy = () => [...targetOf.values()].every((t) => t.state === 'healthy');
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      stateWaiters.delete(check);
      resolve(false);
    }, graceMs);
    const check = () => {
      if (!allHealthy()) return;
      clearTimeout(timer);
      stateWaiters.delete(check);
      resolve(true);
    };
    stateWaiters.add(check);
    check();
  });
  if (!ready) {
    const failing = replicas
      .filter((r) => targetOf.get(r)?.state !== 'healthy')
      .map((r) => {
        const target = targetOf.get(r) as Target;
        const tail = r.stderrTail.length > 0 ? `\n    ${r.stderrTail.join('\n    ')}` : '';
        return `  ${r.label} (${target.address}): ${target.state} ${target.reason}${tail}`;
      });
    await stop();
    throw new LocalStackError(
      `The local stack did not become healthy within ${graceMs} ms (the manifests' health-check grace period):\n${failing.join('\n')}\n` +
        `Run the service alone to see why: PORT=3999 node services/<name>/src/server.ts`,
    );
  }

  // Lines so far come out before whatever the caller prints next.
  sink.flush();
  const services: ServiceStatus[] = workspace.services.map((service) => {
    const own = replicas.filter((r) => r.service === service);
    return {
      name: service.name,
      pathPrefix: service.pathPrefix,
      internalHost: internalHost(service.name),
      replicas: own.map((r) => new ReplicaView(r, targetOf.get(r) as Target)),
    };
  });

  return {
    apiUrl: `http://${host}:${apiPort}`,
    albUrl: `http://${host}:${albPort}`,
    albHost: alb.dnsName,
    application: workspace.application,
    environment,
    settings,
    services,
    routeTable: () => formatRouteTable(settings.routes, alb),
    async killReplica(serviceName, index, signal = 'SIGTERM') {
      const replica = replicas.find((r) => r.service.name === serviceName && r.index === index);
      if (replica === undefined) {
        throw new LocalStackError(`no replica ${serviceName}/${index}`);
      }
      if (signal === 'SIGTERM') return replace(replica, 'SIGTERM requested');
      const exited = replica.exited();
      supervisor.signal(replica, signal);
      await exited;
    },
    stop,
  };
}
