// The ECS scheduler stand-in's decisions (scripts/local/ecs/scheduler.ts) that show in what the
// console says and which tasks start or stop, over fake tasks and target groups on a clock of
// the test's own, several services at once: what counts against a service's maximumPercent
// (its running tasks and the ones its replacements will stop, no other service's); the grace
// period counted from each task's start; a replacement that completes lets the slot be
// replaced again; nothing is replaced while the stack stops; and what is said on the way.
// scheduler-in-process.test.ts covers the single-service paths.
import { afterEach, describe, expect, it } from 'vitest';
import type { ProbeAnswer } from '../../scripts/local/alb/health-check.ts';
import { TargetGroup } from '../../scripts/local/alb/target-group.ts';
import type { Scheduler } from '../../scripts/local/ecs/scheduler.ts';
import { Replica } from '../../scripts/local/ecs/supervisor.ts';
import { loadWorkspace, type Service } from '../../scripts/workspace/manifests.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  type FakeChild,
  type FakeScheduler,
  fakeScheduler,
  reportStateChange,
} from './fake-tasks.ts';
import { testHealthCheck } from './health-settings.ts';
import { ManualClock } from './manual-clock.ts';

const [first, second] = loadWorkspace().services as [Service, Service];

let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

interface Setup {
  /** Overrides of each service's manifest values (the workspace's first two services). */
  services: Partial<Service>[];
  /** The services' health-check grace period (0: acted on at once). */
  graceMs?: number;
}

function setup(options: Setup) {
  const services = options.services.map(
    (overrides, i) => ({ ...[first, second][i], ...overrides }) as Service,
  );
  const clock = new ManualClock();
  const lines: string[] = [];
  // Each task answers its checks as the test sets its port; until then it does not listen.
  const answers = new Map<number, ProbeAnswer>();
  let built: FakeScheduler | undefined;
  const groups = new Map(
    services.map((service) => [
      service.name,
      new TargetGroup(
        service.name,
        testHealthCheck('/health'),
        0,
        { onStateChange: (_g, target) => reportStateChange(built, target) },
        { clock, probe: async (port) => answers.get(port) ?? { error: 'refused' } },
      ),
    ]),
  );
  const replicas = services.flatMap((service) =>
    Array.from({ length: service.minCount }, (_, i) => new Replica(service, i)),
  );
  built = fakeScheduler(replicas, groups, clock, {
    stopTimeoutMs: () => 5_000,
    gracePeriodMs: () => options.graceMs ?? 0,
    say: (line) => lines.push(line),
    exitedBeforeListening: () => false,
  });
  scheduler = built.scheduler;
  const s = scheduler;
  const fake = built.tasks;
  const child = (replica: Replica) => replica.child as unknown as FakeChild;
  return {
    scheduler: s,
    tasks: fake,
    clock,
    lines,
    answers,
    replicas,
    group: (replica: Replica) => groups.get(replica.service.name) as TargetGroup,
    child,
    /** Launches every replica and lets its first check pass: all healthy. */
    async launchAll() {
      for (const replica of replicas) {
        await s.launch(replica);
        answers.set(replica.port, { status: 200 });
      }
      await clock.advance(0);
      for (const replica of replicas) expect(replica.target?.state).toBe('healthy');
    },
    /** The replica's current task fails its checks from now on. */
    fail: (replica: Replica) => answers.set(replica.port, { status: 500 }),
    /** Waits (bounded) for the slot's task after `previous`: a launch awaits a free port. */
    async nextTask(replica: Replica, previous: FakeChild) {
      await until(`${replica.label}'s next task`, () => child(replica) !== previous);
      return child(replica);
    },
    /** Fails the slot's task until it is unhealthy (2 s): its replacement starts first. */
    async replaceFirst(replica: Replica) {
      const old = child(replica);
      answers.set(replica.port, { status: 500 });
      await clock.advance(2_000);
      await until(`${replica.label}'s next task`, () => child(replica) !== old);
      return { old, replacement: child(replica) };
    },
    /** What was said about replacing the replica. */
    replacing: (replica: Replica) =>
      lines.filter((l) => l.startsWith(`${replica.label} replacing`)),
  };
}

/** Bounded waits for what the scheduler does asynchronously (a free port, an exit). */
const until = (what: string, predicate: () => boolean) => waitFor(what, predicate, 5_000);
const turn = () => new Promise((resolve) => setImmediate(resolve));
const FIRST = 'its replacement starts first';
const NO_ROOM = 'no room to start its replacement first';

