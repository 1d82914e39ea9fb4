// Every child process the scripts start goes through zx's `$`: arguments quoted for the shell,
// stdin closed (a prompt fails instead of waiting), output captured, never throwing on an exit
// code, quiet unless asked to stream. One runner for waits with a timeout, one synchronous.
import childProcess from 'node:child_process';
import { $, type ProcessOutput } from 'zx';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Exit code when the command is not found (the shell's). */
export const NOT_FOUND = 127;

/**
 * The longest delay a Node timer keeps: a longer one "will be set to 1" (Node docs, timers,
 * setTimeout), so `--timeout 40000` (minutes) would stop a command at once. Bounds are capped here.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How long a process has between SIGTERM at its timeout and SIGKILL. */
const KILL_GRACE_MS = 5_000;

/**
 * Runs `bin args`: output captured (and copied to our stderr with `stream`); `timedOut` when
 * `timeoutMs` passed first and the process was sent SIGTERM (SIGKILL 5 s later).
 */
export async function runProcess(
  bin: string,
  args: string[],
  options: {
    timeoutMs: number;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    stream?: boolean;
    /** After SIGTERM at the timeout, how long before SIGKILL (tests shorten it). */
    killGraceMs?: number;
  },
): Promise<RunResult & { timedOut: boolean }> {
  const child = $({
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    quiet: true,
    nothrow: true,
  })`${bin} ${args}`;
  if (options.stream) {
    child.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  }
  // Our own timers, so whether the timeout came first is known, not inferred from how the
  // process ended (zx kills the whole tree: a shell whose child died may still exit with a code).
  let timedOut = false;
  const termMs = Math.min(options.timeoutMs, MAX_TIMER_MS);
  const term = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM').catch(() => {}); // it may have just exited
  }, termMs);
  // A process that ignores SIGTERM is killed outright, so no wait outlives its bound by more.
  const kill = setTimeout(
    () => child.kill('SIGKILL').catch(() => {}),
    Math.min(termMs + (options.killGraceMs ?? KILL_GRACE_MS), MAX_TIMER_MS),
  );
  const out: ProcessOutput = await child.finally(() => {
    clearTimeout(term);
    clearTimeout(kill);
  });
  return { code: out.exitCode ?? 128, stdout: out.stdout, stderr: out.stderr, timedOut };
}

// Reports (cfn-guard's JSON, git ls-files over the tree) outgrow spawnSync's 1 MiB default.
const MAX_BUFFER = 64 * 1024 * 1024;

/** Runs `bin args` to completion, for the checks that are synchronous. */
export function runProcessSync(bin: string, args: string[]): RunResult {
  const out = $({
    sync: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    quiet: true,
    nothrow: true,
    spawnSync: ((cmd: string, argv: string[], opts: childProcess.SpawnSyncOptions) =>
      childProcess.spawnSync(cmd, argv, {
        ...opts,
        maxBuffer: MAX_BUFFER,
      })) as typeof childProcess.spawnSync,
  })`${bin} ${args}`;
  return { code: out.exitCode ?? 128, stdout: out.stdout, stderr: out.stderr };
}
