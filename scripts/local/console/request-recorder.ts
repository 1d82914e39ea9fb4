// The console's access log: each request the stack reports, copied into the stage's
// access-log fields, counted into the per-route statistics, kept in a ring of the newest, and
// sent to subscribers in batches (a loaded stack finishes thousands of requests a second; the
// page needs a few updates a second, not one per request).
import { type AccessLogRecord, compileAccessLogFormat } from '../../workspace/http-api-settings.ts';
import type { FeedEvent, LoggedRequest, Task } from './feed.ts';
import { RequestStats } from './stats.ts';

/** Records kept for a page that connects (and for the log's filter). */
export const RECENT_KEPT = 500;
const FLUSH_MS = 200;
const STATS_MS = 1_000;

/** The stage's access-log line as fields, or the fields by their `$context` names. */
function fieldsOf(
  render: ((record: AccessLogRecord) => string) | null,
  record: AccessLogRecord,
): Record<string, unknown> {
  if (render !== null) {
    const line = render(record);
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed !== null && typeof parsed === 'object') return parsed as Record<string, unknown>;
    } catch {
      // Not a JSON format (CLF, say): the line as the stage writes it.
    }
    return { line };
  }
  const { requestId, sourceIp, httpMethod, routeKey, path, status, protocol } = record;
  return { requestId, sourceIp, httpMethod, routeKey, path, status, protocol };
}

export class RequestRecorder {
  readonly stats: RequestStats;
  private readonly render: ((record: AccessLogRecord) => string) | null;
  private readonly emit: (event: FeedEvent) => void;
  private readonly ring: LoggedRequest[] = [];
  private pending: LoggedRequest[] = [];
  private seq = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;

  constructor(
    routeKeys: readonly string[],
    accessLogFormat: string | undefined,
    now: () => number,
    emit: (event: FeedEvent) => void,
  ) {
    this.stats = new RequestStats(routeKeys, now);
    this.render = accessLogFormat === undefined ? null : compileAccessLogFormat(accessLogFormat);
    this.emit = emit;
  }

  /** Statistics go out every second while someone watches. */
  start(): void {
    if (this.statsTimer !== undefined) return;
    this.statsTimer = setInterval(() => {
      this.emit({ type: 'stats', stats: this.stats.summarize() });
    }, STATS_MS);
    this.statsTimer.unref();
  }

  stop(): void {
    clearInterval(this.statsTimer);
    this.statsTimer = undefined;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending = [];
  }

  /** Newest first. */
  recent(): LoggedRequest[] {
    return [...this.ring].reverse();
  }

  record(record: AccessLogRecord, rule: string | null, task: Task | undefined): void {
    const latencyMs = Math.max(0, record.responseLatency);
    const logged: LoggedRequest = {
      seq: ++this.seq,
      at: record.requestTimeEpoch,
      method: record.httpMethod,
      path: record.path,
      routeKey: record.routeKey,
      status: record.status,
      latencyMs,
      fields: fieldsOf(this.render, record),
      rule,
      target: task?.id ?? null,
      replica: task === undefined ? null : `${task.service}/${task.slot}`,
    };
    this.stats.record(record.routeKey, latencyMs);
    this.ring.push(logged);
    if (this.ring.length > RECENT_KEPT) this.ring.shift();
    this.pending.push(logged);
    if (this.pending.length > RECENT_KEPT) this.pending.shift();
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const requests = this.pending.reverse();
    this.pending = [];
    if (requests.length > 0) this.emit({ type: 'requests', requests });
  }
}
