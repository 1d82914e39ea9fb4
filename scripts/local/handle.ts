// The handle startLocalStack() returns: URLs, a live view of services and replicas, and the
// few actions a caller (npm start, tests, benchmarks) takes on the running stack.
import http from 'node:http';
import { isIPv6 } from 'node:net';
import type { HttpApiSettings } from '../workspace/http-api-settings.ts';
import type { LoadBalancer } from './alb/load-balancer.ts';
import type { TargetGroup, TargetState } from './alb/target-group.ts';
import { type Context, LocalStackError } from './context.ts';
import type { Scheduler } from './ecs/scheduler.ts';
import type { Replica } from './ecs/supervisor.ts';
import type { LocalStackListener } from './events.ts';
import { formatRouteTable } from './route-table.ts';

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
  /**
   * SIGTERM stops the replica's task as ECS stops one (deregister and drain, SIGTERM, SIGKILL
   * after the stop timeout); any other signal is just sent, as from outside the stack. Either
   * way a new task takes its place. Resolves when the old process has exited.
   */
  killReplica(service: string, index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Pauses (SIGSTOP: alive, not answering) or resumes (SIGCONT) a replica's current task. */
  pauseReplica(service: string, index: number, paused: boolean): void;
  /**
   * A console's view: target state changes, health-check results, each API request with the
   * rule and target that served it (events.ts). Returns the function that stops it.
   */
  observe(listener: LocalStackListener, options?: { requests?: boolean }): () => void;
  /** True while a listener takes request events: only then is a record built per request. */
  readonly requestsObserved: boolean;
  /** The stack's own objects, read-only, for a console that shows them as they change. */
  readonly parts: StackParts;
  /**
   * `GET <path>` to the ALB's listener with this Host: its answer, and the rule that matched.
   * Rejects when the listener cannot be reached or the answer is cut short.
   */
  probeAlb(host: string, path: string): Promise<AlbProbe>;
  stop(): Promise<void>;
}

export interface StackParts {
  readonly alb: LoadBalancer;
  readonly groups: ReadonlyMap<string, TargetGroup>;
  readonly replicas: readonly Replica[];
}

export interface AlbProbe {
  status: number;
  /** The service whose listener rule matched; undefined for the default action (503). */
  rule: string | undefined;
  /** The target that answered (`x-local-target`), if one did. */
  target: string | undefined;
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

export function handle(
  ctx: Context,
  parts: {
    alb: LoadBalancer;
    groups: ReadonlyMap<string, TargetGroup>;
    replicas: Replica[];
    scheduler: Scheduler;
    stop: () => Promise<void>;
    apiPort: number;
    albPort: number;
  },
): LocalStack {
  const { alb, replicas, scheduler } = parts;
  const find = (serviceName: string, index: number): Replica => {
    const replica = replicas.find((r) => r.service.name === serviceName && r.index === index);
    if (replica === undefined) throw new LocalStackError(`no replica ${serviceName}/${index}`);
    return replica;
  };
  const albUrl = origin(ctx.host, parts.albPort);
  return {
    apiUrl: origin(ctx.host, parts.apiPort),
    albUrl,
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
    async killReplica(serviceName, index, signal = 'SIGTERM') {
      const replica = find(serviceName, index);
      if (signal === 'SIGTERM') return scheduler.replace(replica, 'SIGTERM requested');
      const exited = replica.exited();
      scheduler.supervisor.signal(replica, signal);
      await exited;
    },
    pauseReplica(serviceName, index, paused) {
      scheduler.supervisor.signal(find(serviceName, index), paused ? 'SIGSTOP' : 'SIGCONT');
    },
    observe: (listener, options) => ctx.events.observe(listener, options),
    get requestsObserved() {
      return ctx.events.active;
    },
    parts: { alb, groups: parts.groups, replicas },
    probeAlb: (host, path) => probeAlb(alb, albUrl, host, path),
    stop: parts.stop,
  };
}

/** A listener's URL: an IPv6 address in brackets, as a URL writes one (RFC 3986 section 3.2.2). */
function origin(host: string, port: number): string {
  return `http://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

async function probeAlb(
  alb: LoadBalancer,
  url: string,
  host: string,
  path: string,
): Promise<AlbProbe> {
  const rule = alb.match(host, path)?.service;
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}${path}`, { headers: { host }, agent: false }, (res) => {
      res.resume();
      const target = res.headers['x-local-target'];
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          rule,
          target: typeof target === 'string' ? target : undefined,
        }),
      );
      // Cut short (its target died mid-body: the ALB closes the connection), an answer never
      // ends: its 'close' comes without 'end'.
      res.on('close', () => {
        if (!res.complete) {
          reject(
            new Error(
              `GET ${path} with Host ${host}: the answer (status ${res.statusCode}) was cut short`,
            ),
          );
        }
      });
    });
    req.on('error', reject);
  });
}