describe('what the console says of a task', () => {
  it('that starts: its pid and port', async () => {
    const s = setup({ services: [{ minCount: 1 }] });
    const [replica] = s.replicas as [Replica];
    await s.scheduler.launch(replica);
    expect(s.lines).toEqual([
      `${replica.label} started: pid ${s.child(replica).pid}, port ${replica.port}`,
    ]);
  });

  it('that crashes: its last output, a line to a line, again whenever it differs', async () => {
    const s = setup({ services: [{ minCount: 1 }] });
    const [replica] = s.replicas as [Replica];
    await s.scheduler.launch(replica);
    const crash = async (output: string[]) => {
      for (const line of output) replica.keepOutput(line);
      const task = s.child(replica);
      task.exit(1);
      await s.clock.advance(1_000);
      await s.nextTask(replica, task);
    };
    await crash(['Error: listen EADDRINUSE', 'at Server.listen']);
    // The same words broken into other lines are other output: reported again.
    await crash(['Error: listen EADDRINUSEat Server.listen']);
    expect(s.lines.filter((l) => l.includes('its last output'))).toEqual([
      `${replica.label}: its last output:\n    | Error: listen EADDRINUSE\n    | at Server.listen`,
      `${replica.label}: its last output:\n    | Error: listen EADDRINUSEat Server.listen`,
    ]);
  });
});

describe('maximumPercent counts', () => {
  it("the service's own running tasks, not another service's", async () => {
    // One desired task at 200%: room for its replacement, whatever the other service runs.
    const s = setup({ services: [{ minCount: 1 }, { minCount: 1 }] });
    await s.launchAll();
    const [a, b] = s.replicas as [Replica, Replica];
    const oldB = s.child(b);
    // b's replacement starts first and is not healthy yet: b has two tasks.
    s.fail(b);
    await s.clock.advance(2_000);
    expect(s.replacing(b)).toEqual([`${b.label} replacing: failed ALB health checks; ${FIRST}`]);
    await s.nextTask(b, oldB);
    s.fail(a);
    await s.clock.advance(2_000);
    expect(s.replacing(a)).toEqual([`${a.label} replacing: failed ALB health checks; ${FIRST}`]);
  });

  it('the tasks its replacements will stop: a second unhealthy task with no room left is stopped first', async () => {
    // Two desired tasks at 150%: three at most, so room for one replacement at a time. A 3 s
    // grace period: a0's replacement, still starting 2 s later, is not judged yet.
    const s = setup({ services: [{ minCount: 2, maximumPercent: 150 }], graceMs: 3_000 });
    await s.launchAll();
    const [a0, a1] = s.replicas as [Replica, Replica];
    const old0 = s.child(a0);
    const old1 = s.child(a1);
    s.fail(a0);
    await s.clock.advance(3_000);
    expect(s.replacing(a0)).toEqual([`${a0.label} replacing: failed ALB health checks; ${FIRST}`]);
    await s.nextTask(a0, old0);
    // a0's replacement is not healthy yet, so a0's old task still runs: three tasks.
    s.fail(a1);
    await s.clock.advance(2_000);
    expect(s.replacing(a1)).toEqual([
      `${a1.label} replacing: failed ALB health checks (maximumPercent 150%: ${NO_ROOM})`,
    ]);
    await until('SIGTERM', () => old1.signals.length > 0);
  });

  it('no more a replaced task once it has exited: the replacement, unhealthy later, is replaced first again', async () => {
    const s = setup({ services: [{ minCount: 1, maximumPercent: 200 }] });
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    const { old, replacement } = await s.replaceFirst(replica);
    s.answers.set(replica.port, { status: 200 });
    await s.clock.advance(1_000);
    expect(replica.target?.state).toBe('healthy');
    await until('the replaced task exits', () =>
      s.lines.includes(`${replica.label}: the task it replaced (pid ${old.pid}) exited (SIGTERM)`),
    );
    // Said before the old task got its SIGTERM, once the replacement was healthy.
    expect(s.lines.slice(-2)).toEqual([
      `${replica.label}: its replacement is healthy; stopping the task it replaced (pid ${old.pid})`,
      `${replica.label}: the task it replaced (pid ${old.pid}) exited (SIGTERM)`,
    ]);
    await s.clock.advance(0);
    s.fail(replica);
    await s.clock.advance(2_000);
    expect(s.replacing(replica)).toEqual([
      `${replica.label} replacing: failed ALB health checks; ${FIRST}`,
      `${replica.label} replacing: failed ALB health checks; ${FIRST}`,
    ]);
    expect(replacement.signals).toEqual([]);
  });
});

