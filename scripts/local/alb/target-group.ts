// One service's target group, as the internal ALB keeps it: registered targets, their health
// as the manifest's health check sees it, round robin over the healthy ones, and draining of
// deregistered targets. States, reason codes and transitions follow Elastic Load Balancing's
// "Health checks for Application Load Balancer target groups" and the TargetHealth API
// reference (docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html):
// "After your target is registered, it must pass one health check to be considered healthy",
// so a NEW target (`initial`) serves after one passing check, while an `unhealthy` one comes
// back only after `healthyThreshold` consecutive passes, and any target is taken out after
// `unhealthyThreshold` consecutive failures. When only unhealthy targets are registered the
// group "fails open" to them; with no target healthy or unhealthy (none registered, or all
// still `initial`) nothing can serve, and the ALB answers 503. A draining target gets no new
// requests and is gone once its in-flight requests end or the deregistration delay passes,
// whichever comes first.
import type { Pool } from 'undici';
import { describeCodes } from '../../workspace/http-codes.ts';
import {
  type HealthCheckOutcome,
  type HealthCheckSettings,
  type HealthProbe,
  httpProbe,
  type ProbeAnswer,
} from './health-check.ts';
import { targetPool } from './upstream.ts';

export type { HealthCheckOutcome, HealthCheckSettings } from './health-check.ts';

export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused';

/**
 * ECS registers a task once its container runs; locally a process is "running" before it
 * listens. Until a new target has answered once, a refused connection is not counted as a
 * failed check, and the target is probed again this soon instead of a full interval later.
 */
export const STARTUP_PROBE_MS = 50;

