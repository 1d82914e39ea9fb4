// The guards that keep the local stack from outliving whoever started it, in this process.
// launcher-watch.ts: `npm start` runs npm, a shell, then scripts/local.ts; the stack stops when
// npm or its shell is gone (a changed parent pid), only under npm, and never on a /proc read that
// says nothing (EMFILE, EACCES, a garbled line). On fake timers: no wall-clock wait.
// reaper-link.ts: the stack's side of the reaper (reaper.ts, a process of its own, for replicas
// paused with SIGSTOP that read no pipe). Its process is a fake here (node:child_process's spawn
// is mocked, calling through by default), but for the one test that needs the operating system
// to say what keeps this process alive: there a tiny `node -e` stands in for reaper.ts, started
// with the module's own options, and is killed by the test however it ends. Test files share a
// worker (isolate: false): reaper-link.ts is loaded afresh in each test, so that it sees the mock.
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parentOf, type ReadText, watchLauncher } from '../../scripts/local/ecs/launcher-watch.ts';
import type { ReaperLink } from '../../scripts/local/ecs/reaper-link.ts';

vi.mock('node:child_process', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:child_process')>();
  return { ...actual, spawn: vi.fn(actual.spawn) };
});

const SHELL = 4242;
const NPM = 4200;
/** /proc/<pid>/stat's first fields, with a command name that holds spaces and parentheses. */
const stat = (pid: number, ppid: number) => `${pid} (sh -c (x) ) S ${ppid} ${pid} ${pid} 0 -1`;
const failing = (code: string) => () => {
  throw Object.assign(new Error(`${code}: read failed`), { code });
};

/** How many of the resources keeping this process alive are of each kind. */
function aliveCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

describe('parentOf', () => {
  it('reads /proc/<pid>/stat of the pid asked about', () => {
    const files: string[] = [];
    parentOf(SHELL, (file) => {
      files.push(file);
      return stat(SHELL, NPM);
    });
    expect(files).toEqual([`/proc/${SHELL}/stat`]);
  });

  it("reads this process's real parent from /proc, as latin1 text", () => {
    expect(parentOf(process.pid)).toBe(process.ppid);
  });

  it('takes the fields after the last parenthesis, whatever the command name holds', () => {
    expect(parentOf(SHELL, () => `${SHELL} (a) S 1 (b) R 7) S ${NPM} 1 1`)).toBe(NPM);
    expect(parentOf(SHELL, () => `${SHELL} (init) S 1 1 1 0 -1`)).toBe(1);
  });

  it('says unknown for a line it cannot read a parent pid from', () => {
    expect(parentOf(SHELL, () => `${SHELL} (sh) S`)).toBe('unknown');
    expect(parentOf(SHELL, () => `${SHELL} (sh) S 42.5 1`)).toBe('unknown');
    expect(parentOf(SHELL, () => 'garbage')).toBe('unknown');
  });

  it('says gone only when the process does not exist', () => {
    expect(parentOf(SHELL, failing('ENOENT'))).toBe('gone');
    expect(parentOf(SHELL, failing('ESRCH'))).toBe('gone');
    expect(parentOf(SHELL, failing('EMFILE'))).toBe('unknown');
    expect(parentOf(SHELL, failing('EACCES'))).toBe('unknown');
    expect(parentOf(SHELL, () => `${SHELL} (sh) S ${NPM}`)).toBe(NPM);
  });
});

