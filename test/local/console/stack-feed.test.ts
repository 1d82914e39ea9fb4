// The console's feed over a stack (scripts/local/console/stack-feed.ts), in this process: real
// target groups on a clock of the test's own, fake task processes, and the stack's own event
// hub, wired as stack.ts wires them. What the console shows must be the stack's true state
// (each slot's task, its target state and reason, its last health checks, how it ended), must
// stay bounded (a few stopped tasks, a few checks), and browsers that come and go must leave
// nothing attached: requests are observed only while one is subscribed.
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProbeAnswer } from '../../../scripts/local/alb/health-check.ts';
import { type ListenerRule, LoadBalancer } from '../../../scripts/local/alb/load-balancer.ts';
import { Target, TargetGroup } from '../../../scripts/local/alb/target-group.ts';
import { FeedError, type FeedEvent, type Task } from '../../../scripts/local/console/feed.ts';
import { StackFeed } from '../../../scripts/local/console/stack-feed.ts';
import { Replica } from '../../../scripts/local/ecs/supervisor.ts';
import { StackEvents } from '../../../scripts/local/events.ts';
import type { LocalStack } from '../../../scripts/local/handle.ts';
import {
  type AccessLogRecord,
  type HttpApiSettings,
  readHttpApiSettings,
} from '../../../scripts/workspace/http-api-settings.ts';
import { manifestService } from '../../helpers/workspace.ts';
import { FakeChild } from '../fake-tasks.ts';
import { testHealthCheck } from '../health-settings.ts';
import { ManualClock } from '../manual-clock.ts';

const books = manifestService('book-service');
const authors = manifestService('author-service');
const ALB_HOST = 'internal-bookstore-test.elb.localhost';
/** The wall clock the feed stamps checks and stops with (faked: no test waits on it). */
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

let cachedSettings: HttpApiSettings | undefined;
/** The template's settings (read once: no test changes them). */
function settings(): HttpApiSettings {
  cachedSettings ??= readHttpApiSettings();
  return cachedSettings;
}

/** Closes what the test opened; returns what the feed threw on the stack's events. */
let cleanup: (() => unknown[]) | undefined;
afterEach(() => {
  const thrown = cleanup?.() ?? [];
  cleanup = undefined;
  vi.useRealTimers();
  // The stack swallows a listener's failure (events.ts); the feed must not fail on any event.
  expect(thrown).toEqual([]);
});

interface Options {
  /** Makes every killReplica call fail with this message. */
  killFails?: string;
  /** Every target group's success codes; [200] unless the test says otherwise. */
  successCodes?: number[];
}

/**
 * A stack of two services (book-service with slots 0 and 1, author-service with slot 0), no
 * task started yet. The feed's own timers (the topology's coalescing, the access log's
 * batches and statistics) run on vitest's fake timers; the target groups on a ManualClock.
 */