describe('while a slot is being replaced first', () => {
  it("another slot's task that exits is restarted as its own", async () => {
    const s = setup({ services: [{ minCount: 2, maximumPercent: 200 }] });
    await s.launchAll();
    const [a0, a1] = s.replicas as [Replica, Replica];
    const old0 = s.child(a0);
    s.fail(a0);
    await s.clock.advance(2_000);
    await s.nextTask(a0, old0);
    const gone = s.child(a1);
    gone.exit(1);
    expect(s.lines.at(-1)).toBe(`${a1.label} exited (code 1)`);
    await s.clock.advance(0);
    await s.nextTask(a1, gone);
    expect(gone.pid).not.toBe(s.child(a1).pid);
  });
});

describe('the grace period', () => {
  it("runs from the task's own start", async () => {
    const s = setup({ services: [{ minCount: 1 }], graceMs: 10_000 });
    await s.clock.advance(5_000);
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    s.fail(replica);
    await s.clock.advance(2_000);
    expect(replica.target?.state).toBe('unhealthy');
    // Started at 5 s: its grace period ends at 15 s.
    await s.clock.advance(15_000 - 7_000 - 1);
    expect(s.replacing(replica)).toEqual([]);
    await s.clock.advance(1);
    expect(s.replacing(replica)).toEqual([
      `${replica.label} replacing: failed ALB health checks; ${FIRST}`,
    ]);
  });

  it('ends with nothing done for a task that has recovered', async () => {
    const s = setup({ services: [{ minCount: 1 }], graceMs: 10_000 });
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    s.fail(replica);
    await s.clock.advance(2_000);
    s.answers.set(replica.port, { status: 200 });
    await s.clock.advance(2_000);
    expect(replica.target?.state).toBe('healthy');
    await s.clock.advance(10_000);
    expect(s.replacing(replica)).toEqual([]);
  });

  it('ends with nothing done for a task that exited meanwhile: it is restarted, not replaced', async () => {
    const s = setup({ services: [{ minCount: 1 }], graceMs: 10_000 });
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    s.fail(replica);
    await s.clock.advance(2_000);
    // It exits just as its grace period ends; its last output is still being read.
    await s.clock.advance(10_000 - 2_000 - 1);
    const task = s.child(replica);
    task.exitOnly(1);
    await s.clock.advance(1);
    expect(s.replacing(replica)).toEqual([]);
    task.close();
    expect(s.lines.at(-1)).toBe(`${replica.label} exited (code 1)`);
    await s.clock.advance(0);
    await s.nextTask(replica, task);
  });
});

describe('a task that never listens', () => {
  const hung = (replica: Replica, port: number, ms: number) =>
    `${replica.label} has not listened on port ${port} within ${ms} ms (its grace period, or its unhealthy threshold of checks): its health checks count as failed`;

  it('with no grace period: judged when ELB would have found it unhealthy (2 checks of 1 s)', async () => {
    const s = setup({ services: [{ minCount: 1 }] });
    const [replica] = s.replicas as [Replica];
    await s.scheduler.launch(replica);
    const task = s.child(replica);
    const port = replica.port;
    await s.clock.advance(2_000 - 1);
    expect(s.replacing(replica)).toEqual([]);
    await s.clock.advance(1);
    expect(s.lines).toContain(hung(replica, port, 2_000));
    expect(s.replacing(replica)).toEqual([
      `${replica.label} replacing: failed ALB health checks; ${FIRST}`,
    ]);
    await s.nextTask(replica, task);
  });

  it('with a longer grace period: judged when it ends, from its own start', async () => {
    const s = setup({ services: [{ minCount: 1 }], graceMs: 5_000 });
    await s.clock.advance(1_000);
    const [replica] = s.replicas as [Replica];
    await s.scheduler.launch(replica);
    const port = replica.port;
    await s.clock.advance(5_000 - 1);
    expect(s.replacing(replica)).toEqual([]);
    await s.clock.advance(1);
    expect(s.lines).toContain(hung(replica, port, 5_000));
  });

  it('nothing is said of one that is healthy by then, or has exited', async () => {
    const s = setup({ services: [{ minCount: 2 }] });
    const [a0, a1] = s.replicas as [Replica, Replica];
    await s.scheduler.launch(a0);
    await s.scheduler.launch(a1);
    s.answers.set(a0.port, { status: 200 });
    const exited = a1.port;
    s.child(a1).exit(1);
    await s.clock.advance(2_000);
    expect(a0.target?.state).toBe('healthy');
    // (a1's next task hangs too, and is said to once its own 2 s are over.)
    const said = () => s.lines.filter((l) => l.includes('has not listened'));
    expect(
      said().filter((l) => l.includes(`port ${a0.port} `) || l.includes(`port ${exited} `)),
    ).toEqual([]);
  });

  it('nothing is said once the stack has stopped', async () => {
    const s = setup({ services: [{ minCount: 1 }] });
    const [replica] = s.replicas as [Replica];
    await s.scheduler.launch(replica);
    await s.clock.advance(1_000);
    await s.scheduler.stop();
    await s.clock.advance(5_000);
    expect(s.lines.filter((l) => l.includes('has not listened'))).toEqual([]);
  });

  it('that has just answered a first check (a 500) is left to its checks', async () => {
    const s = setup({ services: [{ minCount: 1 }] });
    const [replica] = s.replicas as [Replica];
    await s.scheduler.launch(replica);
    await s.clock.advance(1_900);
    s.fail(replica);
    await s.clock.advance(100);
    expect(replica.target?.state).toBe('initial');
    expect(s.lines.filter((l) => l.includes('has not listened'))).toEqual([]);
  });

  it('but has answered once (a 500): left to its failed checks', async () => {
    const s = setup({ services: [{ minCount: 1 }], graceMs: 5_000 });
    const [replica] = s.replicas as [Replica];
    await s.scheduler.launch(replica);
    s.fail(replica);
    await s.clock.advance(5_000);
    expect(s.lines.filter((l) => l.includes('has not listened'))).toEqual([]);
    expect(s.replacing(replica)).toEqual([
      `${replica.label} replacing: failed ALB health checks; ${FIRST}`,
    ]);
  });
});

