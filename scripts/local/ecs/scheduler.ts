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
// - Tasks that keep exiting before they ever listen are a crash loop: each is reported, its
//   output once (until it changes), and new tasks start with growing delays (ECS throttles
//   launches of tasks that keep failing to start too; this schedule is our own).
import { freePort, terminate } from '../../cli/processes.ts';
import { Target, type TargetGroup } from '../alb/target-group.ts';
import { type Replica, Supervisor, type SupervisorOptions } from './supervisor.ts';

const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

export interface SchedulerOptions extends Omit<SupervisorOptions, 'events'> {
  host: string;
  groups: ReadonlyMap<string, TargetGroup>;
  stopTimeoutMs(replica: Replica): number;
  say(line: string): void;
  output(replica: Replica, line: string): void;
  /**
   * A task exited before it ever listened. Return true when that ends it (the stack is still
   * starting and gives up), false to let the scheduler replace the task.
   */
  exitedBeforeListening(replica: Replica, how: string): boolean;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ?? `code ${code}`;
}

export class Scheduler {
  readonly supervisor: Supervisor;
  private readonly options: SchedulerOptions;
  private readonly replacing = new Set<Replica>();

  constructor(replicas: Replica[], options: SchedulerOptions) {
    this.options = options;
    this.supervisor = new Supervisor(replicas, {
      ...options,
      events: {
        onStarted: (replica) =>
          options.say(`${replica.label} started: pid ${replica.pid}, port ${replica.port}`),
        onExited: (replica, code, signal) => this.exited(replica, describeExit(code, signal)),
        onOutput: options.output,
      },
    });
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
  }

  /** Deregisters a dead task's target and forgets it once it has drained. */
  private async retire(replica: Replica, target: Target): Promise<void> {
    const group = this.group(replica);
    await group.deregister(target);
    group.remove(target);
  }

  private exited(replica: Replica, how: string): void {
    if (this.supervisor.stopping) return;
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
    const delay = replica.crashes <= 1 ? 0 : backoff(replica.crashes);
    if (replica.crashes >= 2) {
      this.options.say(
        `${replica.label}: crash loop, ${replica.crashes} tasks in a row exited before they listened (last: ${how}); next task in ${(delay / 1000).toFixed(2)} s`,
      );
    }
    replica.restartTimer = setTimeout(() => {
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
      if (target) await this.group(replica).deregister(target);
      await terminate(
        (signal) => this.supervisor.signal(replica, signal),
        replica.exited(),
        this.options.stopTimeoutMs(replica),
      );
    } finally {
      this.replacing.delete(replica);
    }
  }
}

function backoff(crashes: number): number {
  return Math.min(FIRST_BACKOFF_MS * 2 ** (crashes - 2), MAX_BACKOFF_MS);
}

export function formatTail(lines: readonly string[]): string {
  return lines.map((line) => `    | ${line}`).join('\n');
}