function setup(options: Options = {}) {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    now: T0,
  });
  const clock = new ManualClock();
  const events = new StackEvents();
  /** Each port's health-check answer; 200 unless the test says otherwise. */
  const answers = new Map<number, ProbeAnswer>();
  const groups = new Map<string, TargetGroup>();
  const rules: ListenerRule[] = [];
  for (const service of [books, authors]) {
    // As stack.ts's albEvents tells a console.
    const group = new TargetGroup(
      service.name,
      { ...testHealthCheck(service.health.path), successCodes: options.successCodes ?? [200] },
      0,
      {
        onStateChange: (g, target, from) => {
          const { address, state, reason } = target;
          events.emit({
            type: 'target-state',
            service: g.name,
            target: address,
            from,
            state,
            reason,
          });
        },
        onCheck: (g, target) => {
          if (target.lastCheck === undefined) return;
          const description = g.describeLastCheck(target);
          const { address, lastCheck: outcome } = target;
          events.emit({
            type: 'health-check',
            service: g.name,
            target: address,
            outcome,
            description,
          });
        },
      },
      { clock, probe: async (port) => answers.get(port) ?? { status: 200 } },
    );
    groups.set(service.name, group);
    rules.push({
      service: service.name,
      pathPrefix: service.pathPrefix,
      hosts: [`${service.name}.test.bookstore.internal`],
      group,
    });
  }
  const alb = new LoadBalancer(ALB_HOST, rules);
  const replicas = [new Replica(books, 0), new Replica(books, 1), new Replica(authors, 0)];
  const find = (service: string, index: number) =>
    replicas.find((r) => r.service.name === service && r.index === index) as Replica;
  /** What the console asked of the stack, in order. */
  const calls: string[] = [];
  const thrown: unknown[] = [];
  const stack: LocalStack = {
    apiUrl: 'http://127.0.0.1:1',
    albUrl: 'http://127.0.0.1:2',
    albHost: ALB_HOST,
    application: 'bookstore',
    environment: 'test',
    settings: settings(),
    services: [],
    routeTable: () => '',
    async killReplica(service, index, signal = 'SIGTERM') {
      calls.push(`killReplica ${service}/${index} ${signal}`);
      if (options.killFails !== undefined) throw new Error(options.killFails);
      const replica = find(service, index);
      const target = replica.target;
      // A stop deregisters and drains first (handle.ts: the scheduler's replace).
      if (signal === 'SIGTERM' && target !== undefined) {
        await groups.get(service)?.deregister(target);
      }
      replica.child?.kill(signal);
    },
    pauseReplica(service, index, paused) {
      calls.push(`pauseReplica ${service}/${index} ${paused}`);
    },
    observe: (listener, observeOptions) =>
      events.observe((event) => {
        try {
          listener(event);
        } catch (error) {
          thrown.push(error);
        }
      }, observeOptions),
    get requestsObserved() {
      return events.active;
    },
    parts: { alb, groups, replicas },
    probeAlb: async () => ({ status: 503, rule: undefined, target: undefined }),
    stop: async () => {},
  };
  let nextPort = 41_000;
  const feeds: StackFeed[] = [];
  cleanup = () => {
    for (const feed of feeds) feed.close();
    for (const group of groups.values()) group.close();
    return thrown;
  };
  const h = {
    stack,
    events,
    clock,
    answers,
    groups,
    calls,
    replica: find,
    /** A new task in the slot, as the scheduler launches one: a new port, target and process. */
    start(service: string, index: number, port = nextPort++): FakeChild {
      const replica = find(service, index);
      const group = groups.get(service) as TargetGroup;
      const target = new Target(port);
      group.add(target);
      if (replica.child !== undefined) replica.restarts++;
      replica.target = target;
      const child = new FakeChild();
      replica.child = child as unknown as ChildProcess;
      replica.port = port;
      replica.startedAt = Date.now();
      group.register(target);
      return child;
    },
    /** Lets due health checks run and their answers land. */
    settle: () => clock.advance(0),
    /** One health-check interval: every registered target is checked once more. */
    interval: () => clock.advance(1_000),
    feed(now?: () => number): StackFeed {
      const feed = new StackFeed(stack, now);
      feeds.push(feed);
      return feed;
    },
    /** The tasks the console shows for a target group, in its order. */
    tasks(feed: StackFeed, group: string): Task[] {
      return feed.topology().targetGroups.find((g) => g.name === group)?.tasks ?? [];
    },
  };
  return h;
}

type Harness = ReturnType<typeof setup>;

/** Starts a task in each slot and lets its first check pass: every task healthy. */
async function allHealthy(h: Harness) {
  const children = {
    books0: h.start(books.name, 0),
    books1: h.start(books.name, 1),
    authors0: h.start(authors.name, 0),
  };
  await h.settle();
  return children;
}

/** A record of one request through the API, as the gateway reports it. */
function accessRecord(path: string, routeKey: string, status = 200): AccessLogRecord {
  return {
    requestId: `id-${path}`,
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    domainName: '127.0.0.1',
    requestTimeEpoch: Date.now(),
    httpMethod: 'GET',
    routeKey,
    path,
    protocol: 'HTTP/1.1',
    status,
    responseLength: 2,
    responseLatency: 12,
    integrationStatus: status,
    integrationLatency: 10,
    integrationErrorMessage: '',
    errorMessage: '',
  };
}

