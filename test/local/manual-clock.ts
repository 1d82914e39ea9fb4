// A clock whose timers fire only when the test advances it: deadlines and delays tested by the
// order of events, never by the wall clock (the target group's and the scheduler's Clock).
import type { Clock } from '../../scripts/local/alb/target-group.ts';

/** Timers that fire only when the test advances time. */
export class ManualClock implements Clock {
  now = 0;
  private timers: { at: number; run: () => void; id: number }[] = [];
  private nextId = 0;

  setTimeout(run: () => void, ms: number): unknown {
    const timer = { at: this.now + ms, run, id: this.nextId++ };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(timer: unknown): void {
    this.timers = this.timers.filter((t) => t !== timer);
  }

  /** How far off each pending timer is (ms), soonest first. */
  pending(): number[] {
    return this.timers.map((t) => t.at - this.now).sort((a, b) => a - b);
  }

  /** Runs every timer due within `ms`, in order, letting each check's answer land. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = due.at;
      due.run();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.now = end;
  }
}
