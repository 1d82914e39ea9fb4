// Noticing that `npm start`'s npm is gone, so the stack does not run on, unseen, after its
// terminal or its test runner has killed npm. npm runs `sh -c "node scripts/local.ts"`: npm,
// then a shell, then us. SIGKILL to npm leaves the shell and this process running, with the
// shell handed to init: our own parent is still there. So we watch our parent (the shell)
// and the shell's parent (npm). A process that loses its parent is given to another (init or
// a subreaper), so a changed parent pid is the sign; it changes when the parent exits, before
// anyone reaps it. Read from /proc (Linux); elsewhere only our own parent (process.ppid).
// Only under npm: `nohup node scripts/local.ts &` must outlive the shell that started it.
//
// Only a read that says the process does not exist (ENOENT, ESRCH) means it is gone. Any
// other failure (EMFILE when a client has exhausted our file descriptors, EACCES) says
// nothing about npm: that look is skipped, and the next one tries again.
import { readFileSync } from 'node:fs';

/** How often to look: a read of process.ppid and of one small /proc file. */
const WATCH_INTERVAL_MS = 250;

/** A process's parent pid; `gone` when it does not exist; `unknown` when it could not be read. */
export type Parent = number | 'gone' | 'unknown';

/** Reads a file as latin1 text (injectable: tests make the read fail as the system can). */
export type ReadText = (file: string) => string;
const readText: ReadText = (file) => readFileSync(file, 'latin1');

/** The parent pid of `pid` from /proc/<pid>/stat. */
export function parentOf(pid: number, read: ReadText = readText): Parent {
  let stat: string;
  try {
    stat = read(`/proc/${pid}/stat`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ESRCH' ? 'gone' : 'unknown';
  }
  // `pid (command) state ppid ...`: the command may hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : 'unknown';
}

export interface LauncherWatchOptions {
  /** Whether npm runs us (npm sets npm_lifecycle_event for the scripts it runs). */
  underNpm?: boolean;
  /** Our parent's pid now (process.ppid). */
  ppid?: () => number;
  read?: ReadText;
}

/**
 * Under npm, calls `onGone` once, with a description, when npm or its shell has exited.
 * Returns a function that stops watching.
 */
export function watchLauncher(
  onGone: (what: string) => void,
  options: LauncherWatchOptions = {},
): () => void {
  if (!(options.underNpm ?? process.env.npm_lifecycle_event !== undefined)) return () => {};
  const ppid = options.ppid ?? (() => process.ppid);
  const read = options.read ?? readText;
  const parent = ppid();
  // Not a number (no /proc, or unreadable now): only our own parent is watched.
  const npm = parentOf(parent, read);
  const timer = setInterval(() => {
    let gone: string | undefined;
    if (ppid() !== parent) gone = `its parent process (pid ${parent}) exited`;
    else if (typeof npm === 'number') {
      const now = parentOf(parent, read);
      if (now !== 'unknown' && now !== npm) gone = `npm (pid ${npm}) exited`;
    }
    if (gone === undefined) return;
    clearInterval(timer);
    onGone(gone);
  }, WATCH_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
