// The launcher watch of `npm start` (scripts/local/ecs/launcher-watch.ts): it stops the stack
// when npm or its shell is gone, and only then. A /proc read that fails for another reason
// (EMFILE: a client has exhausted the file descriptors) says nothing about npm, and must not
// stop the stack. On a clock of its own (fake timers): no wall-clock wait.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parentOf, watchLauncher } from '../../scripts/local/ecs/launcher-watch.ts';

const SHELL = 4242;
const NPM = 4200;
const stat = (pid: number, ppid: number) => `${pid} (sh -c (x)) S ${ppid} ${pid} ${pid} 0 -1`;
const failing = (code: string) => () => {
  throw Object.assign(new Error(`${code}: read failed`), { code });
};

describe('parentOf', () => {
  it('reads the parent pid, whatever the command name holds', () => {
    expect(parentOf(SHELL, () => stat(SHELL, NPM))).toBe(NPM);
  });

  it('tells a process that is gone from one that could not be read', () => {
    expect(parentOf(SHELL, failing('ENOENT'))).toBe('gone');
    expect(parentOf(SHELL, failing('ESRCH'))).toBe('gone');
    expect(parentOf(SHELL, failing('EMFILE'))).toBe('unknown');
    expect(parentOf(SHELL, failing('EACCES'))).toBe('unknown');
  });
});

describe('watchLauncher', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A watch whose reads of the shell's stat answer what `answer` says, look after look. */
  function watch(answer: () => string) {
    const gone: string[] = [];
    let first = true;
    const stop = watchLauncher((what) => gone.push(what), {
      underNpm: true,
      ppid: () => SHELL,
      read: () => {
        if (first) {
          first = false;
          return stat(SHELL, NPM);
        }
        return answer();
      },
    });
    return { gone, stop };
  }

  it('goes on through reads that fail with EMFILE, then notices npm gone', () => {
    let read: () => string = failing('EMFILE');
    const { gone, stop } = watch(() => read());
    vi.advanceTimersByTime(10_000);
    expect(gone).toEqual([]);
    // npm exits: the shell is handed to init.
    read = () => stat(SHELL, 1);
    vi.advanceTimersByTime(1_000);
    expect(gone).toEqual([`npm (pid ${NPM}) exited`]);
    stop();
  });

  it('notices the shell itself gone', () => {
    const { gone, stop } = watch(failing('ENOENT'));
    vi.advanceTimersByTime(1_000);
    expect(gone).toEqual([`npm (pid ${NPM}) exited`]);
    stop();
  });

  it('says nothing while npm is there', () => {
    const { gone, stop } = watch(() => stat(SHELL, NPM));
    vi.advanceTimersByTime(10_000);
    expect(gone).toEqual([]);
    stop();
  });
});
