// What the local stack is built from (scripts/local/context.ts) and the handle it returns
// (scripts/local/handle.ts), in this process. prepare() refuses bad options, an unknown
// environment and a service no task can run before anything starts, and reads the workspace and
// template once; the handle is built here over the stack's own parts (real target groups on a
// clock of the test's own, fake task processes, the ALB's real listener for probes), so each of
// its actions is seen doing exactly what it says: the URLs, the live view of replicas, a kill as
// ECS stops a task or a bare signal, a pause, the events, a probe of the ALB.
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { attachAlbListener } from '../../scripts/local/alb/listener.ts';
import { type ListenerRule, LoadBalancer } from '../../scripts/local/alb/load-balancer.ts';
import { type Target, TargetGroup } from '../../scripts/local/alb/target-group.ts';
import {
  type Context,
  LocalStackError,
  type LocalStackOptions,
  prepare,
  scaled,
  stopTimeoutMs,
} from '../../scripts/local/context.ts';
import { Replica, taskArgs } from '../../scripts/local/ecs/supervisor.ts';
import { type LocalStackEvent, StackEvents } from '../../scripts/local/events.ts';
import { handle, type LocalStack } from '../../scripts/local/handle.ts';
import { formatRouteTable } from '../../scripts/local/route-table.ts';
import { repoRoot, type Service } from '../../scripts/workspace/manifests.ts';
import { manifestService } from '../helpers/workspace.ts';
import { FIXTURE_SERVICE, fixtureWorkspace } from '../reliability/helpers.ts';
import {
  type FakeChild,
  type FakeScheduler,
  fakeScheduler,
  reportStateChange,
} from './fake-tasks.ts';
import { testHealthCheck } from './health-settings.ts';
import { ALB_HOST, apiPerTest, INTERNAL_HOST, PATH, SERVICE } from './in-process.ts';
import { ManualClock } from './manual-clock.ts';

const ENVIRONMENTS = 'copilot/environments';

/** Whatever a test opened: removed or stopped after it, passing or failing. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.restoreAllMocks();
});

const startApi = apiPerTest();

/** A fixture workspace (test/reliability's fixture service), removed after the test. */
function workspace(): string {
  const fixture = fixtureWorkspace({ realServices: false });
  cleanups.push(fixture.remove);
  return fixture.root;
}

/** prepare()'s refusal: the error it threw (a test fails if it threw none). */
function refusal(options: LocalStackOptions): Error {
  try {
    prepare({ log: () => {}, ...options });
  } catch (error) {
    return error as Error;
  }
  throw new Error('prepare() refused nothing');
}

describe('prepare: options refused before anything is read', () => {
  it('a health-check scale that is not above 0', () => {
    for (const scale of [0, -0.5, Number.NaN]) {
      // Checked before the workspace is read: this root does not exist.
      const error = refusal({ healthCheckScale: scale, root: '/nonexistent' });
      expect(error).toBeInstanceOf(LocalStackError);
      // As an uncaught error prints it.
      expect(String(error)).toBe(`LocalStackError: healthCheckScale must be > 0, got ${scale}`);
    }
  });

  it('a log level the services would exit on; one they accept, in any case, is kept', () => {
    const error = refusal({ logLevel: 'verbose', root: '/nonexistent' });
    expect(error).toBeInstanceOf(LocalStackError);
    expect(error.message).toBe('logLevel "verbose" is not one of debug, info, warn, error, silent');
    // services/common/src/logger.ts reads LOG_LEVEL in any case.
    for (const logLevel of ['WARN', 'debug', 'Silent']) {
      expect(() => prepare({ logLevel, log: () => {} })).not.toThrow();
    }
  });
});

