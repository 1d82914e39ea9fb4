// The local stand-in for the ECS service scheduler: keeps `count.range.min` tasks of each
// service running and registered with the service's target group, the way Amazon ECS does
// (docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html: "If one of your
// tasks fails or stops, the Amazon ECS service scheduler launches another instance of your
// task definition to replace it"; it "also replaces tasks determined to be unhealthy after
// ... a load balancer target group health check fails").
//
// - A task that stops by itself (exit, crash, a signal from outside) is known at once, as
//   the ECS agent reports a stopped task: its target is deregistered at once and a new task
//   starts, registered as a NEW target (new port) in state `initial`.
// - A managed stop (a replacement, a deploy) deregisters first, lets the target drain, then
//   SIGTERM, then SIGKILL after the task definition's stop timeout, as ECS stops a task
//   ("Optimize load balancer connection draining parameters for Amazon ECS",
//   docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-connection-draining.html).
// - A task alive but not answering (SIGSTOP, a hang) is left to the health checks, as on AWS.
//   Once they find it unhealthy, its replacement starts first and it is stopped once the
//   replacement is healthy, as long as one more task stays within the service's
//   maximumPercent: "If tasks become unhealthy, the Amazon ECS service scheduler will start
//   replacement tasks first ... As the replacement tasks launch and become healthy, the
//   unhealthy tasks will gradually be stopped" ("Deploy Amazon ECS services by replacing
//   tasks"); "The Amazon ECS scheduler uses this parameter to replace unhealthy tasks by
//   starting replacement tasks first and then stopping the unhealthy tasks" (ECS API
//   reference, DeploymentConfiguration maximumPercent). With no room, it is stopped first
//   ("the scheduler stops the unhealthy tasks one-by-one", minimumHealthyPercent). Failed
//   checks within the service's health-check grace period are ignored
//   (healthCheckGracePeriodSeconds, ECS API reference, CreateService). A replacement that
//   fails its checks too is a task like any other: it is replaced in turn, and every task
//   waiting on the slot is stopped once one is healthy (assumed: the docs say "As the
//   replacement tasks launch and become healthy", not what a failed replacement changes).
//   A task that never listens is judged as one that fails its checks (watchListening).
// - Tasks that keep exiting before they ever listen are a crash loop: each is reported, its
//   output once (until it changes), and new tasks start with growing delays (ECS throttles
//   launches of tasks that keep failing to start too; this schedule is our own).
// The decisions themselves (when, in what order) are scheduling.ts's; this class acts on them.
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../../cli/processes.ts';
import type { Service } from '../../workspace/manifests.ts';
import { type Clock, Target, type TargetGroup } from '../alb/target-group.ts';
import {
  isCrashLoop,
  managedStop,
  onUnhealthy,
  replacementFirst,
  restartDelayMs,
} from './scheduling.ts';
import {
  exitOf,
  type Replica,
  type ReplicaEvents,
  Supervisor,
  type SupervisorOptions,
} from './supervisor.ts';

export { replacementFirst };

/** What the scheduler needs of the processes behind its tasks (supervisor.ts). */
export type Tasks = Pick<Supervisor, 'replicas' | 'stopping' | 'start' | 'signal' | 'stopAll'>;

export interface SchedulerOptions extends Omit<SupervisorOptions, 'events'> {
  host: string;
  groups: ReadonlyMap<string, TargetGroup>;
  stopTimeoutMs(replica: Replica): number;
  /** The service's health-check grace period (ms), as the stack scales it. */
  gracePeriodMs(replica: Replica): number;
  say(line: string): void;
  output(replica: Replica, line: string): void;
  /**
   * A task exited before it ever listened. Return true when that ends it (the stack is still
   * starting and gives up), false to let the scheduler replace the task.
   */
  exitedBeforeListening(replica: Replica, how: string): boolean;
  /**
   * Whether the stack is still starting: then its start-up watch, not the scheduler, answers
   * for a task that never listens (the start fails at the grace period). Default: never.
   */
  starting?(): boolean;
  /** Tests: the processes (default: a Supervisor of real ones), the restart and grace timers. */
  tasks?(replicas: Replica[], events: ReplicaEvents): Tasks;
  clock?: Clock;
  now?(): number;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ?? `code ${code}`;
}

