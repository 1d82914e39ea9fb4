// What a console (issue 16) can watch on a running local stack: replicas' state changes,
// health-check results, and each API request with the ALB rule and the target that served it.
// Listeners are optional: with none attached, a request costs one boolean check in the
// gateway (and the ALB's two field writes naming its rule and target); no record is built.
import type { AccessLogRecord } from '../workspace/http-api-settings.ts';
import type { HealthCheckOutcome, TargetState } from './alb/target-group.ts';

export type LocalStackEvent =
  | {
      type: 'target-state';
      service: string;
      /** `127.0.0.1:<port>`. */
      target: string;
      from: TargetState;
      state: TargetState;
      /** ELB's reason code for the new state ('' when healthy). */
      reason: string;
    }
  | {
      type: 'health-check';
      service: string;
      target: string;
      outcome: HealthCheckOutcome;
      /** `GET /api/books/health answered 200`, as the stack's log says it. */
      description: string;
    }
  | {
      type: 'request';
      /** The stage's access-log fields for this request. */
      record: AccessLogRecord;
      /** The service whose listener rule took it; undefined when no rule matched (or no route). */
      rule: string | undefined;
      /** The target that answered, `127.0.0.1:<port>`; undefined when none did. */
      target: string | undefined;
    };

export type LocalStackListener = (event: LocalStackEvent) => void;

/**
 * The stack's listeners. A listener takes state changes and health checks, and requests unless
 * it says otherwise: `active`, what the per-request path checks, is true only while a listener
 * wants requests, so a console that only watches the topology costs nothing per request.
 */
export class StackEvents {
  /** Each listener, and whether it wants request events. */
  private readonly listeners = new Map<LocalStackListener, boolean>();
  /** Someone listens (state changes, health checks). */
  watched = false;
  /** Someone listens to requests. */
  active = false;

  observe(listener: LocalStackListener, options: { requests?: boolean } = {}): () => void {
    this.listeners.set(listener, options.requests ?? true);
    this.update();
    return () => {
      this.listeners.delete(listener);
      this.update();
    };
  }

  private update(): void {
    this.watched = this.listeners.size > 0;
    this.active = [...this.listeners.values()].some(Boolean);
  }

  /** The gateway's hook (RequestObserver): one request answered. */
  served(record: AccessLogRecord, rule: string | undefined, target: string | undefined): void {
    this.emit({ type: 'request', record, rule, target });
  }

  emit(event: LocalStackEvent): void {
    for (const [listener, requests] of this.listeners) {
      if (event.type === 'request' && !requests) continue;
      try {
        listener(event);
      } catch {
        // A console's failure must not break the request path or the scheduler.
      }
    }
  }
}