describe('prepare: the workspace and template, read once', () => {
  it("defaults to this repository's workspace, its first environment and the manifests' own timing", () => {
    const ctx = prepare({ log: () => {} });
    expect(ctx.root).toBe(repoRoot);
    expect(ctx.workspace.root).toBe(repoRoot);
    expect(ctx.workspace.application).toBe('bookstore');
    expect(ctx.workspace.services.map((s) => s.name)).toEqual(['author-service', 'book-service']);
    expect(ctx.environment).toBe('test');
    expect(ctx.scale).toBe(1);
    expect(ctx.host).toBe('127.0.0.1');
    // ELB's default idle timeout, which Copilot leaves as it is.
    expect(ctx.albIdleTimeoutMs).toBe(60_000);
    expect(ctx.settings.templateFile).toBe(path.join(repoRoot, 'addons', 'http-api.yml'));
    expect(ctx.internalHost('book-service')).toBe('book-service.test.bookstore.internal');
  });

  it('keeps the host, scale, idle timeout and template parameters it is given', () => {
    const ctx = prepare({
      log: () => {},
      host: '::1',
      healthCheckScale: 0.1,
      albIdleTimeoutMs: 500,
      parameters: { ThrottlingRateLimit: 7 },
    });
    expect([ctx.host, ctx.scale, ctx.albIdleTimeoutMs]).toEqual(['::1', 0.1, 500]);
    expect(ctx.settings.parameters.ThrottlingRateLimit).toBe(7);
    expect(ctx.settings.routes.every((r) => r.throttling?.rateLimit === 7)).toBe(true);
  });

  it('refuses an environment the workspace lacks, saying where environments are read from', () => {
    const error = refusal({ environment: 'prod' });
    expect(error).toBeInstanceOf(LocalStackError);
    expect(error.message).toBe(`environment "prod" not found under ${repoRoot}/${ENVIRONMENTS}`);
  });

  it('refuses a workspace with no environment yet', () => {
    const root = workspace();
    rmSync(path.join(root, ENVIRONMENTS), { recursive: true });
    const error = refusal({ root });
    expect(error).toBeInstanceOf(LocalStackError);
    expect(error.message).toBe(`environment "" not found under ${root}/${ENVIRONMENTS}`);
  });

  it('takes the first environment by name unless told which; its names make the internal hosts', () => {
    const root = workspace();
    const test = readFileSync(path.join(root, ENVIRONMENTS, 'test', 'manifest.yml'), 'utf8');
    cpSync(path.join(root, ENVIRONMENTS, 'test'), path.join(root, ENVIRONMENTS, 'alpha'), {
      recursive: true,
    });
    writeFileSync(
      path.join(root, ENVIRONMENTS, 'alpha', 'manifest.yml'),
      test.replace(/^name: test$/m, 'name: alpha'),
    );
    const first = prepare({ root, log: () => {} });
    expect(first.environment).toBe('alpha');
    expect(first.internalHost(FIXTURE_SERVICE)).toBe(`${FIXTURE_SERVICE}.alpha.bookstore.internal`);
    const chosen = prepare({ root, environment: 'test', log: () => {} });
    expect(chosen.environment).toBe('test');
    expect(chosen.internalHost(FIXTURE_SERVICE)).toBe(`${FIXTURE_SERVICE}.test.bookstore.internal`);
    expect(chosen.settings.templateFile).toBe(path.join(root, 'addons', 'http-api.yml'));
  });

  it("reads each service's task arguments once, by service name", () => {
    const ctx = prepare({ log: () => {} });
    expect([...ctx.taskArgs.keys()]).toEqual(['author-service', 'book-service']);
    for (const service of ctx.workspace.services) {
      const args = ctx.taskArgs.get(service.name);
      expect(args).toEqual(taskArgs(service, repoRoot));
      expect(args).toContain(path.join(service.sourceDir, 'src', 'server.ts'));
    }
  });

  it('refuses a service no task can run (no entry point) before any task starts', () => {
    const root = workspace();
    const fixture = readFileSync(
      path.join(root, 'copilot', FIXTURE_SERVICE, 'manifest.yml'),
      'utf8',
    );
    const ghost = path.join(root, 'copilot', 'ghost-service');
    cpSync(path.join(root, 'copilot', FIXTURE_SERVICE), ghost, { recursive: true });
    writeFileSync(
      path.join(ghost, 'manifest.yml'),
      fixture.replaceAll(FIXTURE_SERVICE, 'ghost-service'),
    );
    const error = refusal({ root });
    expect(error).toBeInstanceOf(LocalStackError);
    const sourceDir = path.join(root, 'services', 'ghost-service');
    expect(error.message).toBe(
      `ghost-service: no entry point at ${path.join(sourceDir, 'src', 'server.ts')} (the manifest copilot/ghost-service/manifest.yml builds from ${sourceDir})`,
    );
  });

  it('hands each line to the log callback as it comes, its own lines marked [local]', () => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const ctx = prepare({ log: (line) => lines.push(line) });
    ctx.say('started');
    ctx.sink.write('an access-log line');
    expect(lines).toEqual(['[local] started', 'an access-log line']);
    ctx.sink.flush();
    expect(write).not.toHaveBeenCalled();
  });

  it('without a log callback, writes the lines to stdout in one batch', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const ctx = prepare({});
    ctx.say('started');
    ctx.sink.write('an access-log line');
    expect(write).not.toHaveBeenCalled();
    ctx.sink.flush();
    expect(write.mock.calls).toEqual([['[local] started\nan access-log line\n']]);
  });

  it('gives each stack an event hub of its own, watched by no one yet', () => {
    const one = prepare({ log: () => {} });
    const other = prepare({ log: () => {} });
    expect(one.events).toBeInstanceOf(StackEvents);
    expect(one.events).not.toBe(other.events);
    expect([one.events.watched, one.events.active]).toEqual([false, false]);
  });
});

