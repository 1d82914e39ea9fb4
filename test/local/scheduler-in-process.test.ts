// The ECS scheduler stand-in (scripts/local/ecs/scheduler.ts) over fake tasks and a target
// group on a clock of the test's own: no process is started, so each of its actions is seen in
// order. A task that exits is replaced (at once, or after the crash loop's delay); one that
// exits before it listens while the stack starts ends the start; an unhealthy one is left alone
// during its grace period, then replaced first (stopped once its replacement is healthy,
// deregistered before SIGTERM; a replacement that fails too is replaced in turn) or, with no
// room, stopped first; a stop stops everything.
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

const base = loadWorkspace().services[0] as Service;
const GRACE_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

interface Setup {
  service?: Partial<Service>;
  replicas?: number;
  /** The stack gives up on a task that exits before it listens (it is starting). */
  starting?: boolean;
  stopTimeoutMs?: number;
}

let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

function setup(options: Setup = {}) {
  const service = { ...base, minCount: 2, maximumPercent: 200, ...options.service } as Service;
  const clock = new ManualClock();
  const lines: string[] = [];
  const answers = new Map<number, ProbeAnswer>();
  // A new task's checks are refused (it does not listen yet) until the test lets it up.
  const fallback: { answer: ProbeAnswer } = { answer: { error: 'refused' } };
  const states: string[] = [];
  let built: FakeScheduler | undefined;
  const group = new TargetGroup(
    service.name,
    testHealthCheck('/health'),
    0,
    {
      onStateChange: (_g, target, from) => {
        states.push(`${target.port}: ${from} -> ${target.state}`);
        reportStateChange(built, target);
      },
    },
    { clock, probe: async (port) => answers.get(port) ?? fallback.answer },
  );
  const replicas = Array.from(
    { length: options.replicas ?? service.minCount },
    (_, i) => new Replica(service, i),
  );
  const gaveUp: string[] = [];
  built = fakeScheduler(replicas, new Map([[service.name, group]]), clock, {
    stopTimeoutMs: () => options.stopTimeoutMs ?? STOP_TIMEOUT_MS,
    gracePeriodMs: () => GRACE_MS,
    say: (line) => lines.push(line),
    exitedBeforeListening: (replica, how) => {
      if (!options.starting) return false;
      gaveUp.push(`${replica.label} ${how}`);
      return true;
    },
    starting: () => options.starting === true,
  });
  scheduler = built.scheduler;
  const s = scheduler;
  const fake = built.tasks;
  return {
    scheduler: s,
    tasks: fake,
    group,
    clock,
    lines,
    answers,
    fallback,
    states,
    gaveUp,
    replicas,
    /** Launches every replica and lets the first checks pass: all healthy. */
    async launchAll() {
      for (const replica of replicas) {
        await s.launch(replica);
        answers.set(replica.port, { status: 200 });
      }
      await clock.advance(0);
    },
    /** The current task of a slot. */
    child: (replica: Replica) => replica.child as unknown as FakeChild,
    /** Lets pending work (signals, exits, checks) run. */
    settle: () => clock.advance(0),
  };
}