/** Lets what was scheduled for the next turn (a fake process's exit, a promise's end) run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

function collect(feed: StackFeed) {
  const events: FeedEvent[] = [];
  const unsubscribe = feed.subscribe((event) => events.push(event));
  const ofType = <T extends FeedEvent['type']>(type: T) =>
    events.filter((e): e is Extract<FeedEvent, { type: T }> => e.type === type);
  return { events, unsubscribe, ofType };
}

describe('the tasks the console shows', () => {
  it('each running task as the stack has it: slot, port, pid, target state, restarts, start', async () => {
    const h = setup();
    await allHealthy(h);
    vi.setSystemTime(T0 + 5_000);
    const child = h.start(books.name, 1);
    const replica = h.replica(books.name, 1);
    const feed = h.feed();
    const [first, second] = h.tasks(feed, books.name);
    expect(first).toMatchObject({ slot: 0, state: 'healthy', reason: '' });
    expect(h.tasks(feed, authors.name)).toMatchObject([
      { service: authors.name, state: 'healthy' },
    ]);
    expect(second).toEqual({
      id: `127.0.0.1:${replica.port}`,
      service: books.name,
      slot: 1,
      port: replica.port,
      pid: child.pid,
      // Registered, not yet checked.
      state: 'initial',
      paused: false,
      reason: 'Elb.InitialHealthChecking',
      restarts: 1,
      startedAt: T0 + 5_000,
      checks: [],
    });
    expect(h.tasks(feed, authors.name).map((t) => t.service)).toEqual([authors.name]);
  });

  it('a replica with no task yet shows nothing; a task drained but not yet exited, draining', async () => {
    const h = setup();
    // Slot 1 only: slot 0 has no task yet.
    const child = h.start(books.name, 1);
    await h.settle();
    const replica = h.replica(books.name, 1);
    // A stop under way: deregistered and drained, SIGTERM sent, the process not yet gone.
    await h.groups.get(books.name)?.deregister(replica.target as Target);
    const feed = h.feed();
    expect(h.tasks(feed, books.name)).toMatchObject([
      { slot: 1, pid: child.pid, state: 'draining', reason: 'Target.NotRegistered' },
    ]);
    expect(h.tasks(feed, authors.name)).toEqual([]);
    child.exit(0);
    expect(h.tasks(feed, books.name)).toMatchObject([
      { slot: 1, state: 'stopped', reason: 'exited (code 0)' },
    ]);
  });

  it('a task whose process has already exited shows stopped, with its exit code or signal', async () => {
    const h = setup();
    const { books0, books1 } = await allHealthy(h);
    books0.exitOnly(3);
    books1.exitOnly(null, 'SIGKILL');
    const feed = h.feed();
    expect(h.tasks(feed, books.name)).toMatchObject([
      { slot: 0, state: 'stopped', reason: 'exited (code 3)', stoppedAt: T0 },
      { slot: 1, state: 'stopped', reason: 'exited (SIGKILL)', stoppedAt: T0 },
    ]);
  });

  it('stamps stops and checks with its own clock, when given one', async () => {
    const h = setup();
    const { books0 } = await allHealthy(h);
    books0.exitOnly(1);
    const feed = h.feed(() => 42_000);
    await h.interval();
    expect(h.tasks(feed, books.name)).toMatchObject([
      { slot: 1, state: 'healthy', checks: [{ at: 42_000 }] },
      { slot: 0, state: 'stopped', stoppedAt: 42_000 },
    ]);
  });

  it('a new task appears as its target is registered, then healthy after one passing check', async () => {
    const h = setup();
    const feed = h.feed();
    expect(h.tasks(feed, books.name)).toEqual([]);
    const child = h.start(books.name, 0);
    expect(h.tasks(feed, books.name)).toMatchObject([
      { slot: 0, pid: child.pid, state: 'initial', reason: 'Elb.InitialHealthChecking' },
    ]);
    await h.settle();
    const [task] = h.tasks(feed, books.name);
    expect(task).toMatchObject({ state: 'healthy', reason: '' });
    expect(task?.checks).toEqual([
      { at: T0, passed: true, text: `GET ${books.health.path} answered 200` },
    ]);
  });

  it('current tasks by slot first, then stopped ones, newest first', async () => {
    const h = setup();
    const feed = h.feed();
    // Slot 1 first: the order shown is the slots', not the starts'.
    const books1 = h.start(books.name, 1);
    const books0 = h.start(books.name, 0);
    await h.settle();
    books1.exit(1);
    vi.setSystemTime(T0 + 1_000);
    books0.exit(2);
    const next0 = h.start(books.name, 0);
    const next1 = h.start(books.name, 1);
    expect(h.tasks(feed, books.name).map((t) => [t.pid, t.state])).toEqual([
      [next0.pid, 'initial'],
      [next1.pid, 'initial'],
      [books0.pid, 'stopped'],
      [books1.pid, 'stopped'],
    ]);
  });

  it('an unhealthy task: its state, the reason code and the failing checks', async () => {
    const h = setup();
    const feed = h.feed();
    await allHealthy(h);
    const replica = h.replica(books.name, 0);
    h.answers.set(replica.port, { status: 500 });
    await h.interval();
    expect(h.tasks(feed, books.name)[0]).toMatchObject({ state: 'healthy', reason: '' });
    await h.interval();
    const [task] = h.tasks(feed, books.name);
    expect(task).toMatchObject({ state: 'unhealthy', reason: 'Target.ResponseCodeMismatch' });
    expect(task?.checks.map((c) => [c.passed, c.text])).toEqual([
      [true, `GET ${books.health.path} answered 200`],
      [false, `GET ${books.health.path} answered 500 (success codes: 200)`],
      [false, `GET ${books.health.path} answered 500 (success codes: 200)`],
    ]);
    // Still unhealthy, for another reason: no state change, but the reason shown follows.
    h.answers.set(replica.port, { error: 'timeout' });
    await h.interval();
    expect(h.tasks(feed, books.name)[0]).toMatchObject({
      state: 'unhealthy',
      reason: 'Target.Timeout',
    });
  });

  it('keeps the last five checks of a task, newest last', async () => {
    const h = setup();
    const feed = h.feed();
    h.start(books.name, 0);
    const port = h.replica(books.name, 0).port;
    await h.settle();
    for (const status of [500, 404, 502, 503, 504, 200]) {
      h.answers.set(port, { status });
      vi.setSystemTime(Date.now() + 1_000);
      await h.interval();
    }
    const checks = h.tasks(feed, books.name)[0]?.checks ?? [];
    expect(checks.map((c) => c.text.split(' ')[3])).toEqual(['404', '502', '503', '504', '200']);
    expect(checks.map((c) => c.at)).toEqual([2, 3, 4, 5, 6].map((s) => T0 + s * 1_000));
  });

  it('a stopped task: draining while deregistered, stopped with how it ended once it exits', async () => {
    const h = setup();
    const feed = h.feed();
    const { books0 } = await allHealthy(h);
    const replica = h.replica(books.name, 0);
    const target = replica.target as Target;
    const group = h.groups.get(books.name) as TargetGroup;
    target.inFlight = 1;
    void group.deregister(target);
    expect(h.tasks(feed, books.name)[0]).toMatchObject({
      state: 'draining',
      reason: 'Target.DeregistrationInProgress',
    });
    // Drained, its process not yet gone (SIGTERM on its way): still on its way out.
    group.release(target);
    expect(target.state).toBe('unused');
    expect(h.tasks(feed, books.name)[0]).toMatchObject({
      state: 'draining',
      reason: 'Target.NotRegistered',
    });
    vi.setSystemTime(T0 + 7_000);
    books0.exit(0);
    expect(h.tasks(feed, books.name)).toMatchObject([
      { slot: 1, state: 'healthy' },
      { slot: 0, state: 'stopped', reason: 'exited (code 0)', stoppedAt: T0 + 7_000 },
    ]);
  });

  it('a check that lands after the process exited leaves how it ended shown', async () => {
    const h = setup();
    const feed = h.feed();
    const { books0 } = await allHealthy(h);
    const port = h.replica(books.name, 0).port;
    // The process is gone; the scheduler retires its target only once its output is read
    // ('close'), so a check can still land in between: refused, as nothing listens.
    books0.exitOnly(null, 'SIGKILL');
    h.answers.set(port, { error: 'refused' });
    await h.interval();
    await h.interval();
    // Then the scheduler retires the target: its state changes do not revive the task.
    const target = h.replica(books.name, 0).target as Target;
    await h.groups.get(books.name)?.deregister(target);
    const [, stopped] = h.tasks(feed, books.name);
    expect(stopped).toMatchObject({ slot: 0, state: 'stopped', reason: 'exited (SIGKILL)' });
    expect(stopped?.checks.map((c) => c.passed)).toEqual([true]);
  });

  it('a new task on a port a stopped task had (the OS hands ports out again) is a new task', async () => {
    const h = setup();
    const feed = h.feed();
    const { books0 } = await allHealthy(h);
    const old = h.replica(books.name, 0).target as Target;
    books0.exit(1);
    // The scheduler retires the dead task's target; its port is free again.
    const group = h.groups.get(books.name) as TargetGroup;
    await group.deregister(old);
    group.remove(old);
    const next = h.start(books.name, 0, old.port);
    expect(h.tasks(feed, books.name)).toMatchObject([
      { id: old.address, slot: 0, pid: next.pid, state: 'initial', restarts: 1 },
      { slot: 1, state: 'healthy' },
    ]);
    await h.settle();
    expect(h.tasks(feed, books.name)[0]).toMatchObject({ pid: next.pid, state: 'healthy' });
    expect(h.tasks(feed, books.name)[0]?.checks).toHaveLength(1);
    await expect(feed.act(books.name, 0, 'pause', old.address)).resolves.toContain(
      `pid ${next.pid}`,
    );
  });

  it('keeps two stopped tasks per service, the newest, and leaves other services alone', async () => {
    const h = setup();
    const feed = h.feed();
    const { books0, books1, authors0 } = await allHealthy(h);
    authors0.exit(1);
    const stopped = [books0, books1];
    for (let i = 0; i < 3; i++) {
      vi.setSystemTime(T0 + (i + 1) * 1_000);
      const slot = i % 2;
      stopped.push(h.start(books.name, slot));
      (stopped[i] as FakeChild).exit(i);
    }
    // The ones that exited at +2 s and +3 s: the newest two of three.
    expect(h.tasks(feed, books.name).map((t) => [t.pid, t.state, t.reason])).toEqual([
      [stopped[4]?.pid, 'initial', 'Elb.InitialHealthChecking'],
      [stopped[3]?.pid, 'initial', 'Elb.InitialHealthChecking'],
      [stopped[2]?.pid, 'stopped', 'exited (code 2)'],
      [stopped[1]?.pid, 'stopped', 'exited (code 1)'],
    ]);
    expect(h.tasks(feed, authors.name).map((t) => [t.pid, t.state])).toEqual([
      [authors0.pid, 'stopped'],
    ]);
  });

  it('the stopped tasks kept are the last to stop, whatever order they started in', async () => {
    const h = setup();
    const feed = h.feed();
    const { books0, books1 } = await allHealthy(h);
    // Slot 0's replacement starts first; the task it replaces runs until it is healthy.
    const replacement = h.start(books.name, 0);
    replacement.exit(1);
    vi.setSystemTime(T0 + 1_000);
    books1.exit(2);
    vi.setSystemTime(T0 + 2_000);
    books0.exit(3);
    expect(h.tasks(feed, books.name).map((t) => [t.pid, t.state])).toEqual([
      [books0.pid, 'stopped'],
      [books1.pid, 'stopped'],
    ]);
  });

  it('events for a target no replica runs change nothing', async () => {
    const h = setup();
    const feed = h.feed();
    await allHealthy(h);
    const before = feed.topology();
    // A target in the group that is no replica's current one (nor a task the feed knows).
    const stray = new Target(40_500);
    const group = h.groups.get(books.name) as TargetGroup;
    group.add(stray);
    group.register(stray);
    await h.settle();
    expect(feed.topology()).toEqual(before);
  });
});

describe('events to subscribers', () => {
  // success_codes: 200-299 is a hundred codes: the page shows them as the manifest says them.
  it("gives each target group's success codes as a list and as a reader takes them in", () => {
    const codes = [...Array.from({ length: 100 }, (_, i) => 200 + i), 404];
    const feed = setup({ successCodes: codes }).feed();
    const group = feed.topology().targetGroups.find((g) => g.name === books.name);
    expect(group?.healthCheck).toMatchObject({ successCodes: codes, codes: '200-299, 404' });
  });

  it('one topology event per burst of changes, with the state after the burst', async () => {
    const h = setup();
    const feed = h.feed();
    const seen = collect(feed);
    const { books0 } = await allHealthy(h);
    expect(seen.ofType('topology')).toEqual([]);
    vi.advanceTimersByTime(49);
    expect(seen.ofType('topology')).toEqual([]);
    vi.advanceTimersByTime(1);
    const [burst] = seen.ofType('topology');
    expect(seen.ofType('topology')).toHaveLength(1);
    const shown = burst?.topology.targetGroups.find((g) => g.name === books.name)?.tasks;
    expect(shown?.map((t) => t.state)).toEqual(['healthy', 'healthy']);
    // The next burst: a task's exit alone.
    books0.exit(null, 'SIGKILL');
    vi.advanceTimersByTime(50);
    const second = seen.ofType('topology')[1]?.topology;
    expect(second?.targetGroups.find((g) => g.name === books.name)?.tasks[1]).toMatchObject({
      state: 'stopped',
      reason: 'exited (SIGKILL)',
    });
    // A check that changes no state is news too: the check itself.
    await h.interval();
    vi.advanceTimersByTime(50);
    expect(seen.ofType('topology')).toHaveLength(3);
    expect(seen.ofType('topology')[2]).toEqual({ type: 'topology', topology: feed.topology() });
  });

  it('a state change alone is a topology event', async () => {
    const h = setup();
    const feed = h.feed();
    await allHealthy(h);
    const seen = collect(feed);
    const target = h.replica(authors.name, 0).target as Target;
    target.inFlight = 1;
    void h.groups.get(authors.name)?.deregister(target);
    vi.advanceTimersByTime(50);
    const [event] = seen.ofType('topology');
    const shown = event?.topology.targetGroups.find((g) => g.name === authors.name)?.tasks;
    expect(shown).toMatchObject([{ state: 'draining', reason: 'Target.DeregistrationInProgress' }]);
  });

  it('no topology event for changes made while nobody was subscribed', async () => {
    const h = setup();
    const feed = h.feed();
    await allHealthy(h);
    const seen = collect(feed);
    vi.advanceTimersByTime(1_000);
    expect(seen.ofType('topology')).toEqual([]);
  });

  it('requests are observed only while someone is subscribed, however many come and go', () => {
    const h = setup();
    const feed = h.feed();
    // The state of targets is watched from the start; requests are not.
    expect(h.events.watched).toBe(true);
    expect(h.stack.requestsObserved).toBe(false);
    h.events.served(accessRecord('/api/books', 'ANY /api/books'), books.name, undefined);
    expect(feed.recentRequests()).toEqual([]);
    for (let i = 0; i < 20; i++) {
      const first = feed.subscribe(() => {});
      const second = feed.subscribe(() => {});
      expect(h.stack.requestsObserved).toBe(true);
      first();
      // Twice: a browser's stream may close twice, and must not detach the other one.
      first();
      expect(h.stack.requestsObserved).toBe(true);
      second();
      expect(h.stack.requestsObserved).toBe(false);
    }
    // One observer for any number of subscribers: each request recorded once.
    const a = feed.subscribe(() => {});
    const b = feed.subscribe(() => {});
    h.events.served(accessRecord('/api/books/1', 'ANY /api/books/{proxy+}'), books.name, undefined);
    expect(feed.recentRequests().map((r) => r.path)).toEqual(['/api/books/1']);
    a();
    b();
    h.events.served(accessRecord('/api/books/2', 'ANY /api/books/{proxy+}'), books.name, undefined);
    expect(feed.recentRequests().map((r) => r.path)).toEqual(['/api/books/1']);
    expect(h.events.watched).toBe(true);
  });

  it('each request with its access-log fields, rule, task and replica, in a batch', async () => {
    const h = setup();
    const feed = h.feed();
    await allHealthy(h);
    const seen = collect(feed);
    const target = h.replica(books.name, 1).target?.address;
    h.events.served(accessRecord('/api/books/7', 'ANY /api/books/{proxy+}'), books.name, target);
    h.events.served(accessRecord('/nowhere', '-', 404), undefined, undefined);
    expect(feed.recentRequests()).toMatchObject([
      { path: '/nowhere', status: 404, rule: null, target: null, replica: null },
      {
        path: '/api/books/7',
        routeKey: 'ANY /api/books/{proxy+}',
        status: 200,
        rule: books.name,
        target,
        replica: `${books.name}/1`,
        // The template's access-log format, parsed.
        fields: { requestId: 'id-/api/books/7', status: '200', path: '/api/books/7' },
      },
    ]);
    vi.advanceTimersByTime(200);
    expect(seen.ofType('requests').map((e) => e.requests.map((r) => r.path))).toEqual([
      ['/nowhere', '/api/books/7'],
    ]);
  });

  it('a request a task served with no rule named: the task’s service stands for the rule', async () => {
    const h = setup();
    const feed = h.feed();
    await allHealthy(h);
    collect(feed);
    const target = h.replica(authors.name, 0).target?.address;
    h.events.served(accessRecord('/api/authors', 'ANY /api/authors'), undefined, target);
    // A target the feed does not know (no task of it): no replica to name.
    h.events.served(accessRecord('/api/books', 'ANY /api/books'), undefined, '127.0.0.1:1');
    expect(feed.recentRequests()).toMatchObject([
      { path: '/api/books', rule: null, target: null, replica: null },
      { path: '/api/authors', rule: authors.name, target, replica: `${authors.name}/0` },
    ]);
  });

  it('statistics per route of the template, every second while someone is subscribed', () => {
    const h = setup();
    const feed = h.feed();
    const routeKeys = settings().routes.map((r) => r.routeKey);
    expect(feed.stats().map((s) => s.routeKey)).toEqual(routeKeys);
    const seen = collect(feed);
    h.events.served(accessRecord('/api/books', 'ANY /api/books'), books.name, undefined);
    vi.advanceTimersByTime(2_000);
    // Whole seconds only: the one it arrived in is counted once it is over.
    expect(feed.stats().find((s) => s.routeKey === 'ANY /api/books')?.total).toBe(1);
    expect(seen.ofType('stats')).toHaveLength(2);
    expect(seen.ofType('stats')[1]?.stats.map((s) => [s.routeKey, s.total])).toEqual(
      routeKeys.map((key) => [key, key === 'ANY /api/books' ? 1 : 0]),
    );
    seen.unsubscribe();
    // Nothing left running for nobody.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a browser that reconnects gets requests again', () => {
    const h = setup();
    const feed = h.feed();
    feed.subscribe(() => {})();
    const seen = collect(feed);
    expect(h.stack.requestsObserved).toBe(true);
    h.events.served(accessRecord('/api/books', 'ANY /api/books'), books.name, undefined);
    vi.advanceTimersByTime(1_000);
    expect(seen.ofType('requests')).toHaveLength(1);
    expect(seen.ofType('stats')).toHaveLength(1);
  });

  it('close detaches everything: no listener on the stack, no event, no timer', async () => {
    const h = setup();
    const feed = h.feed();
    const { books0 } = await allHealthy(h);
    const seen = collect(feed);
    // A batch of requests and a topology event on their way.
    h.events.served(accessRecord('/api/books', 'ANY /api/books'), books.name, undefined);
    books0.exit(1);
    feed.close();
    expect(h.events.watched).toBe(false);
    expect(h.stack.requestsObserved).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5_000);
    expect(seen.events).toEqual([]);
    // The page's stream closes after the feed (index.ts closes the feed first).
    expect(() => seen.unsubscribe()).not.toThrow();
  });

  it('after close, what the stack does next reaches nobody and is not recorded', async () => {
    const h = setup();
    const feed = h.feed();
    const { books0 } = await allHealthy(h);
    const seen = collect(feed);
    feed.close();
    await h.interval();
    books0.exit(1);
    vi.advanceTimersByTime(5_000);
    expect(seen.events).toEqual([]);
    expect(h.tasks(feed, books.name)[0]?.checks).toHaveLength(1);
  });

  it('a stream that closes twice detaches once, and nothing breaks', () => {
    const h = setup();
    const feed = h.feed();
    const unsubscribe = feed.subscribe(() => {});
    unsubscribe();
    expect(() => unsubscribe()).not.toThrow();
    expect(h.stack.requestsObserved).toBe(false);
  });
});

describe('actions on a replica', () => {
  it('pause and resume: the stack is asked, the task shows paused, subscribers are told', async () => {
    const h = setup();
    const feed = h.feed();
    await allHealthy(h);
    const seen = collect(feed);
    const replica = h.replica(books.name, 1);
    await expect(feed.act(books.name, 1, 'pause')).resolves.toBe(
      `pause ${books.name}/1 (pid ${replica.pid}, port ${replica.port}): SIGSTOP`,
    );
    expect(h.calls).toEqual([`pauseReplica ${books.name}/1 true`]);
    expect(h.tasks(feed, books.name).map((t) => t.paused)).toEqual([false, true]);
    vi.advanceTimersByTime(50);
    const groups = seen.ofType('topology')[0]?.topology.targetGroups;
    const paused = groups?.find((g) => g.name === books.name)?.tasks[1];
    expect(paused).toMatchObject({ slot: 1, paused: true });
    await expect(feed.act(books.name, 1, 'resume', replica.target?.address)).resolves.toBe(
      `resume ${books.name}/1 (pid ${replica.pid}, port ${replica.port}): SIGCONT`,
    );
    expect(h.calls).toEqual([
      `pauseReplica ${books.name}/1 true`,
      `pauseReplica ${books.name}/1 false`,
    ]);
    expect(h.tasks(feed, books.name).map((t) => t.paused)).toEqual([false, false]);
  });

  it('a paused task being stopped stays paused until it exits (SIGTERM waits for SIGCONT)', async () => {
    const h = setup();
    const feed = h.feed();
    await allHealthy(h);
    await feed.act(books.name, 0, 'pause');
    await feed.act(books.name, 0, 'stop');
    expect(h.tasks(feed, books.name)[0]).toMatchObject({
      slot: 0,
      state: 'draining',
      paused: true,
    });
  });

  it('a paused task that exits is no longer paused', async () => {
    const h = setup();
    const feed = h.feed();
    const { books0 } = await allHealthy(h);
    await feed.act(books.name, 0, 'pause');
    books0.exit(null, 'SIGKILL');
    expect(h.tasks(feed, books.name)[1]).toMatchObject({ state: 'stopped', paused: false });
  });

  it('stop drains then sends SIGTERM; kill sends SIGKILL; what follows shows in the tasks', async () => {
    const h = setup();
    const feed = h.feed();
    const { books0, books1 } = await allHealthy(h);
    const r0 = h.replica(books.name, 0);
    const r1 = h.replica(books.name, 1);
    await expect(feed.act(books.name, 0, 'stop')).resolves.toBe(
      `stop ${books.name}/0 (pid ${r0.pid}, port ${r0.port}): deregister, drain, then SIGTERM`,
    );
    await expect(feed.act(books.name, 1, 'kill')).resolves.toBe(
      `kill ${books.name}/1 (pid ${r1.pid}, port ${r1.port}): SIGKILL`,
    );
    expect(h.calls).toEqual([
      `killReplica ${books.name}/0 SIGTERM`,
      `killReplica ${books.name}/1 SIGKILL`,
    ]);
    await turn();
    expect(books0.signals).toEqual(['SIGTERM']);
    expect(books1.signals).toEqual(['SIGKILL']);
    expect(h.tasks(feed, books.name).map((t) => [t.slot, t.state, t.reason])).toEqual([
      [0, 'stopped', 'exited (SIGTERM)'],
      [1, 'stopped', 'exited (SIGKILL)'],
    ]);
  });

  it('an action the stack fails is told to subscribers as a notice', async () => {
    const h = setup({ killFails: 'the process is gone' });
    const feed = h.feed();
    await allHealthy(h);
    const seen = collect(feed);
    await feed.act(authors.name, 0, 'kill');
    await turn();
    expect(seen.ofType('notice')).toEqual([
      { type: 'notice', text: `kill ${authors.name}/0: the process is gone` },
    ]);
  });

  it('refuses an unknown replica (404), a slot with no running task (409), a stale row (409)', async () => {
    const h = setup();
    const feed = h.feed();
    const refusal = (promise: Promise<string>) =>
      promise.then(
        () => 'resolved',
        (error: FeedError) => [error instanceof FeedError, error.name, error.status, error.message],
      );
    expect(await refusal(feed.act(books.name, 2, 'kill'))).toEqual([
      true,
      'FeedError',
      404,
      `no replica ${books.name}/2`,
    ]);
    expect(await refusal(feed.act('order-service', 0, 'kill'))).toEqual([
      true,
      'FeedError',
      404,
      'no replica order-service/0',
    ]);
    // No task yet.
    expect(await refusal(feed.act(books.name, 0, 'pause'))).toEqual([
      true,
      'FeedError',
      409,
      `${books.name}/0 has no running task right now`,
    ]);
    expect(await refusal(feed.act(books.name, 0, 'kill', '127.0.0.1:9'))).toEqual([
      true,
      'FeedError',
      409,
      `task 127.0.0.1:9 is no longer ${books.name}/0's (now none): nothing done`,
    ]);
    const { books1 } = await allHealthy(h);
    const old = h.replica(books.name, 1).target?.address as string;
    // Its task exited, and no new one has started yet.
    books1.exit(1);
    expect(await refusal(feed.act(books.name, 1, 'kill'))).toEqual([
      true,
      'FeedError',
      409,
      `${books.name}/1 has no running task right now`,
    ]);
    h.start(books.name, 1);
    const now = h.replica(books.name, 1).target?.address;
    expect(await refusal(feed.act(books.name, 1, 'kill', old))).toEqual([
      true,
      'FeedError',
      409,
      `task ${old} is no longer ${books.name}/1's (now ${now}): nothing done`,
    ]);
    expect(h.calls).toEqual([]);
  });

  it('refuses a task whose process never started (no pid)', async () => {
    const h = setup();
    const feed = h.feed();
    const child = h.start(books.name, 0);
    // What spawn leaves when it fails (ENOENT): a child with no pid, never exiting.
    Object.defineProperty(child, 'pid', { value: undefined });
    await expect(feed.act(books.name, 0, 'kill')).rejects.toMatchObject({
      status: 409,
      message: `${books.name}/0 has no running task right now`,
    });
    expect(h.calls).toEqual([]);
  });

  it('the Host tester refuses what is no host name before sending anything', async () => {
    const h = setup();
    const feed = h.feed();
    await expect(feed.probe('bad host', '/')).rejects.toMatchObject({ status: 400 });
  });
});