describe("the stack's timing", () => {
  it("scales the manifests' durations, rounded to the millisecond, never below 1 ms", () => {
    expect(scaled(10_000, 0.1)).toBe(1_000);
    expect(scaled(15, 0.1)).toBe(2);
    expect(scaled(14, 0.1)).toBe(1);
    expect(scaled(4, 0.1)).toBe(1);
    expect(scaled(0, 1)).toBe(1);
    expect(scaled(2_500, 2)).toBe(5_000);
  });

  it("stops a task within the task definition's StopTimeout, else ECS's default 30 s", () => {
    const books = manifestService('book-service');
    expect(stopTimeoutMs(books)).toBe(40_000);
    const { taskdef_overrides: _, ...manifest } = books.manifest;
    expect(stopTimeoutMs({ ...books, manifest } as Service)).toBe(30_000);
    // CloudFormation reads "50" for StopTimeout (an Integer) as 50 (cfn-value.ts).
    const quoted = [{ path: 'ContainerDefinitions[0].StopTimeout', value: '50' }];
    const asText = { ...books, manifest: { ...manifest, taskdef_overrides: quoted } } as Service;
    expect(stopTimeoutMs(asText)).toBe(50_000);
  });
});

// ---------------------------------------------------------------- the handle

interface Built {
  stack: LocalStack;
  ctx: Context;
  replicas: Replica[];
  groups: Map<string, TargetGroup>;
  alb: LoadBalancer;
  clock: ManualClock;
  lines: string[];
  stops: () => Promise<void>;
  /** The replica of this service and slot. */
  replica(service: string, index: number): Replica;
  /** The replica's current task. */
  child(replica: Replica): FakeChild;
  /** Starts every replica's task and lets its first check pass: all healthy. */
  launchAll(): Promise<void>;
}

/**
 * A handle over this repository's services, as stack.ts builds one: a target group and listener
 * rule per service, a replica per slot of `count.range.min`, the ECS scheduler over fake tasks;
 * every health check passes. The URLs name ports no one listens on unless the test gives some.
 */
