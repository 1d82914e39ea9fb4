// The whole local request path, built from the Copilot manifests and the HTTP API template:
// replicas (scheduler, supervisor) behind the internal ALB (listener rules, target groups,
// health checks) behind the HTTP API. The API and the ALB share this process; the ALB also
// listens on its own port so it can be reached directly, as from inside the VPC.
import http from 'node:http';
import { LOG_LEVELS } from '../../services/common/src/logger.ts';
import {
  type HttpApiSettings,
  type ParameterOverrides,
  readHttpApiSettings,
} from '../workspace/http-api-settings.ts';
import {
  loadWorkspace,
  repoRoot,
  type Service,
  taskdefOverride,
  type Workspace,
} from '../workspace/manifests.ts';
import { answerConnect, createHttpApiHandler } from './http-api.ts';
import { bufferedSink, callbackSink, type LineSink } from './line-sink.ts';
import {
  type ClientTimeouts,
  closeServers,
  ListenError,
  listen,
  serverOptions,
} from './listeners.ts';
import { type ListenerRule, LoadBalancer } from './load-balancer.ts';
import { formatRouteTable } from './route-table.ts';
import { Scheduler } from './scheduler.ts';
import { StartupWatch } from './startup.ts';
import { Replica } from './supervisor.ts';
import type { StackParts, StackTaps } from './taps.ts';
import {
  type Target,
  TargetGroup,
  type TargetGroupEvents,
  type TargetState,
} from './target-group.ts';

/** ECS's container stop timeout when the task definition sets none. */
const ECS_DEFAULT_STOP_TIMEOUT_S = 30;

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
  /**
   * Slow-client limits of both listeners (ms); tests shrink them. Default: 10 s for the head,
   * 30 s for the request, 2 s of silence from a client whose body is no longer wanted.
   */
  clientTimeouts?: ClientTimeouts;
}