describe('watchLauncher', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /**
   * A watch under npm whose parent pid is `parent()` and whose reads of the shell's stat answer
   * `answer()` after the first look (npm's pid, NPM).
   */
  function watch(
    answer: () => string,
    parent: () => number = () => SHELL,
    first: ReadText = () => stat(SHELL, NPM),
  ) {
    vi.useFakeTimers();
    const gone: string[] = [];
    const files: string[] = [];
    let looks = 0;
    const stop = watchLauncher((what) => gone.push(what), {
      underNpm: true,
      ppid: parent,
      read: (file) => {
        files.push(file);
        looks += 1;
        return looks === 1 ? first(file) : answer();
      },
    });
    return { gone, files, stop };
  }

  it("says which parent exited when this process's own parent changes, and only once", () => {
    let parent = SHELL;
    const { gone, stop } = watch(
      () => stat(SHELL, NPM),
      () => parent,
    );
    vi.advanceTimersByTime(2_000);
    expect(gone).toEqual([]);
    parent = 1;
    vi.advanceTimersByTime(1_000);
    expect(gone).toEqual([`its parent process (pid ${SHELL}) exited`]);
    vi.advanceTimersByTime(10_000);
    expect(gone).toHaveLength(1);
    stop();
  });

  it("says npm exited when the shell's parent changes, and only once", () => {
    let npm = NPM;
    const { gone, files, stop } = watch(() => stat(SHELL, npm));
    vi.advanceTimersByTime(2_000);
    expect(gone).toEqual([]);
    expect(new Set(files)).toEqual(new Set([`/proc/${SHELL}/stat`]));
    npm = 1;
    vi.advanceTimersByTime(1_000);
    expect(gone).toEqual([`npm (pid ${NPM}) exited`]);
    vi.advanceTimersByTime(10_000);
    expect(gone).toHaveLength(1);
    stop();
  });

  it('takes no garbled or unreadable look at the shell as a sign', () => {
    let answer: () => string = () => 'garbage';
    const { gone, stop } = watch(() => answer());
    vi.advanceTimersByTime(5_000);
    answer = failing('EACCES');
    vi.advanceTimersByTime(5_000);
    expect(gone).toEqual([]);
    stop();
  });

  it("watches only its own parent when npm's pid could not be read at the start", () => {
    let parent = SHELL;
    const { gone, stop } = watch(
      () => stat(SHELL, 1),
      () => parent,
      failing('EMFILE'),
    );
    vi.advanceTimersByTime(5_000);
    expect(gone).toEqual([]);
    parent = 1;
    vi.advanceTimersByTime(1_000);
    expect(gone).toEqual([`its parent process (pid ${SHELL}) exited`]);
    stop();
  });

  it('says nothing once stopped', () => {
    let parent = SHELL;
    const { gone, stop } = watch(
      () => stat(SHELL, 1),
      () => parent,
    );
    stop();
    parent = 1;
    vi.advanceTimersByTime(5_000);
    expect(gone).toEqual([]);
  });

  it('does nothing when not run by npm: `nohup node scripts/local.ts &` outlives its shell', () => {
    vi.useFakeTimers();
    const gone: string[] = [];
    let parent = SHELL;
    const stop = watchLauncher((what) => gone.push(what), {
      underNpm: false,
      ppid: () => parent,
      read: () => stat(SHELL, NPM),
    });
    parent = 1;
    vi.advanceTimersByTime(5_000);
    expect(gone).toEqual([]);
    stop();
  });

  it("tells npm by the npm_lifecycle_event it sets, and watches this process's parent", () => {
    vi.useFakeTimers();
    const files: string[] = [];
    const read = (file: string) => {
      files.push(file);
      return stat(process.ppid, NPM);
    };
    vi.stubEnv('npm_lifecycle_event', undefined);
    watchLauncher(() => {}, { read })();
    expect(files).toEqual([]);
    vi.stubEnv('npm_lifecycle_event', 'start');
    const stop = watchLauncher(() => {}, { read });
    expect(files).toEqual([`/proc/${process.ppid}/stat`]);
    stop();
  });

  it('does not keep the process alive (a real timer, unreferenced)', () => {
    const before = aliveCounts().Timeout ?? 0;
    const stop = watchLauncher(() => {}, {
      underNpm: true,
      ppid: () => SHELL,
      read: () => stat(SHELL, NPM),
    });
    expect(aliveCounts().Timeout ?? 0).toBe(before);
    stop();
  });
});

/** The reaper's stdin: the lines written to it, whether it was destroyed. */
class FakeStdin extends Writable {
  text = '';
  referenced = true;
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  unref(): this {
    this.referenced = false;
    return this;
  }
}

/** A reaper process as spawn returns it; `stdin` undefined and `pid` undefined as on EMFILE. */
class FakeReaper extends EventEmitter {
  pid: number | undefined = 9001;
  stdin: FakeStdin | undefined = new FakeStdin();
  signals: (NodeJS.Signals | number | undefined)[] = [];
  referenced = true;
  kill(signal?: NodeJS.Signals | number): boolean {
    this.signals.push(signal);
    return true;
  }
  ref(): void {
    this.referenced = true;
  }
  unref(): void {
    this.referenced = false;
  }
}