function stackOver(
  options: { host?: string; apiPort?: number; albPort?: number; alb?: LoadBalancer } = {},
): Built {
  const lines: string[] = [];
  const ctx = prepare({
    log: (line) => lines.push(line),
    ...(options.host ? { host: options.host } : {}),
  });
  const clock = new ManualClock();
  let built: FakeScheduler | undefined;
  const groups = new Map<string, TargetGroup>();
  const rules: ListenerRule[] = [];
  for (const service of ctx.workspace.services) {
    const group = new TargetGroup(
      service.name,
      testHealthCheck(service.health.path),
      1_000,
      { onStateChange: (_g, target) => reportStateChange(built, target) },
      { clock, probe: async () => ({ status: 200 }) },
    );
    groups.set(service.name, group);
    rules.push({
      service: service.name,
      pathPrefix: service.pathPrefix,
      hosts: [ctx.internalHost(service.name)],
      group,
    });
  }
  const alb =
    options.alb ?? new LoadBalancer(`internal-bookstore-${ctx.environment}.elb.localhost`, rules);
  const replicas = ctx.workspace.services.flatMap((service) =>
    Array.from({ length: service.minCount }, (_, index) => new Replica(service, index)),
  );
  built = fakeScheduler(replicas, groups, clock, {
    stopTimeoutMs: () => 5_000,
    gracePeriodMs: () => 10_000,
    say: ctx.say,
    exitedBeforeListening: () => false,
    starting: () => false,
  });
  const { scheduler } = built;
  cleanups.push(async () => {
    await scheduler.stop();
    for (const group of groups.values()) group.close();
  });
  const stops = vi.fn(async () => {});
  const stack = handle(ctx, {
    alb,
    groups,
    replicas,
    scheduler,
    stop: stops,
    apiPort: options.apiPort ?? 18_080,
    albPort: options.albPort ?? 18_081,
  });
  const replica = (service: string, index: number) =>
    replicas.find((r) => r.service.name === service && r.index === index) as Replica;
  return {
    stack,
    ctx,
    replicas,
    groups,
    alb,
    clock,
    lines,
    stops,
    replica,
    child: (r) => r.child as unknown as FakeChild,
    async launchAll() {
      for (const r of replicas) await scheduler.launch(r);
      await clock.advance(0);
    },
  };
}

/** Lets pending exits, signals and promise reactions run. */
const turns = async (count = 5) => {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Whether `promise` has settled after a few turns. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await turns();
  return done;
}

describe('the handle: what it names', () => {
  it("the URLs on the stack's host and ports, the ALB's DNS name, application, environment and settings", () => {
    const { stack, ctx } = stackOver({ apiPort: 8080, albPort: 41_234 });
    expect(stack.apiUrl).toBe('http://127.0.0.1:8080');
    expect(stack.albUrl).toBe('http://127.0.0.1:41234');
    expect(stack.albHost).toBe('internal-bookstore-test.elb.localhost');
    expect(stack.application).toBe('bookstore');
    expect(stack.environment).toBe('test');
    expect(stack.settings).toBe(ctx.settings);
  });

  it('URLs that are URLs on an IPv6 host: the address in brackets', () => {
    // RFC 3986 section 3.2.2: an IPv6 literal in a URL's authority is enclosed in brackets.
    const { stack } = stackOver({ host: '::1', apiPort: 8080, albPort: 41_234 });
    expect(stack.apiUrl).toBe('http://[::1]:8080');
    expect(stack.albUrl).toBe('http://[::1]:41234');
    expect(new URL(stack.apiUrl).port).toBe('8080');
  });

  it('each service with its path, its other Host and its own replicas', () => {
    const { stack } = stackOver();
    expect(
      stack.services.map((s) => ({
        name: s.name,
        pathPrefix: s.pathPrefix,
        internalHost: s.internalHost,
        replicas: s.replicas.map((r) => r.index),
      })),
    ).toEqual([
      {
        name: 'author-service',
        pathPrefix: '/api/authors',
        internalHost: 'author-service.test.bookstore.internal',
        replicas: [0, 1],
      },
      {
        name: 'book-service',
        pathPrefix: '/api/books',
        internalHost: 'book-service.test.bookstore.internal',
        replicas: [0, 1],
      },
    ]);
  });

  it('each replica as it is now: no task yet, then its task, port, target and state', async () => {
    const s = stackOver();
    const [view] = s.stack.services[1]?.replicas ?? [];
    if (view === undefined) throw new Error('no replica view');
    expect(pick(view)).toEqual({
      index: 0,
      port: 0,
      target: '',
      pid: undefined,
      healthy: false,
      state: 'unused',
      restarts: 0,
    });
    const replica = s.replica('book-service', 0);
    await s.launchAll();
    expect(pick(view)).toEqual({
      index: 0,
      port: replica.port,
      target: `127.0.0.1:${replica.port}`,
      pid: s.child(replica).pid,
      healthy: true,
      state: 'healthy',
      restarts: 0,
    });
    expect(replica.port).toBeGreaterThan(0);
    // Deregistered: its target no longer healthy, and said so.
    void s.groups.get('book-service')?.deregister(replica.target as Target);
    expect([view.healthy, view.state]).toEqual([false, 'unused']);
  });

  it('the route table npm start prints, with the targets as they are now', async () => {
    const s = stackOver();
    await s.launchAll();
    const table = s.stack.routeTable();
    expect(table).toBe(formatRouteTable(s.ctx.settings.routes, s.alb));
    expect(table).toContain(`127.0.0.1:${s.replica('book-service', 1).port} (healthy)`);
  });

  it("the stack's own parts, and its stop", async () => {
    const s = stackOver();
    expect(s.stack.parts.alb).toBe(s.alb);
    expect(s.stack.parts.groups).toBe(s.groups);
    expect(s.stack.parts.replicas).toBe(s.replicas);
    await s.stack.stop();
    expect(s.stops).toHaveBeenCalledTimes(1);
  });
});