export interface ReplicaStatus {
  readonly index: number;
  /** The current task's port: each new task gets a new one. */
  readonly port: number;
  /** `127.0.0.1:<port>`, the value of the `x-local-target` response header. */
  readonly target: string;
  readonly pid: number | undefined;
  readonly healthy: boolean;
  readonly state: TargetState;
  /** Tasks started in this slot after the first. */
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
  /** The local ALB's "DNS name": the Host the API integration sets. */
  readonly albHost: string;
  readonly application: string;
  readonly environment: string;
  readonly settings: HttpApiSettings;
  /** Live view: targets, states, pids and restarts change as the stack runs. */
  readonly services: readonly ServiceStatus[];
  routeTable(): string;
  /** The stack's own objects and its hooks, for an observer such as the console (taps.ts). */
  readonly parts: StackParts;
  /**
   * SIGTERM stops the replica's task as ECS stops one (deregister and drain, SIGTERM, SIGKILL
   * after the stop timeout); any other signal is just sent, as from outside the stack. Either
   * way a new task takes its place. Resolves when the old process has exited.
   */
  killReplica(service: string, index: number, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export class LocalStackError extends Error {
  override name = 'LocalStackError';
}

class ReplicaView implements ReplicaStatus {
  private readonly replica: Replica;
  constructor(replica: Replica) {
    this.replica = replica;
  }
  get index() {
    return this.replica.index;
  }
  get port() {
    return this.replica.port;
  }
  get target() {
    return this.replica.target?.address ?? '';
  }
  get pid() {
    return this.replica.pid;
  }
  get healthy() {
    return this.replica.target?.state === 'healthy';
  }
  get state() {
    return this.replica.target?.state ?? 'unused';
  }
  get restarts() {
    return this.replica.restarts;
  }
}

function scaled(ms: number, scale: number): number {
  return Math.max(1, Math.round(ms * scale));
}

function stopTimeoutMs(service: Service): number {
  const seconds = taskdefOverride(service, 'ContainerDefinitions[0].StopTimeout');
  return (typeof seconds === 'number' ? seconds : ECS_DEFAULT_STOP_TIMEOUT_S) * 1000;
}

/** What the stack is built from: the options checked, the workspace and template read. */
interface Context {
  root: string;
  host: string;
  scale: number;
  workspace: Workspace;
  environment: string;
  settings: HttpApiSettings;
  sink: LineSink;
  say(line: string): void;
  /** Copilot's service-discovery name, the other Host a service's listener rule accepts. */
  internalHost(name: string): string;
}

function prepare(options: LocalStackOptions): Context {
  const scale = options.healthCheckScale ?? 1;
  if (!(scale > 0)) throw new LocalStackError(`healthCheckScale must be > 0, got ${scale}`);
  const level = options.logLevel;
  // The services read LOG_LEVEL with services/common/src/logger.ts and exit on any other value.
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level.toLowerCase())) {
    throw new LocalStackError(`logLevel "${level}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const root = options.root ?? repoRoot;
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
  return {
    root,
    host: options.host ?? '127.0.0.1',
    scale,
    workspace,
    environment,
    settings,
    sink,
    say: (line) => sink.write(`[local] ${line}`),
    internalHost: (name) => `${name}.${environment}.${workspace.application}.internal`,
  };
}

/** One target group per service and one listener rule each, as Copilot creates them. */
function buildLoadBalancer(
  ctx: Context,
  events: TargetGroupEvents,
): { alb: LoadBalancer; groups: Map<string, TargetGroup> } {
  const groups = new Map<string, TargetGroup>();
  const rules: ListenerRule[] = [];
  for (const service of ctx.workspace.services) {
    const h = service.health;
    const interval = scaled(h.intervalMs, ctx.scale);
    const group = new TargetGroup(
      service.name,
      {
        path: h.path,
        successCodes: h.successCodes,
        healthyThreshold: h.healthyThreshold,
        unhealthyThreshold: h.unhealthyThreshold,
        intervalMs: interval,
        timeoutMs: Math.min(scaled(h.timeoutMs, ctx.scale), interval),
      },
      scaled(service.deregistrationDelayMs, ctx.scale),
      events,
    );
    groups.set(service.name, group);
    const hosts = [ctx.internalHost(service.name)];
    rules.push({ service: service.name, pathPrefix: service.pathPrefix, hosts, group });
  }
  const dnsName = `internal-${ctx.workspace.application}-${ctx.environment}.elb.localhost`;
  return { alb: new LoadBalancer(dnsName, rules), groups };
}

/** ECS replaces a task the ALB finds unhealthy, once the task's grace period is over. */
function replaceWhenUnhealthy(
  scheduler: Scheduler,
  replica: Replica | undefined,
  target: Target,
  scale: number,
): void {
  if (replica === undefined || !replica.running) return;
  const grace = scaled(replica.service.health.gracePeriodMs, scale);
  const graceLeft = grace - (Date.now() - replica.startedAt);
  if (graceLeft <= 0) {
    void scheduler.replace(replica, 'failed ALB health checks');
    return;
  }
  setTimeout(() => {
    if (replica.target === target && target.state === 'unhealthy') {
      void scheduler.replace(replica, 'failed ALB health checks after its grace period');
    }
  }, graceLeft).unref();
}

/** Both listeners, listening; a busy port fails here, before anything is spawned. */
async function openListeners(
  ctx: Context,
  alb: LoadBalancer,
  options: LocalStackOptions,
  taps: StackTaps,
): Promise<{ servers: http.Server[]; apiPort: number; albPort: number }> {
  const lingerMs = options.clientTimeouts?.lingerMs;
  if (lingerMs !== undefined) alb.lingerMs = lingerMs;
  const handleApi = createHttpApiHandler({
    settings: ctx.settings,
    alb,
    accessLog: options.accessLog === false ? null : (line) => ctx.sink.write(line),
    taps,
    ...(lingerMs !== undefined ? { lingerMs } : {}),
  });
  const albServer = http.createServer(serverOptions(options.clientTimeouts), alb.handle);
  const apiServer = http.createServer(serverOptions(options.clientTimeouts), handleApi);
  apiServer.on('connect', answerConnect);
  const servers = [apiServer, albServer];
  try {
    const apiPort = await listen(
      apiServer,
      options.apiPort ?? 8080,
      ctx.host,
      'The local HTTP API',
      '--port',
    );
    const albPort = await listen(
      albServer,
      options.albPort ?? 0,
      ctx.host,
      'The local ALB',
      '--alb-port',
    );
    alb.port = albPort;
    return { servers, apiPort, albPort };
  } catch (error) {
    await closeServers(servers);
    throw error instanceof ListenError ? new LocalStackError(error.message) : error;
  }
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const ctx = prepare(options);
  const replicas = ctx.workspace.services.flatMap((service) =>
    Array.from({ length: service.minCount }, (_, index) => new Replica(service, index)),
  );
  // Both are set before the first task starts, so before any health check reports.
  let scheduler!: Scheduler;
  let startup!: StartupWatch;
  const taps: StackTaps = {};
  const { alb, groups } = buildLoadBalancer(ctx, {
    onStateChange(group, target, from) {
      const line = `alb ${group.name} target ${target.address}: ${from} -> ${target.state} ${target.reason}`;
      const detail = target.state === 'unhealthy' ? ` (${group.describeLastCheck(target)})` : '';
      ctx.say(`${line.trimEnd()}${detail}`);
      startup.check();
      taps.onTargetState?.(group, target, from);
      if (target.state !== 'unhealthy') return;
      const replica = replicas.find((r) => r.target === target);
      replaceWhenUnhealthy(scheduler, replica, target, ctx.scale);
    },
    onCheck(group, target) {
      startup.check();
      taps.onHealthCheck?.(group, target);
    },
  });
  const { servers, apiPort, albPort } = await openListeners(ctx, alb, options, taps);
  scheduler = new Scheduler(replicas, {
    host: ctx.host,
    groups,
    env: options.env ?? {},
    logLevel: options.logLevel,
    forwardStdout: options.replicaOutput !== 'ignore',
    stopTimeoutMs: (replica) => stopTimeoutMs(replica.service),
    say: ctx.say,
    output: (replica, line) => ctx.sink.write(`${replica.label} | ${line}`),
    exitedBeforeListening: (replica, how) => startup.exitedBeforeListening(replica, how),
  });
  // Ready when every replica is healthy, within the longest grace period ECS would allow.
  const services = ctx.workspace.services;
  const graceMs = Math.max(...services.map((s) => scaled(s.health.gracePeriodMs, ctx.scale)));
  startup = new StartupWatch(replicas, groups, ctx.root, graceMs);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await closeServers(servers);
      for (const group of groups.values()) group.close();
      await scheduler.supervisor.stopAll((replica) => stopTimeoutMs(replica.service));
      ctx.say('stopped');
      ctx.sink.flush();
    })();
    return stopped;
  };
  for (const replica of replicas) {
    scheduler
      .launch(replica)
      .catch((error: Error) => ctx.say(`${replica.label}: ${error.message}`));
  }
  const failure = await startup.done;
  if (failure !== undefined) {
    await stop();
    throw new LocalStackError(`The local stack did not start: ${failure}`);
  }
  // Lines so far come out before whatever the caller prints next.
  ctx.sink.flush();
  return handle(
    ctx,
    { alb, replicas, scheduler, stop, apiPort, albPort },
    { alb, groups, replicas, taps },
  );
}

function handle(
  ctx: Context,
  parts: {
    alb: LoadBalancer;
    replicas: Replica[];
    scheduler: Scheduler;
    stop: () => Promise<void>;
    apiPort: number;
    albPort: number;
  },
  stackParts: StackParts,
): LocalStack {
  const { alb, replicas, scheduler } = parts;
  return {
    apiUrl: `http://${ctx.host}:${parts.apiPort}`,
    albUrl: `http://${ctx.host}:${parts.albPort}`,
    albHost: alb.dnsName,
    application: ctx.workspace.application,
    environment: ctx.environment,
    settings: ctx.settings,
    services: ctx.workspace.services.map((service) => ({
      name: service.name,
      pathPrefix: service.pathPrefix,
      internalHost: ctx.internalHost(service.name),
      replicas: replicas.filter((r) => r.service === service).map((r) => new ReplicaView(r)),
    })),
    routeTable: () => formatRouteTable(ctx.settings.routes, alb),
    parts: stackParts,
    async killReplica(serviceName, index, signal = 'SIGTERM') {
      const replica = replicas.find((r) => r.service.name === serviceName && r.index === index);
      if (replica === undefined) throw new LocalStackError(`no replica ${serviceName}/${index}`);
      if (signal === 'SIGTERM') return scheduler.replace(replica, 'SIGTERM requested');
      const exited = replica.exited();
      scheduler.supervisor.signal(replica, signal);
      await exited;
    },
    stop: parts.stop,
  };
}
