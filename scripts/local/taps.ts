// Where an observer (the console, scripts/local/console/) can listen to a running stack. Each
// hook is a field the stack reads when the event happens: undefined while nobody listens, so
// an unobserved stack pays one property read per event and allocates nothing. The request
// hook in particular is set only while a console client is connected.
import type { AccessLogRecord } from '../workspace/http-api-settings.ts';
import type { LoadBalancer } from './load-balancer.ts';
import type { Replica } from './supervisor.ts';
import type { Target, TargetGroup, TargetState } from './target-group.ts';

/** One finished API request: its access-log fields, and the target the ALB sent it to. */
export interface TappedRequest extends AccessLogRecord {
  /** Null when the ALB did not send it anywhere (no route, no rule, no target, throttled). */
  readonly target: Target | null;
}

export interface StackTaps {
  onTargetState?: ((group: TargetGroup, target: Target, from: TargetState) => void) | undefined;
  /** After every health check, its outcome in `target.lastCheck`. */
  onHealthCheck?: ((group: TargetGroup, target: Target) => void) | undefined;
  /** Once per request through the API, when its response is over. Read it synchronously. */
  onRequest?: ((request: TappedRequest) => void) | undefined;
}

/** The stack's own objects, for an observer that reads them as they change. */
export interface StackParts {
  readonly alb: LoadBalancer;
  readonly groups: ReadonlyMap<string, TargetGroup>;
  readonly replicas: readonly Replica[];
  readonly taps: StackTaps;
}