// Unref'd: a timer due after the stack has stopped keeps no process alive.
const realClock: Clock = {
  setTimeout: (run, ms) => setTimeout(run, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};

/** A task whose replacement has started: stopped once that one is healthy, then gone. */
interface ReplacedTask {
  replica: Replica;
  child: ChildProcess;
  target: Target | undefined;
}

export class Scheduler {
  readonly supervisor: Tasks;
  private readonly options: SchedulerOptions;
  private readonly clock: Clock;
  private readonly now: () => number;
  private readonly replacing = new Set<Replica>();
  private readonly replaced = new Set<ReplacedTask>();
  /** Waiting on a target's state (a replacement's health): called on every change. */
  private readonly watchers = new Set<() => void>();

  constructor(replicas: Replica[], options: SchedulerOptions) {
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.now = options.now ?? Date.now;
    const events: ReplicaEvents = {
      onStarted: (replica) =>
        options.say(`${replica.label} started: pid ${replica.pid}, port ${replica.port}`),
      onExited: (replica, child, code, signal) =>
        this.exited(replica, child, describeExit(code, signal)),
      onOutput: options.output,
    };
    this.supervisor = options.tasks
      ? options.tasks(replicas, events)
      : new Supervisor(replicas, { ...options, events });
  }

  private group(replica: Replica): TargetGroup {
    return this.options.groups.get(replica.service.name) as TargetGroup;
  }

  /** Starts a new task for the replica: a new port, a new target registered as `initial`. */
  async launch(replica: Replica): Promise<void> {
    const port = await freePort(this.options.host);
    if (this.supervisor.stopping) return;
    const group = this.group(replica);
    const target = new Target(port, group.idleTimeoutMs);
    group.add(target);
    replica.target = target;
    this.supervisor.start(replica, port);
    group.register(target);
    if (!this.options.starting?.()) this.watchListening(replica, target);
  }

  /**
   * A task that has not answered one health check by the time ELB would have found it unhealthy
   * (its unhealthy threshold of checks), and its grace period is over, is replaced as an
   * unhealthy one. ELB counts a refused connection as a failed check; locally a new target's
   * refusals are not counted (target-group.ts, STARTUP_PROBE_MS: a process runs before it
   * listens), so without this a task that hangs before it listens would stay `initial`, and a
   * slot (or a replacement started first) would wait on it for good.
   */
  private watchListening(replica: Replica, target: Target): void {
    const { unhealthyThreshold, intervalMs } = this.group(replica).health;
    const deadlineMs = Math.max(
      this.options.gracePeriodMs(replica),
      unhealthyThreshold * intervalMs,
    );
    this.clock.setTimeout(() => {
      // Healthy, found unhealthy, answered once, or gone (its target deregistered): not hung.
      if (target.state !== 'initial' || target.answeredOnce || this.supervisor.stopping) return;
      this.options.say(
        `${replica.label} has not listened on port ${target.port} within ${deadlineMs} ms (its grace period, or its unhealthy threshold of checks): its health checks count as failed`,
      );
      this.targetUnhealthy(replica, target);
    }, deadlineMs);
  }

  /** Deregisters a dead task's target and forgets it once it has drained. */
  private async retire(replica: Replica, target: Target): Promise<void> {
    const group = this.group(replica);
    await group.deregister(target);
    group.remove(target);
  }

  private exited(replica: Replica, child: ChildProcess, how: string): void {
    if (this.supervisor.stopping) return;
    const old = [...this.replaced].find((task) => task.child === child);
    if (old !== undefined) {
      // A replaced task: its slot has a task already. Its target goes, nothing starts.
      this.replaced.delete(old);
      if (old.target) void this.retire(replica, old.target);
      this.options.say(`${replica.label}: the task it replaced (pid ${child.pid}) exited (${how})`);
      return;
    }
    const target = replica.target;
    const listened = replica.listened;
    // ECS's agent reports the stopped task; the scheduler deregisters it: no more requests.
    if (target) void this.retire(replica, target);
    if (listened) {
      this.options.say(`${replica.label} exited (${how})`);
      replica.crashes = 0;
    } else {
      this.options.say(
        `${replica.label} exited (${how}) before it listened on port ${replica.port}`,
      );
      if (this.options.exitedBeforeListening(replica, how)) return;
      replica.crashes++;
      this.reportOutput(replica);
    }
    const delay = restartDelayMs(replica.crashes);
    if (isCrashLoop(replica.crashes)) {
      this.options.say(
        `${replica.label}: crash loop, ${replica.crashes} tasks in a row exited before they listened (last: ${how}); next task in ${(delay / 1000).toFixed(2)} s`,
      );
    }
    replica.restartTimer = this.clock.setTimeout(() => {
      replica.restarts++;
      void this.launch(replica);
    }, delay);
  }

  /** The task's last output, unless it is what the previous crash printed. */
  private reportOutput(replica: Replica): void {
    const tail = replica.outputTail.join('\n');
    if (tail === replica.reportedTail) return;
    replica.reportedTail = tail;
    if (tail === '') this.options.say(`${replica.label}: it printed nothing`);
    else this.options.say(`${replica.label}: its last output:\n${formatTail(replica.outputTail)}`);
  }

  /** The target groups report each state change (stack.ts): replacements wait on them. */
  targetStateChanged(): void {
    for (const watcher of [...this.watchers]) watcher();
  }

  /** Stops every task, and whatever waited on one. */
  async stop(): Promise<void> {
    for (const replica of this.supervisor.replicas) this.clock.clearTimeout(replica.restartTimer);
    const stopped = this.supervisor.stopAll((replica) => this.options.stopTimeoutMs(replica));
    this.targetStateChanged();
    await stopped;
  }

  /**
   * A replica's target turned unhealthy (the target group reports it, stack.ts): once the
   * service's grace period is over, ECS replaces the task (onUnhealthy).
   */
  targetUnhealthy(replica: Replica, target: Target): void {
    if (this.supervisor.stopping) return;
    const service = replica.service;
    const action = onUnhealthy({
      running: replica.running && replica.target === target,
      // A replacement that turns unhealthy itself is not being replaced: it is replaced in
      // turn, as ECS replaces any task that fails its checks, while the task it was to
      // replace keeps waiting for a healthy one.
      replacing: this.replacing.has(replica) || this.isReplaced(target),
      gracePeriodMs: this.options.gracePeriodMs(replica),
      ageMs: this.now() - replica.startedAt,
      tasks: this.running(service),
      desired: service.minCount,
      maximumPercent: service.maximumPercent,
    });
    if (action.kind === 'wait') {
      this.clock.setTimeout(() => {
        if (replica.target === target && target.state === 'unhealthy') {
          this.targetUnhealthy(replica, target);
        }
      }, action.ms);
      return;
    }
    if (action.kind === 'none') return;
    const reason = 'failed ALB health checks';
    if (action.kind === 'replace-first') {
      void this.replaceFirst(replica, reason);
      return;
    }
    void this.replace(
      replica,
      `${reason} (maximumPercent ${service.maximumPercent}%: no room to start its replacement first)`,
    );
  }

  /**
   * ECS replacing a task its target group found unhealthy: the replacement first, the
   * unhealthy task stopped once the replacement is healthy (header).
   */
  private async replaceFirst(replica: Replica, reason: string): Promise<void> {
    const old: ReplacedTask = {
      replica,
      child: replica.child as ChildProcess,
      target: replica.target,
    };
    this.replaced.add(old);
    this.options.say(`${replica.label} replacing: ${reason}; its replacement starts first`);
    await this.launch(replica);
    await this.untilHealthy(replica);
    await this.stopReplaced(old);
  }

  /** Whether `target` is a task's that a replacement started first is to stop. */
  private isReplaced(target: Target): boolean {
    return [...this.replaced].some((task) => task.target === target);
  }

  /** Tasks of the service that count against maximumPercent: current ones and replaced ones. */
  private running(service: Service): number {
    const current = this.supervisor.replicas.filter((r) => r.service === service && r.running);
    const replaced = [...this.replaced].filter((t) => t.replica.service === service);
    return current.length + replaced.length;
  }

  /** Resolves once the replica's current task is healthy, or the stack stops. */
  private untilHealthy(replica: Replica): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.supervisor.stopping && replica.target?.state !== 'healthy') return;
        this.watchers.delete(check);
        resolve();
      };
      this.watchers.add(check);
      check();
    });
  }

  /** Stops a replaced task as ECS stops one: deregister and drain, SIGTERM, SIGKILL. */
  private async stopReplaced(task: ReplacedTask): Promise<void> {
    if (this.supervisor.stopping) return;
    this.options.say(
      `${task.replica.label}: its replacement is healthy; stopping the task it replaced (pid ${task.child.pid})`,
    );
    const target = task.target;
    await managedStop({
      deregister: async () => {
        if (target) await this.group(task.replica).deregister(target);
      },
      signal: (signal) => task.child.kill(signal),
      exited: exitOf(task.child),
      stopTimeoutMs: this.options.stopTimeoutMs(task.replica),
    });
  }

  /**
   * ECS stopping a task (and starting another in its place): deregister and drain, SIGTERM,
   * SIGKILL after the stop timeout. Resolves when the old process has exited.
   */
  async replace(replica: Replica, reason: string): Promise<void> {
    if (this.replacing.has(replica)) return replica.exited();
    this.replacing.add(replica);
    try {
      this.options.say(`${replica.label} replacing: ${reason}`);
      const target = replica.target;
      await managedStop({
        deregister: async () => {
          if (target) await this.group(replica).deregister(target);
        },
        signal: (signal) => this.supervisor.signal(replica, signal),
        exited: replica.exited(),
        stopTimeoutMs: this.options.stopTimeoutMs(replica),
      });
    } finally {
      this.replacing.delete(replica);
    }
  }
}

export function formatTail(lines: readonly string[]): string {
  return lines.map((line) => `    | ${line}`).join('\n');
}
