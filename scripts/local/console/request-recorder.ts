// The console's access log: each request the stack reports, counted into the per-route
// statistics, copied into a ring of the newest, and sent to subscribers in batches (a loaded
// stack finishes thousands of requests a second; the page needs a few updates a second, not
// one per request). A record is turned into the stage's access-log fields only when it leaves
// (a batch, or a page asking for the recent ones), so records nobody will see cost a copy.
import { type AccessLogRecord, compileAccessLogFormat } from '../../workspace/http-api-settings.ts';
import type { FeedEvent, LoggedRequest, Task } from './feed.ts';
import { RequestStats } from './stats.ts';

/** What a record keeps: its own copy of the fields (never the request object itself). */
interface Entry {
  seq: number;
  record: AccessLogRecord;
  rule: string | null;
  target: string | null;
  replica: string | null;
  logged?: LoggedRequest;
}

/** Records kept for a page that connects (and for the log's filter). */
export const RECENT_KEPT = 500;
const FLUSH_MS = 200;
/**
 * Records per batch, the newest: five batches a second are more lines than anyone reads, and
 * under load this bounds the work of turning records into fields to 500 a second.
 */
const BATCH_KEPT = 100;
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
  private readonly ring: Entry[] = [];
  private pending: Entry[] = [];
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
    // An empty format is no access log, as the gateway takes it (http-api.ts, accessLogOf);
    // API Gateway itself refuses one without $context.requestId.
    this.render = accessLogFormat ? compileAccessLogFormat(accessLogFormat) : null;
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
    return this.ring.map((entry) => this.logged(entry)).reverse();
  }

  record(record: AccessLogRecord, rule: string | null, task: Task | undefined): void {
    this.stats.record(record.routeKey, Math.max(0, record.responseLatency));
    const entry: Entry = {
      seq: ++this.seq,
      // Already the gateway's own copy of the fields (api-request.ts accessLogFields; errors.ts
      // builds a new one per answer): kept as it is.
      record,
      rule,
      target: task?.id ?? null,
      replica: task === undefined ? null : `${task.service}/${task.slot}`,
    };
    this.ring.push(entry);
    if (this.ring.length > RECENT_KEPT) this.ring.shift();
    this.pending.push(entry);
    if (this.pending.length > BATCH_KEPT) this.pending.shift();
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private logged(entry: Entry): LoggedRequest {
    if (entry.logged !== undefined) return entry.logged;
    const { record } = entry;
    entry.logged = {
      seq: entry.seq,
      at: record.requestTimeEpoch,
      method: record.httpMethod,
      path: record.path,
      routeKey: record.routeKey,
      status: record.status,
      latencyMs: Math.max(0, record.responseLatency),
      fields: fieldsOf(this.render, record),
      rule: entry.rule,
      target: entry.target,
      replica: entry.replica,
    };
    return entry.logged;
  }

  private flush(): void {
    this.flushTimer = undefined;
    const requests = this.pending.reverse().map((entry) => this.logged(entry));
    this.pending = [];
    if (requests.length > 0) this.emit({ type: 'requests', requests });
  }
}
