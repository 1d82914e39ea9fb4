// How every script runs a child process (scripts/cli/process.ts): the arguments reach it as
// given, whatever the shell would make of them; it reads no stdin; its output and exit code come
// back, never as a throw, and nothing is printed unless asked; a process that outlives its
// timeout gets SIGTERM, then SIGKILL after the grace, and the caller is told it timed out.
// Each child here is a few lines of `node -e` on the project's own Node, ended within a second.
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runProcess, runProcessSync } from '../../scripts/cli/process.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

const node = process.execPath;
/** Long enough never to be reached by a process that ends by itself. */
const NO_TIMEOUT = 30_000;
/**
 * What a process that should time out gets: time for node to start and install its SIGTERM
 * handler before the signal, however busy the machine (node starts in 0.1-0.5 s here with both
 * cores busy: a margin of six or more).
 */
const TIMEOUT = 3_000;

/** A `node -e` that prints its arguments as JSON. */
const PRINT_ARGS = 'process.stdout.write(JSON.stringify(process.argv.slice(1)))';
/** A `node -e` that reads stdin to its end and says how many bytes it got. */
const READ_STDIN =
  'let n = 0; process.stdin.on("data", (d) => { n += d.length; }).on("end", () => process.stdout.write("eof " + n))';
/** Arguments a shell would split, expand or run, were they not quoted. */
const AWKWARD = ['two words', `it's "$HOME" \`pwd\``, '', '; echo injected', '*', '$(id)'];

/** What the test process writes to its own stdout and stderr while `run` runs. */
async function printed<T>(run: () => Promise<T> | T): Promise<{ result: T; out: string[] }> {
  const out: string[] = [];
  const capture = (chunk: unknown) => {
    out.push(String(chunk));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    out.push(`stderr:${String(chunk)}`);
    return true;
  });
  try {
    return { result: await run(), out };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runProcess: a child process with a timeout', () => {
  it('gives back its stdout, stderr and exit code, without throwing on the code', async () => {
    const r = await runProcess(
      node,
      ['-e', 'process.stdout.write("out"); process.stderr.write("err"); process.exitCode = 3'],
      { timeoutMs: NO_TIMEOUT },
    );
    expect(r).toEqual({ code: 3, stdout: 'out', stderr: 'err', timedOut: false });
  });

  it('passes each argument as given: no splitting, expansion or command in it', async () => {
    const r = await runProcess(node, ['-e', PRINT_ARGS, ...AWKWARD], { timeoutMs: NO_TIMEOUT });
    expect(JSON.parse(r.stdout)).toEqual(AWKWARD);
    expect(r.code).toBe(0);
  });

  it('closes its stdin, so a read (a prompt) ends instead of waiting', async () => {
    const r = await runProcess(node, ['-e', READ_STDIN], { timeoutMs: NO_TIMEOUT });
    expect(r).toEqual({ code: 0, stdout: 'eof 0', stderr: '', timedOut: false });
  });

  it('runs in the folder and with the environment it is given, and only that environment', async () => {
    const cwd = path.join(repoRoot, 'test');
    const r = await runProcess(
      node,
      [
        '-e',
        'process.stdout.write(JSON.stringify([process.cwd(), process.env.ONLY, process.env.HOME]))',
      ],
      { timeoutMs: NO_TIMEOUT, cwd, env: { ONLY: 'this' } },
    );
    expect(JSON.parse(r.stdout)).toEqual([cwd, 'this', null]);
  });

  it("runs in this process's folder and environment by default", async () => {
    vi.stubEnv('PROCEVENTS_MARK', 'inherited');
    const r = await runProcess(
      node,
      ['-e', 'process.stdout.write(JSON.stringify([process.cwd(), process.env.PROCEVENTS_MARK]))'],
      { timeoutMs: NO_TIMEOUT },
    );
    expect(JSON.parse(r.stdout)).toEqual([process.cwd(), 'inherited']);
  });

  it('prints nothing of its output unless asked', async () => {
    const { result, out } = await printed(() =>
      runProcess(node, ['-e', 'process.stdout.write("out"); process.stderr.write("err")'], {
        timeoutMs: NO_TIMEOUT,
      }),
    );
    expect(result).toMatchObject({ stdout: 'out', stderr: 'err' });
    expect(out).toEqual([]);
  });

  it('with stream, copies its stdout and stderr to our stderr, and still captures them', async () => {
    const { result, out } = await printed(() =>
      runProcess(
        node,
        ['-e', 'process.stdout.write("out"); setTimeout(() => process.stderr.write("err"), 50)'],
        { timeoutMs: NO_TIMEOUT, stream: true },
      ),
    );
    expect(result).toMatchObject({ code: 0, stdout: 'out', stderr: 'err', timedOut: false });
    expect(out).toEqual(['stderr:out', 'stderr:err']);
  });

  it('leaves no timer behind once it has ended, so a script exits when its work is done', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const r = await runProcess(node, ['-e', ''], { timeoutMs: NO_TIMEOUT });
      expect(r.code).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends SIGTERM at the timeout, and says it timed out', async () => {
    const r = await runProcess(
      node,
      [
        '-e',
        'process.on("SIGTERM", () => { process.stdout.write("TERM"); process.exit(0); }); setInterval(() => {}, 1000)',
      ],
      // A grace long enough that only SIGTERM can have ended it in time.
      { timeoutMs: TIMEOUT, killGraceMs: NO_TIMEOUT },
    );
    expect(r).toEqual({ code: 0, stdout: 'TERM', stderr: '', timedOut: true });
  });

  it('kills a process that ignores SIGTERM once the grace is over (no exit code: 128)', async () => {
    const r = await runProcess(
      node,
      [
        '-e',
        'process.on("SIGTERM", () => process.stdout.write("ignored")); setInterval(() => {}, 1000)',
      ],
      { timeoutMs: TIMEOUT, killGraceMs: 200 },
    );
    expect(r).toEqual({ code: 128, stdout: 'ignored', stderr: '', timedOut: true });
  });
});

describe('runProcessSync: a child process run to completion', () => {
  it('gives back its stdout, stderr and exit code, without throwing on the code', () => {
    const r = runProcessSync(node, [
      '-e',
      'process.stdout.write("out"); process.stderr.write("err"); process.exitCode = 3',
    ]);
    expect(r).toEqual({ code: 3, stdout: 'out', stderr: 'err' });
  });

  it('passes each argument as given', () => {
    const r = runProcessSync(node, ['-e', PRINT_ARGS, ...AWKWARD]);
    expect(JSON.parse(r.stdout)).toEqual(AWKWARD);
  });

  it('closes its stdin', () => {
    expect(runProcessSync(node, ['-e', READ_STDIN])).toEqual({
      code: 0,
      stdout: 'eof 0',
      stderr: '',
    });
  });

  it('takes a report far over spawnSync’s 1 MiB default whole', () => {
    const size = 3 * 1024 * 1024;
    const r = runProcessSync(node, ['-e', `process.stdout.write("x".repeat(${size}))`]);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(size);
  });

  it('prints nothing of its output', async () => {
    const { result, out } = await printed(() =>
      runProcessSync(node, ['-e', 'process.stdout.write("out"); process.stderr.write("err")']),
    );
    expect(result).toEqual({ code: 0, stdout: 'out', stderr: 'err' });
    expect(out).toEqual([]);
  });
});