/** Timers, injectable so tests can drive thresholds and delays on a clock of their own. */
export interface Clock {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

const realClock: Clock = {
  setTimeout: (run, ms) => setTimeout(run, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};

export class Target {
  readonly port: number;
  /** `127.0.0.1:port`, also sent back in the `x-local-target` response header. */
  readonly address: string;
  /** Keep-alive connections to it; one silent for `idleTimeoutMs` (0: never) gets a 504. */
  readonly pool: Pool;
  state: TargetState = 'unused';
  /** Why it is in its state, in ELB's reason-code wording. */
  reason = 'Target.NotRegistered';
  inFlight = 0;
  passes = 0;
  failures = 0;
  answeredOnce = false;
  lastCheck: HealthCheckOutcome | undefined;
  timer: unknown;
  drainTimer: unknown;
  drained: (() => void) | undefined;

  constructor(port: number, idleTimeoutMs = 0) {
    this.port = port;
    this.address = `127.0.0.1:${port}`;
    this.pool = targetPool(port, idleTimeoutMs);
  }
}

/** Destroys every connection to a target, busy or not (it is gone, or the stack stops). */
function closePool(target: Target): void {
  target.pool.destroy().catch(() => {});
}

export interface TargetGroupEvents {
  onStateChange(group: TargetGroup, target: Target, from: TargetState): void;
  /** After every health check, with its outcome in `target.lastCheck`. */
  onCheck?(group: TargetGroup, target: Target): void;
}

export class TargetGroup {
  readonly name: string;
  readonly health: HealthCheckSettings;
  readonly deregistrationDelayMs: number;
  /** The ALB's idle timeout, for the connections to this group's targets (the stack sets it). */
  idleTimeoutMs = 0;
  readonly targets: Target[] = [];
  private readonly events: TargetGroupEvents;
  private readonly clock: Clock;
  private readonly probe: HealthProbe;
  /** Healthy targets, rebuilt on every state change so a request only indexes an array. */
  private routable: Target[] = [];
  /** Unhealthy targets, used only when none is healthy (fail open). */
  private failOpen: Target[] = [];
  private next = 0;
  private closed = false;

  constructor(
    name: string,
    health: HealthCheckSettings,
    deregistrationDelayMs: number,
    events: TargetGroupEvents,
    inject: { clock?: Clock; probe?: HealthProbe } = {},
  ) {
    this.name = name;
    this.health = health;
    this.deregistrationDelayMs = deregistrationDelayMs;
    this.events = events;
    this.clock = inject.clock ?? realClock;
    this.probe = inject.probe ?? httpProbe;
  }

  /** The next target in round robin, or undefined when nothing can serve (the ALB's 503). */
  pick(): Target | undefined {
    const pool = this.routable.length > 0 ? this.routable : this.failOpen;
    const count = pool.length;
    if (count === 0) return undefined;
    if (this.next >= count) this.next = 0;
    const target = pool[this.next++] as Target;
    target.inFlight++;
    return target;
  }

  /** Every request `pick` handed out must be released once, when its response is over. */
  release(target: Target): void {
    target.inFlight--;
    if (target.inFlight === 0 && target.drained) target.drained();
  }

  add(target: Target): void {
    this.targets.push(target);
  }

  /** Forgets a deregistered target (ELB stops listing it once draining is over). */
  remove(target: Target): void {
    this.clearTimers(target);
    closePool(target);
    const at = this.targets.indexOf(target);
    if (at !== -1) this.targets.splice(at, 1);
  }

  /** `GET /api/books/health answered 404 (success codes: 200)`, for reports and logs. */
  describeLastCheck(target: Target): string {
    const check = target.lastCheck;
    const request = `GET ${this.health.path}`;
    if (check === undefined) return `${request}: no answer yet`;
    if ('status' in check) {
      const codes = describeCodes(this.health.successCodes);
      return `${request} answered ${check.status}${check.passed ? '' : ` (success codes: ${codes})`}`;
    }
    if (check.error === 'timeout') return `${request} timed out after ${this.health.timeoutMs} ms`;
    if (check.error === 'refused') return `${request}: connection refused`;
    return `${request}: ${check.error}`;
  }

  register(target: Target): void {
    if (this.closed) return;
    this.clearTimers(target);
    target.passes = 0;
    target.failures = 0;
    target.answeredOnce = false;
    this.setState(target, 'initial', 'Elb.InitialHealthChecking');
    this.schedule(target, 0);
  }

  /** Stops new requests to the target; resolves when draining is over. */
  deregister(target: Target): Promise<void> {
    if (target.state === 'unused' || target.state === 'draining') return Promise.resolve();
    this.clearTimers(target);
    this.setState(target, 'draining', 'Target.DeregistrationInProgress');
    return new Promise((resolve) => {
      const finish = (): void => {
        // Only this drain's own end: a drain of an earlier registration may still fire.
        if (target.drained !== finish) return;
        target.drained = undefined;
        this.clock.clearTimeout(target.drainTimer);
        target.drainTimer = undefined;
        if (target.state === 'draining') this.setState(target, 'unused', 'Target.NotRegistered');
        resolve();
      };
      target.drained = finish;
      if (target.inFlight === 0) finish();
      else target.drainTimer = this.clock.setTimeout(finish, this.deregistrationDelayMs);
    });
  }

  close(): void {
    this.closed = true;
    for (const target of this.targets) {
      this.clearTimers(target);
      target.drained?.();
      closePool(target);
    }
  }

  private clearTimers(target: Target): void {
    this.clock.clearTimeout(target.timer);
    target.timer = undefined;
  }

  private setState(target: Target, state: TargetState, reason: string): void {
    const from = target.state;
    target.reason = reason;
    if (from === state) return;
    target.state = state;
    this.routable = this.targets.filter((t) => t.state === 'healthy');
    this.failOpen = this.targets.filter((t) => t.state === 'unhealthy');
    this.events.onStateChange(this, target, from);
  }

  private schedule(target: Target, delayMs: number): void {
    if (this.closed) return;
    target.timer = this.clock.setTimeout(() => this.check(target), delayMs);
  }

  private check(target: Target): void {
    // Each check lasts at most its timeout, and the next starts an interval after this one
    // started, whatever this one takes (ELB: "each health check request is independent").
    this.schedule(target, this.health.intervalMs);
    void this.probe(target.port, this.health).then((answer) => this.checked(target, answer));
  }

  private checked(target: Target, answer: ProbeAnswer): void {
    const starting = !target.answeredOnce && target.state === 'initial';
    if (starting && 'error' in answer && answer.error === 'refused') {
      this.clearTimers(target);
      this.schedule(target, STARTUP_PROBE_MS);
      return;
    }
    // Anything else means something accepted the connection once: the task listens.
    target.answeredOnce = true;
    const outcome: HealthCheckOutcome =
      'status' in answer
        ? { passed: this.health.successCodes.includes(answer.status), status: answer.status }
        : { passed: false, error: answer.error };
    this.record(target, outcome);
  }

  private record(target: Target, outcome: HealthCheckOutcome): void {
    if (target.state === 'draining' || target.state === 'unused' || this.closed) return;
    target.lastCheck = outcome;
    this.count(target, outcome);
    this.events.onCheck?.(this, target);
  }

  private count(target: Target, outcome: HealthCheckOutcome): void {
    if (outcome.passed) {
      target.failures = 0;
      target.passes++;
      // A healthy target stays healthy; an initial one needs one pass, an unhealthy one more.
      if (target.state === 'initial' || target.passes >= this.health.healthyThreshold) {
        this.setState(target, 'healthy', '');
      }
      return;
    }
    target.passes = 0;
    target.failures++;
    // Once out, the reason follows the latest failure (setState keeps the state, sets it).
    if (target.state === 'unhealthy' || target.failures >= this.health.unhealthyThreshold) {
      this.setState(target, 'unhealthy', failureReason(outcome));
    }
  }
}

/** ELB's reason code for a failed check. */
function failureReason(outcome: HealthCheckOutcome): string {
  if ('status' in outcome) return 'Target.ResponseCodeMismatch';
  return outcome.error === 'timeout' ? 'Target.Timeout' : 'Target.FailedHealthChecks';
}