/** A replica view's fields, read now. */
function pick(view: LocalStack['services'][number]['replicas'][number]) {
  const { index, port, target, pid, healthy, state, restarts } = view;
  return { index, port, target, pid, healthy, state, restarts };
}

describe('the handle: killing and pausing a replica', () => {
  it('SIGTERM, the default, stops the task as ECS does: deregistered first, then SIGTERM; resolves once it exited', async () => {
    const s = stackOver();
    await s.launchAll();
    const replica = s.replica('book-service', 1);
    const child = s.child(replica);
    const target = replica.target;
    child.obeys.clear();
    const killed = s.stack.killReplica('book-service', 1);
    expect(s.lines).toContain('[local] book-service/1 replacing: SIGTERM requested');
    await turns();
    expect(target?.state).toBe('unused');
    expect(child.signals).toEqual(['SIGTERM']);
    expect(await settled(killed)).toBe(false);
    child.exit(0);
    await killed;
    // The other replicas' tasks were left alone; a new task takes the slot.
    for (const other of s.replicas.filter((r) => r !== replica)) {
      expect(s.child(other).signals).toEqual([]);
    }
    await s.clock.advance(0);
    await turns();
    expect(s.stack.services[1]?.replicas[1]?.restarts).toBe(1);
  });

  it('another signal is just sent, the target left as it is, and it resolves once the process exited', async () => {
    const s = stackOver();
    await s.launchAll();
    const replica = s.replica('author-service', 0);
    const child = s.child(replica);
    const target = replica.target;
    const killed = s.stack.killReplica('author-service', 0, 'SIGUSR2');
    expect(child.signals).toEqual(['SIGUSR2']);
    expect(target?.state).toBe('healthy');
    expect(s.lines.some((line) => line.includes('replacing'))).toBe(false);
    expect(await settled(killed)).toBe(false);
    child.exit(null, 'SIGUSR2');
    await killed;
    expect(s.lines).toContain('[local] author-service/0 exited (SIGUSR2)');
  });

  it("pauses and resumes that replica's current task, and no other", async () => {
    const s = stackOver();
    await s.launchAll();
    s.stack.pauseReplica('book-service', 1, true);
    s.stack.pauseReplica('book-service', 1, false);
    expect(s.child(s.replica('book-service', 1)).signals).toEqual(['SIGSTOP', 'SIGCONT']);
    const others = s.replicas.filter((r) => r !== s.replica('book-service', 1));
    expect(others.map((r) => s.child(r).signals)).toEqual([[], [], []]);
  });

  it('refuses a replica the stack does not have, naming it', async () => {
    const s = stackOver();
    await s.launchAll();
    for (const [service, index] of [
      ['book-service', 2],
      ['ghost-service', 0],
    ] as const) {
      expect(() => s.stack.pauseReplica(service, index, true)).toThrow(
        `no replica ${service}/${index}`,
      );
      const killed = s.stack.killReplica(service, index, 'SIGKILL');
      await expect(killed).rejects.toBeInstanceOf(LocalStackError);
      await expect(killed).rejects.toThrow(`no replica ${service}/${index}`);
    }
    expect(s.replicas.map((r) => s.child(r).signals)).toEqual([[], [], [], []]);
  });
});

