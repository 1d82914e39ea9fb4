// A console feed the test drives: events are the test's to send, actions and probes are
// recorded, and nothing runs behind it. For the console server's tests, which need no stack.
// And a task as the feed shows one, for the tests of what the feed is built from.
import type {
  ConsoleFeed,
  FeedEvent,
  ProbeResult,
  ReplicaAction,
  Task,
} from '../../../scripts/local/console/feed.ts';
import { FeedError } from '../../../scripts/local/console/feed.ts';

export class FakeFeed implements ConsoleFeed {
  readonly listeners = new Set<(event: FeedEvent) => void>();
  probes = 0;
  readonly probed: { host: string; path: string }[] = [];
  readonly acted: [string, number, ReplicaAction][] = [];
  topology() {
    return {} as ReturnType<ConsoleFeed['topology']>;
  }
  recentRequests() {
    return [];
  }
  stats() {
    return [];
  }
  subscribe(listener: (event: FeedEvent) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: FeedEvent) {
    for (const listener of this.listeners) listener(event);
  }
  async act(service: string, slot: number, action: ReplicaAction) {
    if (service === 'unknown') throw new FeedError(404, `no replica ${service}/${slot}`);
    this.acted.push([service, slot, action]);
    return 'done';
  }
  async probe(host: string, path: string): Promise<ProbeResult> {
    this.probes++;
    this.probed.push({ host, path });
    return { host, path, status: 200, rule: null, target: null, explanation: '' };
  }
}

/** A healthy task as the feed shows it, told apart by its port; `fields` changed. */
export function feedTask(
  service: string,
  slot: number,
  port: number,
  fields: Partial<Task> = {},
): Task {
  return {
    id: `127.0.0.1:${port}`,
    service,
    slot,
    port,
    pid: 1000 + port,
    state: 'healthy',
    paused: false,
    reason: 'Target.Healthy',
    restarts: 0,
    startedAt: 0,
    checks: [],
    ...fields,
  };
}
