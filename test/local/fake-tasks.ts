// The processes behind the ECS scheduler's tasks, faked (scheduler.ts's `tasks` option): no
// process starts, so a test sees each of the scheduler's actions in order, on its own clock.
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Target, TargetGroup } from '../../scripts/local/alb/target-group.ts';
import { Scheduler, type SchedulerOptions, type Tasks } from '../../scripts/local/ecs/scheduler.ts';
import type { Replica, ReplicaEvents } from '../../scripts/local/ecs/supervisor.ts';
import type { ManualClock } from './manual-clock.ts';

/** A process that exits when the test says, or on a signal the test lets through. */
export class FakeChild extends EventEmitter {
  static next = 1_000;
  readonly pid = FakeChild.next++;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly signals: NodeJS.Signals[] = [];
  /** Exits on these signals (the default: SIGTERM and SIGKILL, as a service does). */
  obeys = new Set<NodeJS.Signals>(['SIGTERM', 'SIGKILL']);
  kill(signal: NodeJS.Signals): boolean {
    this.signals.push(signal);
    if (this.obeys.has(signal)) setImmediate(() => this.exit(null, signal));
    return true;
  }
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exitCode !== null || this.signalCode !== null) return;
    this.exitOnly(code, signal);
    this.close();
  }
  /**
   * Node's 'exit' alone: the process is gone, but its output is still being read, so 'close'
   * (on which the supervisor reports the exit, supervisor.ts) comes later.
   */
  exitOnly(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.exitCode = code;
    this.signalCode = signal;
    this.emit('exit', code, signal);
  }
  /** Node's 'close': the output has been read to the end. */
  close(): void {
    this.emit('close', this.exitCode, this.signalCode);
  }
}

/** The supervisor's part, without processes: each start is a FakeChild. */
export class FakeTasks implements Tasks {
  readonly replicas: Replica[];
  private readonly events: ReplicaEvents;
  /** When a task starts (Supervisor: Date.now()); 0 unless the test gives its clock. */
  private readonly now: () => number;
  stopping = false;
  readonly started: { replica: string; port: number; child: FakeChild }[] = [];
  stopTimeouts: number[] = [];
  constructor(replicas: Replica[], events: ReplicaEvents, now: () => number = () => 0) {
    this.replicas = replicas;
    this.events = events;
    this.now = now;
  }
  start(replica: Replica, port: number): void {
    if (this.stopping) return;
    const child = new FakeChild();
    replica.child = child as unknown as ChildProcess;
    replica.port = port;
    replica.startedAt = this.now();
    replica.outputTail.length = 0;
    this.started.push({ replica: replica.label, port, child });
    child.once('close', (code, signal) =>
      this.events.onExited(replica, child as unknown as ChildProcess, code, signal),
    );
    this.events.onStarted(replica);
  }
  signal(replica: Replica, signal: NodeJS.Signals): void {
    if (replica.running) replica.child?.kill(signal);
  }
  async stopAll(stopTimeoutMs: (replica: Replica) => number): Promise<void> {
    this.stopping = true;
    this.stopTimeouts = this.replicas.map(stopTimeoutMs);
    for (const { child } of this.started) child.kill('SIGTERM');
  }
}

/** A scheduler over fake tasks and the test's clock, with what each test chooses. */
export interface FakeScheduler {
  scheduler: Scheduler;
  tasks: FakeTasks;
}

type Chosen = Pick<
  SchedulerOptions,
  'stopTimeoutMs' | 'gracePeriodMs' | 'say' | 'exitedBeforeListening' | 'starting'
>;

export function fakeScheduler(
  replicas: Replica[],
  groups: ReadonlyMap<string, TargetGroup>,
  clock: ManualClock,
  chosen: Chosen,
): FakeScheduler {
  let tasks: FakeTasks | undefined;
  const scheduler = new Scheduler(replicas, {
    taskArgs: new Map(),
    host: '127.0.0.1',
    groups,
    env: {},
    logLevel: undefined,
    forwardStdout: false,
    output: () => {},
    ...chosen,
    tasks: (r, events) => {
      tasks = new FakeTasks(r, events, () => clock.now);
      return tasks;
    },
    clock,
    now: () => clock.now,
  });
  return { scheduler, tasks: tasks as FakeTasks };
}

/** A target's state change reaching the scheduler, as stack.ts wires the ALB's events. */
export function reportStateChange(built: FakeScheduler | undefined, target: Target): void {
  built?.scheduler.targetStateChanged();
  const replica = built?.tasks.replicas.find((r) => r.target === target);
  if (target.state === 'unhealthy' && replica) built?.scheduler.targetUnhealthy(replica, target);
}
