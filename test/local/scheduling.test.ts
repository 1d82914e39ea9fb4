// The ECS scheduler's decisions (scripts/local/ecs/scheduling.ts), each at its edge: the
// restart delays of a crash loop; what happens to an unhealthy task (nothing during its grace
// period, its replacement first while maximumPercent leaves room, else stopped first); and the
// order of a managed stop (deregistered and drained, then SIGTERM, then SIGKILL only once the
// stop timeout has passed), judged by the order of events on a fake clock.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  isCrashLoop,
  managedStop,
  onUnhealthy,
  replacementFirst,
  restartDelayMs,
  type UnhealthyTask,
} from '../../scripts/local/ecs/scheduling.ts';

describe('a crash loop', () => {
  it('restarts the first crash at once, then 0.25, 0.5, 1 s... apart, at most 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(restartDelayMs)).toEqual([
      0, 0, 250, 500, 1_000, 2_000, 4_000,
    ]);
    expect(restartDelayMs(8)).toBe(16_000);
    expect(restartDelayMs(9)).toBe(30_000);
    expect(restartDelayMs(60)).toBe(30_000);
  });

  it('never waits less as crashes go on, nor past 30 s (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000 }), (crashes) => {
        const delay = restartDelayMs(crashes);
        expect(delay).toBeLessThanOrEqual(restartDelayMs(crashes + 1));
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(30_000);
      }),
    );
  });

  it('is reported from the second task in a row that exited before it listened', () => {
    expect([0, 1, 2, 3].map(isCrashLoop)).toEqual([false, false, true, true]);
  });
});

describe('room within maximumPercent', () => {
  it('is there while one more task stays within the desired count times the percent, rounded down', () => {
    expect(replacementFirst(2, 2, 200)).toBe(true);
    expect(replacementFirst(3, 2, 200)).toBe(true);
    expect(replacementFirst(4, 2, 200)).toBe(false);
    expect(replacementFirst(1, 1, 100)).toBe(false);
    expect(replacementFirst(0, 1, 100)).toBe(true);
    // 3 x 150% = 4.5: four tasks at most.
    expect(replacementFirst(3, 3, 150)).toBe(true);
    expect(replacementFirst(4, 3, 150)).toBe(false);
  });
});

describe('an unhealthy task', () => {
  const task: UnhealthyTask = {
    running: true,
    replacing: false,
    gracePeriodMs: 60_000,
    ageMs: 60_000,
    tasks: 2,
    desired: 2,
    maximumPercent: 200,
  };

  it('is left alone during its grace period, looked at again when it ends', () => {
    expect(onUnhealthy({ ...task, ageMs: 59_999 })).toEqual({ kind: 'wait', ms: 1 });
    expect(onUnhealthy({ ...task, ageMs: 0 })).toEqual({ kind: 'wait', ms: 60_000 });
    expect(onUnhealthy({ ...task, ageMs: 60_000 })).toEqual({ kind: 'replace-first' });
    expect(onUnhealthy({ ...task, gracePeriodMs: 0, ageMs: 0 })).toEqual({ kind: 'replace-first' });
  });

  it('is replaced first with room for one more task, stopped first without', () => {
    expect(onUnhealthy({ ...task, tasks: 3 })).toEqual({ kind: 'replace-first' });
    expect(onUnhealthy({ ...task, tasks: 4 })).toEqual({ kind: 'stop-first' });
    expect(onUnhealthy({ ...task, desired: 1, tasks: 1, maximumPercent: 100 })).toEqual({
      kind: 'stop-first',
    });
  });

  it('is none of the scheduler business once gone or already being replaced', () => {
    expect(onUnhealthy({ ...task, running: false })).toEqual({ kind: 'none' });
    expect(onUnhealthy({ ...task, replacing: true })).toEqual({ kind: 'none' });
    expect(onUnhealthy({ ...task, replacing: true, ageMs: 0 })).toEqual({ kind: 'none' });
  });
});

describe('a managed stop', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function steps(stopTimeoutMs = 30_000) {
    const events: string[] = [];
    let drained: () => void = () => {};
    let exit: () => void = () => {};
    const exited = new Promise<void>((resolve) => {
      exit = () => {
        events.push('exited');
        resolve();
      };
    });
    return {
      events,
      drain: () => drained(),
      exit: () => exit(),
      steps: {
        deregister: () =>
          new Promise<void>((resolve) => {
            events.push('deregister');
            drained = () => {
              events.push('drained');
              resolve();
            };
          }),
        signal: (signal: NodeJS.Signals) => events.push(signal),
        exited,
        stopTimeoutMs,
      },
    };
  }

  const settle = () => vi.advanceTimersByTimeAsync(0);

  it('sends SIGTERM only once the target has drained, and no SIGKILL to a task that exits', async () => {
    vi.useFakeTimers();
    const s = steps();
    const stopped = managedStop(s.steps);
    await settle();
    expect(s.events).toEqual(['deregister']);
    // However long draining takes, nothing is signalled before it ends.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.events).toEqual(['deregister']);
    s.drain();
    await settle();
    expect(s.events).toEqual(['deregister', 'drained', 'SIGTERM']);
    s.exit();
    await stopped;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.events).toEqual(['deregister', 'drained', 'SIGTERM', 'exited']);
  });

  it('sends SIGKILL once the stop timeout has passed after SIGTERM, not a moment before', async () => {
    vi.useFakeTimers();
    const s = steps(30_000);
    const stopped = managedStop(s.steps);
    await settle();
    s.drain();
    await settle();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(s.events).toEqual(['deregister', 'drained', 'SIGTERM']);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.events).toEqual(['deregister', 'drained', 'SIGTERM', 'SIGKILL']);
    s.exit();
    await stopped;
  });
});
