// The adapter: the console's feed (feed.ts) from a running local stack. It listens through the
// stack's events (scripts/local/events.ts): target states and health checks always (a few
// events per health-check interval), requests only while someone is subscribed, so an
// unwatched stack does no work per request for the console.
import type { ChildProcess } from 'node:child_process';
import type { LocalStackEvent } from '../events.ts';
import type { LocalStack } from '../handle.ts';
import type {
  ConsoleFeed,
  FeedEvent,
  HealthCheckResult,
  LoggedRequest,
  ProbeResult,
  ReplicaAction,
  Task,
} from './feed.ts';
import { FeedError } from './feed.ts';
import { probeAlb } from './probe.ts';
import { RequestRecorder } from './request-recorder.ts';
import { buildTopology } from './topology.ts';

type TargetStateEvent = Extract<LocalStackEvent, { type: 'target-state' }>;

/** Health checks kept per task, and stopped tasks kept per service. */
const CHECKS_KEPT = 5;
const STOPPED_KEPT = 2;
/** Topology changes come in bursts (a kill: draining, stopped, initial): one event per burst. */
const TOPOLOGY_COALESCE_MS = 50;

const SIGNALS: Record<ReplicaAction, NodeJS.Signals> = {
  stop: 'SIGTERM',
  kill: 'SIGKILL',
  pause: 'SIGSTOP',
  resume: 'SIGCONT',
};

export class StackFeed implements ConsoleFeed {
  private readonly stack: LocalStack;
  /** By target address (`127.0.0.1:<port>`): each task is a new target on a new port. */
  private readonly tasks = new Map<string, Task>();
  private readonly listeners = new Set<(event: FeedEvent) => void>();
  private readonly recorder: RequestRecorder;
  private topologyTimer: NodeJS.Timeout | undefined;
  private readonly detachState: () => void;
  private detachRequests: (() => void) | undefined;
  /** The clock of every time the feed records: requests, stops, checks. */
  private readonly now: () => number;

  constructor(stack: LocalStack, now: () => number = Date.now) {
    this.stack = stack;
    this.now = now;
    const { parts, settings } = stack;
    this.recorder = new RequestRecorder(
      settings.routes.map((r) => r.routeKey),
      settings.accessLogFormat,
      now,
      (event) => this.emit(event),
    );
    for (const replica of parts.replicas) {
      if (replica.target !== undefined) this.track(replica.target.address);
    }
    this.detachState = stack.observe((event) => this.onStackEvent(event), { requests: false });
  }

  private onStackEvent(event: LocalStackEvent): void {
    if (event.type === 'target-state') this.stateChanged(event.target, event.from);
    else if (event.type === 'health-check') this.checked(event.target, event.description);
  }

  /** Detaches from the stack. */
  close(): void {
    this.detachState();
    this.detachRequests?.();
    this.detachRequests = undefined;
    this.listeners.clear();
    this.recorder.stop();
    clearTimeout(this.topologyTimer);
  }

  topology() {
    return buildTopology(this.stack, (group) => this.tasksOf(group));
  }

  recentRequests(): LoggedRequest[] {
    return this.recorder.recent();
  }

  stats() {
    return this.recorder.stats.summarize();
  }