/** Waits (bounded) for what the scheduler does asynchronously: a port to be found, an exit. */
const until = (what: string, predicate: () => boolean) => waitFor(what, predicate, 5_000);
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('a task that exits', () => {
  it('after it listened: its target goes at once, and a new task starts on a new port', async () => {
    const s = setup({ replicas: 1 });
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    const first = replica.target;
    expect(first?.state).toBe('healthy');
    s.child(replica).exit(1);
    expect(first?.state).toBe('unused');
    await until('the target removed', () => !s.group.targets.includes(first as never));
    expect(s.lines).toContain(`${replica.label} exited (code 1)`);
    // The next task is due at once.
    expect(s.clock.pending()).toContain(0);
    await s.clock.advance(0);
    await until('a new task', () => s.tasks.started.length === 2);
    expect(replica.restarts).toBe(1);
    expect(replica.crashes).toBe(0);
    expect(replica.target).not.toBe(first);
    expect(replica.port).not.toBe(first?.port);
    expect(s.group.targets).toEqual([replica.target]);
  });

  it('by a signal from outside: the same, named by its signal', async () => {
    const s = setup({ replicas: 1 });
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    s.child(replica).exit(null, 'SIGKILL');
    expect(s.lines).toContain(`${replica.label} exited (SIGKILL)`);
  });

  it('before it listened, again and again: restarted 0, 0.25, 0.5 s apart, reported as a crash loop', async () => {
    const s = setup({ replicas: 1 });
    const [replica] = s.replicas as [Replica];
    await s.scheduler.launch(replica);
    // The clock never runs a health check here: no task is ever seen listening.
    const crash = (output: string[]) => {
      for (const line of output) replica.keepOutput(line);
      s.child(replica).exit(1);
    };
    const nextTaskAfter = async (ms: number) => {
      const started = s.tasks.started.length;
      if (ms > 0) {
        await s.clock.advance(ms - 1);
        await turn();
        expect(s.tasks.started).toHaveLength(started);
        await s.clock.advance(1);
      } else await s.clock.advance(0);
      await until('the next task', () => s.tasks.started.length === started + 1);
    };
    crash(['Error: boom']);
    expect(replica.crashes).toBe(1);
    expect(s.lines).toContain(
      `${replica.label} exited (code 1) before it listened on port ${replica.port}`,
    );
    expect(s.lines).toContain(`${replica.label}: its last output:\n    | Error: boom`);
    expect(s.lines.some((l) => l.includes('crash loop'))).toBe(false);
    await nextTaskAfter(0);
    crash(['Error: boom']);
    expect(replica.crashes).toBe(2);
    expect(s.lines.at(-1)).toBe(
      `${replica.label}: crash loop, 2 tasks in a row exited before they listened (last: code 1); next task in 0.25 s`,
    );
    // The same output is reported once.
    expect(s.lines.filter((l) => l.includes('its last output'))).toHaveLength(1);
    await nextTaskAfter(250);
    crash([]);
    expect(s.lines).toContain(`${replica.label}: it printed nothing`);
    await nextTaskAfter(500);
    crash(['Error: boom']);
    expect(s.lines.filter((l) => l.includes('its last output'))).toHaveLength(2);
    expect(replica.restarts).toBe(3);
    // A task that listens ends the loop: its exit restarts at once again.
    await nextTaskAfter(1_000);
    s.fallback.answer = { status: 200 };
    await s.clock.advance(50);
    expect(replica.listened).toBe(true);
    s.child(replica).exit(0);
    expect(replica.crashes).toBe(0);
    expect(s.clock.pending()).toContain(0);
  });

  it('before it listened while the stack starts: the start ends, nothing is restarted', async () => {
    const s = setup({ replicas: 1, starting: true });
    const [replica] = s.replicas as [Replica];
    await s.scheduler.launch(replica);
    s.child(replica).exit(1);
    expect(s.gaveUp).toEqual([`${replica.label} code 1`]);
    expect(s.clock.pending()).toEqual([]);
    expect(replica.crashes).toBe(0);
  });
});

