// The whole local request path, built from the Copilot manifests and the HTTP API template:
// replicas (scheduler, supervisor) behind the internal ALB (listener rules, target groups,
// health checks) behind the HTTP API. The API and the ALB share this process; the ALB also
// listens on its own port so it can be reached directly, as from inside the VPC.
import http from 'node:http';
import { attachAlbListener } from './alb/listener.ts';
import { type ListenerRule, LoadBalancer } from './alb/load-balancer.ts';
import { TargetGroup, type TargetGroupEvents } from './alb/target-group.ts';
import {
  type Context,
  LocalStackError,
  type LocalStackOptions,
  prepare,
  scaled,
  stopTimeoutMs,
} from './context.ts';
import { Scheduler, type SchedulerOptions } from './ecs/scheduler.ts';
import { StartupWatch } from './ecs/startup.ts';
import { Replica } from './ecs/supervisor.ts';
import { attachHttpApi } from './gateway/http-api.ts';
import { handle, type LocalStack } from './handle.ts';
import { closeServers, ListenError, listen, serverOptions } from './http/listeners.ts';

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
    group.idleTimeoutMs = ctx.albIdleTimeoutMs;
    groups.set(service.name, group);
    const hosts = [ctx.internalHost(service.name)];
    rules.push({ service: service.name, pathPrefix: service.pathPrefix, hosts, group });
  }
  const dnsName = `internal-${ctx.workspace.application}-${ctx.environment}.elb.localhost`;
  return { alb: new LoadBalancer(dnsName, rules), groups };
}

/** Both listeners, listening; a busy port fails here, before anything is spawned. */
async function openListeners(
  ctx: Context,
  alb: LoadBalancer,
  options: LocalStackOptions,
): Promise<{ servers: http.Server[]; apiPort: number; albPort: number }> {
  const lingerMs = options.clientTimeouts?.lingerMs;
  if (lingerMs !== undefined) alb.lingerMs = lingerMs;
  const albServer = http.createServer(serverOptions(options.clientTimeouts));
  attachAlbListener(albServer, alb);
  const apiServer = http.createServer(serverOptions(options.clientTimeouts));
  attachHttpApi(apiServer, {
    settings: ctx.settings,
    alb,
    accessLog: options.accessLog === false ? null : (line) => ctx.sink.write(line),
    ...(lingerMs !== undefined ? { lingerMs } : {}),
    observer: ctx.events,
  });
  const servers = [apiServer, albServer];
  const reserved = options.reservedPorts ?? [];
  const albWanted = options.albPort ?? 0;
  try {
    const apiPort = await listen(
      apiServer,
      options.apiPort ?? 8080,
      ctx.host,
      'The local HTTP API',
      '--port',
      [albWanted, ...reserved],
    );
    const albPort = await listen(albServer, albWanted, ctx.host, 'The local ALB', '--alb-port', [
      apiPort,
      ...reserved,
    ]);
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
  // The ALB's events reach the scheduler and the start-up watch, which need the ALB's target
  // groups to exist: both are set below, before the first task starts (so before any check).
  const late: LateParts = {};
  const { alb, groups } = buildLoadBalancer(ctx, albEvents(ctx, replicas, late));
  const { servers, apiPort, albPort } = await openListeners(ctx, alb, options);
  const scheduler = newScheduler(ctx, options, replicas, groups, {
    exitedBeforeListening: (replica, how) => startup.exitedBeforeListening(replica, how),
    starting: () => startup.active,
  });
  // Ready when every replica is healthy, within the longest grace period ECS would allow.
  const services = ctx.workspace.services;
  const graceMs = Math.max(...services.map((s) => scaled(s.health.gracePeriodMs, ctx.scale)));
  const startup = new StartupWatch(replicas, groups, ctx.root, graceMs);
  Object.assign(late, { scheduler, startup });
  const stop = once(async () => {
    await closeServers(servers);
    for (const group of groups.values()) group.close();
    await scheduler.stop();
    ctx.say('stopped');
    ctx.sink.flush();
  });
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
  return handle(ctx, { alb, groups, replicas, scheduler, stop, apiPort, albPort });
}

interface LateParts {
  scheduler?: Scheduler;
  startup?: StartupWatch;
}

/** What the target groups report: logged, told to listeners, and acted on by ECS. */
function albEvents(ctx: Context, replicas: readonly Replica[], late: LateParts): TargetGroupEvents {
  return {
    onStateChange(group, target, from) {
      const line = `alb ${group.name} target ${target.address}: ${from} -> ${target.state} ${target.reason}`;
      const detail = target.state === 'unhealthy' ? ` (${group.describeLastCheck(target)})` : '';
      ctx.say(`${line.trimEnd()}${detail}`);
      if (ctx.events.watched) {
        const { address, state, reason } = target;
        const service = group.name;
        ctx.events.emit({ type: 'target-state', service, target: address, from, state, reason });
      }
      late.startup?.check();
      late.scheduler?.targetStateChanged();
      if (target.state !== 'unhealthy' || late.scheduler === undefined) return;
      const replica = replicas.find((r) => r.target === target);
      if (replica !== undefined) late.scheduler.targetUnhealthy(replica, target);
    },
    onCheck(group, target) {
      late.startup?.check();
      if (!ctx.events.watched || target.lastCheck === undefined) return;
      const description = group.describeLastCheck(target);
      const { address, lastCheck: outcome } = target;
      const service = group.name;
      ctx.events.emit({ type: 'health-check', service, target: address, outcome, description });
    },
  };
}

/** The ECS scheduler over the replicas, its output going to the stack's sink. */
function newScheduler(
  ctx: Context,
  options: LocalStackOptions,
  replicas: Replica[],
  groups: ReadonlyMap<string, TargetGroup>,
  watch: Pick<SchedulerOptions, 'exitedBeforeListening' | 'starting'>,
): Scheduler {
  return new Scheduler(replicas, {
    taskArgs: ctx.taskArgs,
    host: ctx.host,
    groups,
    env: options.env ?? {},
    logLevel: options.logLevel,
    forwardStdout: options.replicaOutput !== 'ignore',
    stopTimeoutMs: (replica) => stopTimeoutMs(replica.service),
    gracePeriodMs: (replica) => scaled(replica.service.health.gracePeriodMs, ctx.scale),
    say: ctx.say,
    output: (replica, line) => ctx.sink.write(`${replica.label} | ${line}`),
    ...watch,
  });
}

/** `run` the first time; the same promise every time after. */
function once(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= run();
    return running;
  };
}
