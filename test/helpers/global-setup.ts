// Vitest's global setup (vitest.config.ts): a test run leaves no process and no temporary file
// behind, passing or failing. Before any test file runs, the run gets a temporary directory of
// its own (TMPDIR, which os.tmpdir() reads, so every mkdtemp of a test lands in it) and a marker
// in the environment, which every process a test starts inherits. After the last file, anything
// still there is a leak: each process carrying the marker is listed and killed, the directory's
// contents are listed and removed, and the run fails naming them, so the test that leaked is
// found and fixed (it must clean up in afterAll/finally, on failure and timeout too).
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const RUN_MARKER = 'COPILOT_HTTP_API_TEST_RUN';
/** How long a process may take to finish exiting after the last test, before it is a leak. */
const EXIT_GRACE_MS = 5_000;

interface Leftover {
  pid: number;
  ppid: number;
  state: string;
  command: string;
}

/** Live processes (not zombies) whose environment carries `RUN_MARKER=<run>`. */
function markedProcesses(run: string): Leftover[] {
  const wanted = `${RUN_MARKER}=${run}`;
  const found: Leftover[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      if (!environ.includes(wanted)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z' || state === 'X') continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      // Vitest's own workers inherit the marker too; they end with the run.
      if (command.includes('node_modules/vitest/') || command === 'vitest-watchdog') continue;
      found.push({ pid, ppid: Number(ppid), state: state ?? '?', command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

async function settledLeftovers(run: string): Promise<Leftover[]> {
  const until = Date.now() + EXIT_GRACE_MS;
  let left = markedProcesses(run);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = markedProcesses(run);
  }
  return left;
}

function kill(pid: number): void {
  for (const signal of ['SIGCONT', 'SIGKILL'] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

export async function setup(): Promise<() => Promise<void>> {
  // V8's code cache is meant to outlive a run (scripts/local/ecs/compile-cache.ts): kept where
  // `npm start` keeps it, outside the run's directory.
  process.env.NODE_COMPILE_CACHE ??= path.join(os.tmpdir(), 'copilot-http-api-compile-cache');
  const run = await mkdtemp(path.join(os.tmpdir(), 'copilot-http-api-test-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = run;
  process.env[RUN_MARKER] = run;
  return async () => {
    const problems: string[] = [];
    const processes = await settledLeftovers(run);
    for (const p of processes) kill(p.pid);
    if (processes.length > 0) {
      problems.push(
        `${processes.length} processes started by the tests were still running (now killed):`,
        ...processes.map(
          (p) => `  pid ${p.pid} (parent ${p.ppid}, state ${p.state}): ${p.command}`,
        ),
      );
    }
    const files = readdirSync(run);
    rmSync(run, { recursive: true, force: true });
    if (files.length > 0) {
      problems.push(
        `the tests left ${files.length} entries in their temporary directory (now removed):`,
        ...files.map((name) => `  ${name}`),
      );
    }
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (problems.length > 0) {
      throw new Error(`a test run must leave nothing behind:\n${problems.join('\n')}`);
    }
  };
}