describe('ReaperLink', () => {
  const spawned = vi.mocked(spawn);
  afterEach(() => {
    spawned.mockClear();
  });

  function fakeReaper(): FakeReaper {
    const reaper = new FakeReaper();
    spawned.mockImplementationOnce(() => reaper as unknown as ChildProcess);
    return reaper;
  }

  /** A link of reaper-link.ts loaded afresh, on the mocked spawn. */
  async function newLink(): Promise<ReaperLink> {
    vi.resetModules();
    const { ReaperLink } = await import('../../scripts/local/ecs/reaper-link.ts');
    return new ReaperLink();
  }

  /** Lets pending promise callbacks run. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('ends the reaper at once when closed, and resolves once it has exited, not before', async () => {
    const reaper = fakeReaper();
    const link = await newLink();
    link.started(101);
    let closed = false;
    const closing = link.close().then(() => {
      closed = true;
    });
    expect(reaper.stdin?.destroyed).toBe(true);
    expect(reaper.signals).toEqual(['SIGKILL']);
    // Waited for: its exit is what this process waits on.
    expect(reaper.referenced).toBe(true);
    await settle();
    expect(closed).toBe(false);
    reaper.emit('close', null, 'SIGKILL');
    await settle();
    expect(closed).toBe(true);
    await closing;
    // Closed: a replica gone afterwards is nobody's to tell, and a second close does nothing.
    link.gone(101);
    await link.close();
    expect(reaper.signals).toEqual(['SIGKILL']);
    expect(spawned).toHaveBeenCalledTimes(1);
  });

  it('starts no reaper before a replica starts, nor for a replica gone before then', async () => {
    const link = await newLink();
    link.gone(101);
    await link.close();
    expect(spawned).not.toHaveBeenCalled();
  });

  it('tells one reaper, a line each, of every replica started and gone', async () => {
    const reaper = fakeReaper();
    const link = await newLink();
    link.started(101);
    link.started(102);
    link.gone(101);
    expect(spawned).toHaveBeenCalledTimes(1);
    expect(reaper.stdin?.text).toBe('+101\n+102\n-101\n');
    const closing = link.close();
    reaper.emit('close', null, 'SIGKILL');
    await closing;
  });

  it('runs reaper.ts with this node, in a process group of its own, on a pipe it reads', async () => {
    const reaper = fakeReaper();
    const link = await newLink();
    link.started(101);
    const [command, args, options] = spawned.mock.calls[0] as unknown as [
      string,
      string[],
      Record<string, unknown>,
    ];
    expect(command).toBe(process.execPath);
    expect(args).toHaveLength(1);
    const script = args[0] as string;
    expect(path.isAbsolute(script)).toBe(true);
    expect(path.basename(script)).toBe('reaper.ts');
    expect(existsSync(script)).toBe(true);
    expect(options).toEqual({ stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    const closing = link.close();
    reaper.emit('close', null, 'SIGKILL');
    await closing;
  });

  it('neither keeps this process alive nor throws when the reaper could not start (EMFILE)', async () => {
    const reaper = fakeReaper();
    reaper.stdin = undefined;
    reaper.pid = undefined;
    const link = await newLink();
    link.started(101);
    link.gone(101);
    expect(reaper.referenced).toBe(false);
    const error = Object.assign(new Error('spawn EMFILE'), { code: 'EMFILE' });
    expect(() => reaper.emit('error', error)).not.toThrow();
    reaper.emit('close', -24, null);
    await link.close();
    expect(reaper.signals).toEqual(['SIGKILL']);
  });

  it("lets a write to a dead reaper's pipe fail quietly (EPIPE)", async () => {
    const reaper = fakeReaper();
    const link = await newLink();
    link.started(101);
    expect(reaper.stdin?.referenced).toBe(false);
    const error = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    expect(() => reaper.stdin?.emit('error', error)).not.toThrow();
    const closing = link.close();
    reaper.emit('close', null, 'SIGKILL');
    await closing;
  });

  it('keeps nothing of this process alive, its reaper in a group of its own, killed by close', async () => {
    const { spawn: realSpawn } =
      await vi.importActual<typeof import('node:child_process')>('node:child_process');
    let child: ChildProcess | undefined;
    // reaper.ts's stand-in: reads its stdin until it ends, started with the module's options.
    spawned.mockImplementationOnce(((_command: string, _args: string[], options: object) => {
      child = realSpawn(process.execPath, ['-e', 'process.stdin.resume()'], options);
      return child;
    }) as unknown as typeof spawn);
    const before = aliveCounts();
    const link = await newLink();
    try {
      link.started(101);
      expect(child?.pid).toBeTypeOf('number');
      const pid = child?.pid as number;
      const after = aliveCounts();
      expect(after.ProcessWrap ?? 0).toBe(before.ProcessWrap ?? 0);
      expect(after.PipeWrap ?? 0).toBe(before.PipeWrap ?? 0);
      // Its own process group (`pid (comm) state ppid pgrp ...`): a Ctrl-C to ours misses it.
      const fields = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const pgrp = Number(fields.slice(fields.lastIndexOf(')') + 2).split(' ')[2]);
      expect(pgrp).toBe(pid);
      await link.close();
      expect(child?.signalCode).toBe('SIGKILL');
    } finally {
      if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