describe('a SIGTERM from the console', () => {
  it('stops the task each time it is asked, after the previous stop has ended', async () => {
    const s = setup({ services: [{ minCount: 1 }] });
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    const firstTask = s.child(replica);
    await s.scheduler.replace(replica, 'SIGTERM requested');
    expect(firstTask.signals).toEqual(['SIGTERM']);
    await s.clock.advance(0);
    const secondTask = await s.nextTask(replica, firstTask);
    const stopped = s.scheduler.replace(replica, 'SIGTERM requested');
    expect(s.replacing(replica)).toEqual([
      `${replica.label} replacing: SIGTERM requested`,
      `${replica.label} replacing: SIGTERM requested`,
    ]);
    await stopped;
    expect(secondTask.signals).toEqual(['SIGTERM']);
  });

  it("while a replacement is started first: stops the slot's current task, the replacement, at once", async () => {
    const s = setup({ services: [{ minCount: 1, maximumPercent: 200 }] });
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    const { old, replacement } = await s.replaceFirst(replica);
    // The replacement is still starting; the console asks for the slot's task to stop.
    await s.scheduler.replace(replica, 'SIGTERM requested');
    expect(replacement.signals).toEqual(['SIGTERM']);
    expect(old.signals).toEqual([]);
    // Another task takes the slot; once it is healthy, the task the first one was to replace
    // is stopped too.
    await s.clock.advance(0);
    const next = await s.nextTask(replica, replacement);
    s.answers.set(replica.port, { status: 200 });
    await s.clock.advance(50);
    await until('the replaced task stopped', () => old.signals.length > 0);
    expect(next.signals).toEqual([]);
  });
});

describe('while the stack stops', () => {
  it('a task being placed is not: no target is registered for it', async () => {
    const s = setup({ services: [{ minCount: 1 }] });
    const [replica] = s.replicas as [Replica];
    const placing = s.scheduler.launch(replica);
    await s.scheduler.stop();
    await placing;
    expect(s.group(replica).targets).toEqual([]);
    expect(s.tasks.started).toEqual([]);
  });

  it('a grace period that ends replaces nothing', async () => {
    const s = setup({ services: [{ minCount: 1 }], graceMs: 10_000 });
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    s.fail(replica);
    await s.clock.advance(2_000);
    // The task takes its time to stop: it still runs when its grace period ends.
    s.child(replica).obeys.delete('SIGTERM');
    await s.scheduler.stop();
    await s.clock.advance(10_000);
    expect(s.replacing(replica)).toEqual([]);
  });

  it('a replacement under way stops no task as if it were healthy', async () => {
    const s = setup({ services: [{ minCount: 1 }] });
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    const old = s.child(replica);
    s.fail(replica);
    await s.clock.advance(2_000);
    await s.nextTask(replica, old);
    await s.scheduler.stop();
    await turn();
    await turn();
    expect(s.lines.filter((l) => l.includes('its replacement is healthy'))).toEqual([]);
    // The stop's own SIGTERM, and only it.
    expect(old.signals).toEqual(['SIGTERM']);
  });
});