describe('the handle: observing the stack', () => {
  it("a listener gets the stack's events until it stops; requests only when it wants them", () => {
    const { stack, ctx } = stackOver();
    const seen: LocalStackEvent[] = [];
    expect(stack.requestsObserved).toBe(false);
    const stopTopology = stack.observe((event) => seen.push(event), { requests: false });
    expect(stack.requestsObserved).toBe(false);
    const check: LocalStackEvent = {
      type: 'health-check',
      service: 'book-service',
      target: '127.0.0.1:1',
      outcome: { passed: true, status: 200 },
      description: 'GET /api/books/health answered 200',
    };
    ctx.events.emit(check);
    expect(seen).toEqual([check]);
    const requests: LocalStackEvent[] = [];
    const stopRequests = stack.observe((event) => requests.push(event));
    expect(stack.requestsObserved).toBe(true);
    stopRequests();
    expect(stack.requestsObserved).toBe(false);
    stopTopology();
    ctx.events.emit(check);
    expect(seen).toEqual([check]);
    expect(requests).toEqual([]);
  });
});

/** An ALB listener of our own over `alb`, on `host`; closed after the test. */
async function albListener(alb: LoadBalancer, host: string): Promise<number> {
  const server = http.createServer();
  attachAlbListener(server, alb);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

describe("the handle: probing the ALB's listener", () => {
  it('sends GET with the Host given: the rule and the target that answered, or the default 503', async () => {
    const api = await startApi({ targets: [(_req, res) => res.end('ok')] });
    const { stack } = stackOver({ alb: api.alb, albPort: api.albPort });
    const target = api.group.targets[0]?.address;
    expect(await stack.probeAlb(INTERNAL_HOST, `${PATH}/1`)).toEqual({
      status: 200,
      rule: SERVICE,
      target,
    });
    expect(await stack.probeAlb(ALB_HOST, PATH)).toEqual({ status: 200, rule: SERVICE, target });
    expect(await stack.probeAlb('wrong.invalid', PATH)).toEqual({
      status: 503,
      rule: undefined,
      target: undefined,
    });
  });

  it("on an IPv6 host, through the stack's own URL", async () => {
    const api = await startApi({ targets: [(_req, res) => res.end('ok')] });
    const albPort = await albListener(api.alb, '::1');
    const { stack } = stackOver({ host: '::1', alb: api.alb, albPort });
    expect(await stack.probeAlb(INTERNAL_HOST, PATH)).toMatchObject({ status: 200, rule: SERVICE });
  });

  it('fails when the listener cannot be reached', async () => {
    const api = await startApi({});
    // A port bound once and released: nothing listens there.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const albPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { stack } = stackOver({ alb: api.alb, albPort });
    await expect(stack.probeAlb(INTERNAL_HOST, PATH)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('fails on an answer cut short (its target died mid-body) instead of waiting for good', async () => {
    const api = await startApi({
      targets: [
        (req, res) => {
          res.writeHead(200, { 'content-length': '100' });
          res.write('partial');
          setImmediate(() => req.socket.destroy());
        },
      ],
    });
    const { stack } = stackOver({ alb: api.alb, albPort: api.albPort });
    await expect(stack.probeAlb(INTERNAL_HOST, PATH)).rejects.toThrow(
      `GET ${PATH} with Host ${INTERNAL_HOST}: the answer (status 200) was cut short`,
    );
  });
});
