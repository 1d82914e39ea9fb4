// The stack's side of the reaper (reaper.ts): started with the first replica, told of each
// replica that starts and of each that is gone, and closed last when the stack stops. It does
// not keep this process alive, and when this process ends, however, its pipe closes: that is
// the reaper's signal to kill what is left.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import path from 'node:path';

const REAPER = path.join(import.meta.dirname, 'reaper.ts');

export class ReaperLink {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  /** A replica process started: the reaper kills it if the stack ends before it does. */
  started(pid: number): void {
    this.write(`+${pid}\n`);
  }

  /** A replica process has exited: its pid is no longer the reaper's to kill. */
  gone(pid: number): void {
    if (this.child !== undefined) this.write(`-${pid}\n`);
  }

  /**
   * The stack has stopped every replica: nothing is left for the reaper to do, so it is
   * ended at once (rather than waited for, still starting perhaps, to read its end of input).
   */
  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined) return;
    // Waited for now: its exit is what this process waits on.
    child.ref();
    child.stdin?.destroy();
    child.kill('SIGKILL');
    await this.exited;
  }

  private write(line: string): void {
    this.child ??= this.spawn();
    this.child.stdin?.write(line);
  }

  private spawn(): ChildProcess {
    // Detached: a process group of its own, which a terminal's Ctrl-C to ours does not reach.
    const child = spawn(process.execPath, [REAPER], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    child.on('error', () => {});
    child.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    child.unref();
    (child.stdin as Socket | null)?.unref();
    return child;
  }
}
