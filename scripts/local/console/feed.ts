// What the console consumes, and nothing more: a snapshot of the topology, a stream of events,
// and a handful of actions. The server and the page know only these types; the adapter
// (stack-feed.ts) is the one module that knows the stack's own objects.

/** ELB's target states, plus `stopped` once the task's process has exited. */
export type TaskState = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'stopped';

export interface HealthCheckResult {
  /** Epoch ms. */
  at: number;
  passed: boolean;
  /** `GET /api/books/health answered 200`, as the stack reports it. */
  text: string;
}

/** One ECS task: a process on its own port, registered as its own target. */
export interface Task {
  /** `127.0.0.1:<port>`: the target's address, also the `x-local-target` response header. */
  id: string;
  service: string;
  /** The replica slot (the desired-count index) this task fills. */
  slot: number;
  port: number;
  pid: number | undefined;
  state: TaskState;
  /** Stopped with SIGSTOP by the console and not resumed: alive, but answering nothing. */
  paused: boolean;
  /** ELB's reason code for the state, or how the process ended. */
  reason: string;
  /** Tasks started in this slot before this one. */
  restarts: number;
  startedAt: number;
  stoppedAt?: number;
  /** Newest last. */
  checks: HealthCheckResult[];
}

export interface Route {
  routeKey: string;
  /** The listener rule a request on this route lands on (via the Host overwrite), if any. */
  rule: string | null;
  rateLimit: number;
  burstLimit: number;
}

export interface ListenerRule {
  /** The service name: one rule per service, as Copilot creates them. */
  id: string;
  /** Evaluation order: the first whose conditions all match wins. */
  order: number;
  hosts: string[];
  paths: string[];
  targetGroup: string;
}

export interface TargetGroup {
  name: string;
  healthCheck: {
    path: string;
    successCodes: number[];
    /** The same, as a reader takes them in: `200-299, 404`. */
    codes: string;
    intervalMs: number;
    timeoutMs: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
  };
  deregistrationDelayMs: number;
  /** Current tasks first (by slot), then recently stopped ones, newest first. */
  tasks: Task[];
}

export interface Topology {
  application: string;
  environment: string;
  apiUrl: string;
  albUrl: string;
  albHost: string;
  routes: Route[];
  rules: ListenerRule[];
  /** What a request matching no rule gets. */
  defaultAction: string;
  targetGroups: TargetGroup[];
}

/** One access-log record, and what served it. */
export interface LoggedRequest {
  /** Sequence number, for the page to tell records apart. */
  seq: number;
  /** Epoch ms when the request arrived. */
  at: number;
  method: string;
  path: string;
  /** `-` when no route matched. */
  routeKey: string;
  status: number;
  latencyMs: number;
  /** The stage's access-log fields, by the names the template's format gives them. */
  fields: Record<string, unknown>;
  rule: string | null;
  /** The task that answered (`127.0.0.1:<port>`), if the ALB sent it to one. */
  target: string | null;
  /** `book-service/0`, the replica slot of that task. */
  replica: string | null;
}

export interface RouteStats {
  routeKey: string;
  /** Requests per second over the last minute, oldest first (one point per second). */
  rate: number[];
  /** Per-second p50 and p99 in ms (null for a second with no request), oldest first. */
  p50: (number | null)[];
  p99: (number | null)[];
  /** Over the whole last minute. */
  total: number;
  minuteP50: number | null;
  minuteP99: number | null;
}

export type FeedEvent =
  | { type: 'topology'; topology: Topology }
  | { type: 'requests'; requests: LoggedRequest[] }
  | { type: 'stats'; stats: RouteStats[] }
  | { type: 'notice'; text: string };

export type ReplicaAction = 'stop' | 'kill' | 'pause' | 'resume';
export const REPLICA_ACTIONS: readonly ReplicaAction[] = ['stop', 'kill', 'pause', 'resume'];

export interface ProbeResult {
  host: string;
  path: string;
  status: number;
  /** The rule the ALB applied, or null. */
  rule: string | null;
  target: string | null;
  /** Why the ALB answered as it did, in words. */
  explanation: string;
}

export class FeedError extends Error {
  override name = 'FeedError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The console's view of a running stack. */
export interface ConsoleFeed {
  topology(): Topology;
  /** The newest access-log records, newest first. */
  recentRequests(): LoggedRequest[];
  stats(): RouteStats[];
  /**
   * Events from now on. The stack does per-request work only while at least one listener is
   * attached; the returned function detaches it.
   */
  subscribe(listener: (event: FeedEvent) => void): () => void;
  /**
   * Throws FeedError(404) for an unknown replica. Resolves once the action is under way. With
   * `task` (the id of the task a page's row shows), throws FeedError(409) unless that is still
   * the slot's current task: an action on a row whose task is being replaced must not reach
   * its successor, as ECS acts on a task, not on a slot.
   */
  act(service: string, slot: number, action: ReplicaAction, task?: string): Promise<string>;
  probe(host: string, path: string): Promise<ProbeResult>;
}
