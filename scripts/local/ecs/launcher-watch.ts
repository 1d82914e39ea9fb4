// Noticing that `npm start`'s npm is gone, so the stack does not run on, unseen, after its
// terminal or its test runner has killed npm. npm runs `sh -c "node scripts/local.ts"`: npm,
// then a shell, then us. SIGKILL to npm leaves the shell and this process running, with the
// shell handed to init: our own parent is still there. So we watch our parent (the shell)
// and the shell's parent (npm). A process that loses its parent is given to another (init or
// a subreaper), so a changed parent pid is the sign; it changes when the parent exits, before
// anyone reaps it. Read from /proc (Linux); elsewhere only our own parent (process.ppid).
// Only under npm: `nohup node scripts/local.ts &` must outlive the shell that started it.
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
 * Under npm, calls `onGone` once, with a description, when npm or its shell has exited.
 * Returns a function that stops watching.
 */
export function watchLauncher(onGone: (what: string) => void): () => void {
  // Set by npm for the scripts it runs (npm run-script): then our parent is npm's shell.
  if (process.env.npm_lifecycle_event === undefined) return () => {};
  const parent = process.ppid;
  const npm = parentOf(parent);
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