  subscribe(listener: (event: FeedEvent) => void): () => void {
    this.listeners.add(listener);
    this.detachRequests ??= this.stack.observe((event) => {
      if (event.type === 'request') this.recordRequest(event);
    });
    this.recorder.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0) return;
      this.detachRequests?.();
      this.detachRequests = undefined;
      this.recorder.stop();
    };
  }

  async act(
    service: string,
    slot: number,
    action: ReplicaAction,
    expected?: string,
  ): Promise<string> {
    const replica = this.stack.parts.replicas.find(
      (r) => r.service.name === service && r.index === slot,
    );
    if (replica === undefined) throw new FeedError(404, `no replica ${service}/${slot}`);
    const current = replica.target?.address;
    if (expected !== undefined && expected !== current) {
      throw new FeedError(
        409,
        `task ${expected} is no longer ${replica.label}'s (now ${current ?? 'none'}): nothing done`,
      );
    }
    const task = current === undefined ? undefined : this.tasks.get(current);
    if (task === undefined || task.state === 'stopped' || replica.pid === undefined) {
      throw new FeedError(409, `${replica.label} has no running task right now`);
    }
    const signal = SIGNALS[action];
    if (action === 'pause' || action === 'resume') task.paused = action === 'pause';
    if (action === 'pause' || action === 'resume') {
      this.stack.pauseReplica(service, slot, action === 'pause');
    } else {
      // Not awaited: a stop drains first. The events show what follows.
      this.stack.killReplica(service, slot, signal).catch((error: Error) => {
        this.emit({ type: 'notice', text: `${action} ${replica.label}: ${error.message}` });
      });
    }
    this.topologyChanged();
    const how = action === 'stop' ? 'deregister, drain, then SIGTERM' : signal;
    return `${action} ${replica.label} (pid ${replica.pid}, port ${replica.port}): ${how}`;
  }

  probe(host: string, path: string): Promise<ProbeResult> {
    return probeAlb(this.stack, host, path);
  }

  private emit(event: FeedEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private topologyChanged(): void {
    if (this.listeners.size === 0 || this.topologyTimer !== undefined) return;
    this.topologyTimer = setTimeout(() => {
      this.topologyTimer = undefined;
      this.emit({ type: 'topology', topology: this.topology() });
    }, TOPOLOGY_COALESCE_MS);
  }

  /** A task the feed has not seen yet: its target's state, and a watch on its process. */
  private track(address: string): Task | undefined {
    const replica = this.stack.parts.replicas.find((r) => r.target?.address === address);
    const target = replica?.target;
    if (replica === undefined || target === undefined || replica.child === undefined) {
      return undefined;
    }
    const task: Task = {
      id: target.address,
      service: replica.service.name,
      slot: replica.index,
      port: target.port,
      pid: replica.pid,
      // A new target is registered as soon as it is added (the scheduler's launch), so an
      // unregistered one with a live process has drained and its process is on its way out.
      state: target.state === 'unused' ? 'draining' : target.state,
      paused: false,
      reason: target.reason,
      restarts: replica.restarts,
      startedAt: replica.startedAt,
      checks: [],
    };
    this.tasks.set(address, task);
    this.watchExit(address, task, replica.child);
    return task;
  }

  private watchExit(address: string, task: Task, child: ChildProcess): void {
    const exited = (code: number | null, signal: NodeJS.Signals | null): void => {
      task.state = 'stopped';
      task.paused = false;
      task.reason = `exited (${signal ?? `code ${code}`})`;
      task.stoppedAt = this.now();
      this.forgetOldStopped(task.service, address);
      this.topologyChanged();
    };
    if (child.exitCode !== null || child.signalCode !== null) {
      exited(child.exitCode, child.signalCode);
    } else child.once('exit', exited);
  }

  private forgetOldStopped(service: string, keep: string): void {
    const stopped = [...this.tasks]
      .filter(([t, task]) => t !== keep && task.service === service && task.state === 'stopped')
      .sort(([, a], [, b]) => (b.stoppedAt ?? 0) - (a.stoppedAt ?? 0));
    for (const [target] of stopped.slice(STOPPED_KEPT - 1)) this.tasks.delete(target);
  }

  private stateChanged(address: string, from: TargetStateEvent['from']): void {
    const known = this.tasks.get(address);
    // Only a new task's target is ever registered (the scheduler's launch), so a registration
    // on the address of a stopped task is a new task on a port the OS has handed out again.
    const renewed = known?.state === 'stopped' && from === 'unused';
    const task = known === undefined || renewed ? this.track(address) : known;
    const target = this.targetAt(address);
    if (task === undefined || target === undefined || task.state === 'stopped') return;
    // Drained but its process not yet gone (SIGTERM on its way): still on its way out.
    task.state = target.state === 'unused' ? 'draining' : target.state;
    task.reason = target.reason;
    this.topologyChanged();
  }

  private targetAt(address: string) {
    for (const group of this.stack.parts.groups.values()) {
      const target = group.targets.find((t) => t.address === address);
      if (target !== undefined) return target;
    }
    return undefined;
  }

  private checked(address: string, text: string): void {
    const task = this.tasks.get(address);
    const target = this.targetAt(address);
    const outcome = target?.lastCheck;
    if (task === undefined || target === undefined || outcome === undefined) return;
    // A check can land between the process's exit and its target's deregistration: it says
    // nothing of a task that is gone, and must not replace how it ended.
    if (task.state === 'stopped') return;
    const check: HealthCheckResult = { at: this.now(), passed: outcome.passed, text };
    task.checks.push(check);
    if (task.checks.length > CHECKS_KEPT) task.checks.shift();
    task.reason = target.reason;
    this.topologyChanged();
  }

  private tasksOf(group: string): Task[] {
    const tasks = [...this.tasks.values()].filter((t) => t.service === group);
    const current = tasks.filter((t) => t.state !== 'stopped').sort((a, b) => a.slot - b.slot);
    const stopped = tasks
      .filter((t) => t.state === 'stopped')
      .sort((a, b) => (b.stoppedAt ?? 0) - (a.stoppedAt ?? 0));
    return [...current, ...stopped];
  }

  private recordRequest(event: Extract<LocalStackEvent, { type: 'request' }>): void {
    const task = event.target === undefined ? undefined : this.tasks.get(event.target);
    this.recorder.record(event.record, event.rule ?? task?.service ?? null, task);
  }
}