describe('an unhealthy task', () => {
  /** Makes the slot's current target fail its checks until it is unhealthy (at 2 s). */
  async function failChecks(s: ReturnType<typeof setup>, replica: Replica) {
    s.answers.set(replica.port, { status: 500 });
    await s.clock.advance(2_000);
    expect(replica.target?.state).toBe('unhealthy');
  }

  it('is left alone during its grace period, then its replacement starts first', async () => {
    const s = setup();
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    const old = s.child(replica);
    const oldTarget = replica.target;
    await failChecks(s, replica);
    // 2 s into a 10 s grace period: nothing, until its very end.
    await s.clock.advance(GRACE_MS - 2_000 - 1);
    await turn();
    expect(s.tasks.started).toHaveLength(2);
    await s.clock.advance(1);
    await until('the replacement', () => s.tasks.started.length === 3);
    // The replacement runs beside the old task, which has had no signal yet.
    expect(old.signals).toEqual([]);
    expect(oldTarget?.state).toBe('unhealthy');
    expect(s.lines).toContain(
      `${replica.label} replacing: failed ALB health checks; its replacement starts first`,
    );
    // However long the replacement takes to come up, the old task keeps serving.
    await s.clock.advance(5_000);
    expect(old.signals).toEqual([]);
    // Its first passing check makes it healthy: the old task is deregistered, then SIGTERM.
    s.fallback.answer = { status: 200 };
    await s.clock.advance(50);
    await until('SIGTERM', () => old.signals.length > 0);
    expect(oldTarget?.state).toBe('unused');
    expect(old.signals).toEqual(['SIGTERM']);
    await until('the exit', () =>
      s.lines.includes(`${replica.label}: the task it replaced (pid ${old.pid}) exited (SIGTERM)`),
    );
    // The replaced task's exit starts nothing more, and its target is forgotten.
    await s.settle();
    expect(s.tasks.started).toHaveLength(3);
    await until('the old target removed', () => !s.group.targets.includes(oldTarget as never));
  });

  it('whose replacement fails its checks too: that one is replaced in turn, and both stop once a third is healthy', async () => {
    const s = setup();
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    const first = s.child(replica);
    await failChecks(s, replica);
    await s.clock.advance(GRACE_MS - 2_000);
    await until('the replacement', () => s.tasks.started.length === 3);
    const second = s.child(replica);
    s.answers.set(replica.port, { status: 500 });
    // The replacement never passes a check: after its own grace period, it is replaced too,
    // its replacement first (2 tasks + 1 replaced, room for 4 at 200%).
    await s.clock.advance(2_000);
    expect(replica.target?.state).toBe('unhealthy');
    await s.clock.advance(GRACE_MS - 2_000);
    await until('a second replacement', () => s.tasks.started.length === 4);
    expect(
      s.lines.filter((l) => l.startsWith(`${replica.label} replacing: failed ALB health checks`)),
    ).toHaveLength(2);
    expect([first.signals, second.signals]).toEqual([[], []]);
    // The third task is healthy: the two it and its predecessor were to replace both stop.
    s.fallback.answer = { status: 200 };
    await s.clock.advance(50);
    await until('both SIGTERMs', () => first.signals.length > 0 && second.signals.length > 0);
    expect([first.signals, second.signals]).toEqual([['SIGTERM'], ['SIGTERM']]);
    await s.settle();
    expect(s.tasks.started).toHaveLength(4);
    expect(replica.target?.state).toBe('healthy');
  });

  it('reported unhealthy twice before its replacement has a port gets one replacement', async () => {
    const s = setup();
    await s.launchAll();
    await s.clock.advance(GRACE_MS);
    const [replica] = s.replicas as [Replica];
    const oldTarget = replica.target as NonNullable<Replica['target']>;
    // Two reports in a row (a failed check and the grace period's timer, say): the first
    // starts the replacement, which waits for a free port; the second finds the task replaced.
    s.scheduler.targetUnhealthy(replica, oldTarget);
    s.scheduler.targetUnhealthy(replica, oldTarget);
    await until('the replacement', () => s.tasks.started.length >= 3);
    await turn();
    expect(s.tasks.started).toHaveLength(3);
    expect(s.lines.filter((l) => l.includes('replacing'))).toHaveLength(1);
  });

  it('that never listens is replaced once its grace period is over, its replacement first', async () => {
    const s = setup();
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    // It exits; the task started in its place hangs before it listens: every check refused.
    s.child(replica).exit(1);
    await s.clock.advance(0);
    await until('the restart', () => s.tasks.started.length === 3);
    const hung = s.child(replica);
    const port = replica.port;
    await s.clock.advance(GRACE_MS - 1);
    await turn();
    expect(replica.target?.state).toBe('initial');
    expect(s.tasks.started).toHaveLength(3);
    await s.clock.advance(1);
    await until('its replacement', () => s.tasks.started.length === 4);
    expect(s.lines).toContain(
      `${replica.label} has not listened on port ${port} within ${GRACE_MS} ms (its grace period, or its unhealthy threshold of checks): its health checks count as failed`,
    );
    s.fallback.answer = { status: 200 };
    await s.clock.advance(50);
    await until('SIGTERM', () => hung.signals.length > 0);
    expect(hung.signals).toEqual(['SIGTERM']);
  });

  it('that never listens while the stack starts is left to the start-up watch', async () => {
    const s = setup({ replicas: 1, starting: true });
    const [replica] = s.replicas as [Replica];
    await s.scheduler.launch(replica);
    await s.clock.advance(GRACE_MS * 2);
    await turn();
    expect(s.tasks.started).toHaveLength(1);
    expect(s.lines.filter((l) => l.includes('has not listened'))).toEqual([]);
  });

  it('is stopped first when maximumPercent leaves no room, then replaced', async () => {
    const s = setup({ service: { minCount: 1, maximumPercent: 100 } });
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    const old = s.child(replica);
    await failChecks(s, replica);
    await s.clock.advance(GRACE_MS);
    await until('SIGTERM', () => old.signals.length > 0);
    expect(s.tasks.started).toHaveLength(1);
    expect(s.lines).toContain(
      `${replica.label} replacing: failed ALB health checks (maximumPercent 100%: no room to start its replacement first)`,
    );
    await until('the exit', () => old.exitCode !== null || old.signalCode !== null);
    await s.settle();
    await until('its replacement', () => s.tasks.started.length === 2);
    expect(s.tasks.started[1]?.replica).toBe(replica.label);
  });

  it('that recovers within its grace period is not replaced', async () => {
    const s = setup();
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    await failChecks(s, replica);
    s.answers.set(replica.port, { status: 200 });
    await s.clock.advance(2_000);
    expect(replica.target?.state).toBe('healthy');
    await s.clock.advance(GRACE_MS);
    await turn();
    expect(s.tasks.started).toHaveLength(2);
  });

  it('is killed past the stop timeout when SIGTERM does not end it, and stopped once', async () => {
    const s = setup({ service: { minCount: 1, maximumPercent: 100 }, stopTimeoutMs: 20 });
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    const old = s.child(replica);
    old.obeys.delete('SIGTERM');
    const stopping = s.scheduler.replace(replica, 'SIGTERM requested');
    // A second request to replace the same slot waits for the same stop.
    const again = s.scheduler.replace(replica, 'twice');
    await until('SIGTERM', () => old.signals.length > 0);
    expect(s.lines.filter((l) => l.includes('replacing'))).toEqual([
      `${replica.label} replacing: SIGTERM requested`,
    ]);
    await Promise.all([stopping, again]);
    expect(old.signals).toEqual(['SIGTERM', 'SIGKILL']);
  });
});

describe('stopping', () => {
  it('stops every task with its stop timeout, and no restart follows', async () => {
    const s = setup();
    await s.launchAll();
    const [replica] = s.replicas as [Replica];
    s.child(replica).exit(1);
    expect(s.clock.pending()).toContain(0);
    await s.scheduler.stop();
    expect(s.clock.pending()).not.toContain(0);
    expect(s.tasks.stopTimeouts).toEqual([STOP_TIMEOUT_MS, STOP_TIMEOUT_MS]);
    await s.settle();
    expect(s.tasks.started).toHaveLength(2);
    // A task exiting now is the stop's doing: nothing is said or started.
    const said = s.lines.length;
    await turn();
    expect(s.lines.slice(said).filter((l) => l.includes('exited'))).toEqual([]);
  });
});
