// Noticing that whatever started the local stack is gone, so the stack does not run on,
// unseen, after its terminal or its test runner has died. `npm start` runs
// `sh -c "node scripts/local.ts"`: npm, then a shell, then us. SIGKILL to npm leaves the shell
// and this process running, with the shell handed to init: our own parent is still there.
// So we watch our parent and, when npm started us, the shell's parent too. A process that
// loses its parent is given to another (init or a subreaper), so a changed parent pid is the
// sign; it changes when the parent exits, before anyone reaps it. Read from /proc (Linux);
// elsewhere only our own parent is watched (process.ppid).
import { readFileSync } from 'node:fs';

/** How often to look: a read of process.ppid and of one small /proc file. */
const WATCH_INTERVAL_MS = 250;

/** The parent pid of `pid` from /proc/<pid>/stat, or undefined (gone, or no /proc). */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // `pid (command) state ppid ...`: the command may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Calls `onGone` once, with a description, when our parent (or, under npm, npm itself) has
 * exited. Returns a function that stops watching.
 */
export function watchLauncher(onGone: (what: string) => void): () => void {
  const parent = process.ppid;
  // Set by npm for the scripts it runs (npm run-script): then our parent is npm's shell.
  const underNpm = process.env.npm_lifecycle_event !== undefined;
  const npm = underNpm ? parentOf(parent) : undefined;
  const timer = setInterval(() => {
    let gone: string | undefined;
    if (process.ppid !== parent) gone = `its parent process (pid ${parent}) exited`;
    else if (npm !== undefined && parentOf(parent) !== npm) gone = `npm (pid ${npm}) exited`;
    if (gone === undefined) return;
    clearInterval(timer);
    onGone(gone);
  }, WATCH_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
