// The adapter: the console's feed (feed.ts) from a running local stack. It listens through the
// stack's taps (scripts/local/taps.ts): target states and health checks always (a few events
// per health-check interval), requests only while someone is subscribed, so an unwatched
// stack does no work per request for the console.
import type { ChildProcess } from 'node:child_process';
import type { LocalStack } from '../stack.ts';
import type { TappedRequest } from '../taps.ts';
import type { TargetGroup as StackTargetGroup, Target } from '../target-group.ts';
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
  private readonly tasks = new Map<Target, Task>();
  private readonly listeners = new Set<(event: FeedEvent) => void>();
  private readonly recorder: RequestRecorder;
  private topologyTimer: NodeJS.Timeout | undefined;
  private readonly onRequest = (request: TappedRequest): void => this.recordRequest(request);

  constructor(stack: LocalStack, now: () => number = Date.now) {
    this.stack = stack;
    const { parts, settings } = stack;
    this.recorder = new RequestRecorder(
      settings.routes.map((r) => r.routeKey),
      settings.accessLogFormat,
      now,
      (event) => this.emit(event),
    );
    for (const replica of parts.replicas) {
      if (replica.target !== undefined) this.track(replica.target);
    }
    parts.taps.onTargetState = (group, target) => this.stateChanged(group, target);
    parts.taps.onHealthCheck = (group, target) => this.checked(group, target);
  }

  /** Detaches from the stack. */
  close(): void {
    const { taps } = this.stack.parts;
    taps.onTargetState = undefined;
    taps.onHealthCheck = undefined;
    taps.onRequest = undefined;
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
    this.stack.parts.taps.onRequest = this.onRequest;
    this.recorder.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0) return;
      this.stack.parts.taps.onRequest = undefined;
      this.recorder.stop();
    };
  }

  async act(service: string, slot: number, action: ReplicaAction): Promise<string> {
    const replica = this.stack.parts.replicas.find(
      (r) => r.service.name === service && r.index === slot,
    );
    if (replica === undefined) throw new FeedError(404, `no replica ${service}/${slot}`);
    const task = replica.target && this.tasks.get(replica.target);
    if (task === undefined || task.state === 'stopped' || replica.pid === undefined) {
      throw new FeedError(409, `${replica.label} has no running task right now`);
    }
    const signal = SIGNALS[action];
    if (action === 'pause' || action === 'resume') task.paused = action === 'pause';
    // Not awaited: a stop drains first, a pause never exits. The events show what follows.
    this.stack.killReplica(service, slot, signal).catch((error: Error) => {
      this.emit({ type: 'notice', text: `${action} ${replica.label}: ${error.message}` });
    });
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
  private track(target: Target): Task | undefined {
    const replica = this.stack.parts.replicas.find((r) => r.target === target);
    if (replica === undefined || replica.child === undefined) return undefined;
    const task: Task = {
      id: target.address,
      service: replica.service.name,
      slot: replica.index,
      port: target.port,
      pid: replica.pid,
      state: target.state === 'unused' ? 'initial' : target.state,
      paused: false,
      reason: target.reason,
      restarts: replica.restarts,
      startedAt: replica.startedAt,
      checks: [],
    };
    this.tasks.set(target, task);
    this.watchExit(target, task, replica.child);
    return task;
  }

  private watchExit(target: Target, task: Task, child: ChildProcess): void {
    const exited = (code: number | null, signal: NodeJS.Signals | null): void => {
      task.state = 'stopped';
      task.paused = false;
      task.reason = `exited (${signal ?? `code ${code}`})`;
      task.stoppedAt = Date.now();
      this.forgetOldStopped(task.service, target);
      this.topologyChanged();
    };
    if (child.exitCode !== null || child.signalCode !== null) {
      exited(child.exitCode, child.signalCode);
    } else child.once('exit', exited);
  }

  private forgetOldStopped(service: string, keep: Target): void {
    const stopped = [...this.tasks]
      .filter(([t, task]) => t !== keep && task.service === service && task.state === 'stopped')
      .sort(([, a], [, b]) => (b.stoppedAt ?? 0) - (a.stoppedAt ?? 0));
    for (const [target] of stopped.slice(STOPPED_KEPT - 1)) this.tasks.delete(target);
  }

  private stateChanged(_group: StackTargetGroup, target: Target): void {
    const task = this.tasks.get(target) ?? this.track(target);
    if (task === undefined || task.state === 'stopped') return;
    // Drained but its process not yet gone (SIGTERM on its way): still on its way out.
    task.state = target.state === 'unused' ? 'draining' : target.state;
    task.reason = target.reason;
    this.topologyChanged();
  }

  private checked(group: StackTargetGroup, target: Target): void {
    const task = this.tasks.get(target);
    const outcome = target.lastCheck;
    if (task === undefined || outcome === undefined) return;
    const check: HealthCheckResult = {
      at: Date.now(),
      passed: outcome.passed,
      text: group.describeLastCheck(target),
    };
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

  private recordRequest(request: TappedRequest): void {
    const task = request.target === null ? undefined : this.tasks.get(request.target);
    this.recorder.record(request, this.ruleOf(request, task), task);
  }

  /** The rule that took it: the serving task's service, else what the ALB would match. */
  private ruleOf(request: TappedRequest, task: Task | undefined): string | null {
    if (task !== undefined) return task.service;
    if (request.routeKey === '-') return null;
    const { alb } = this.stack.parts;
    const host = this.stack.settings.hostOverwritten ? alb.dnsName : request.domainName;
    return alb.match(host, request.path)?.service ?? null;
  }
}
