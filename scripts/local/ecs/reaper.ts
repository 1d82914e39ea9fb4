// Run by the supervisor as a process of its own, so that no replica outlives the stack in any
// state. A running replica leaves by itself when the stack's process ends (it reads its end
// of a pipe: exit-with-parent.ts); a replica stopped with SIGSTOP (the console's pause, or
// anyone's `kill -STOP`) reads nothing until it is continued, and being detached it gets no
// SIGHUP either. This reaper is not stopped with it: it reads `+<pid>` and `-<pid>` lines on
// stdin (replicas started, replicas gone), and when stdin ends (the stack's process has
// exited, however it ended, SIGKILL included) it sends SIGKILL to each replica still listed,
// and to its process group: SIGKILL is acted on by a stopped process too. Node builtins only.
import { createInterface } from 'node:readline';

const alive = new Set<number>();

function kill(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // Gone already, or not a group leader: the next form, or nothing left to do.
    }
  }
}

createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })
  .on('line', (line) => {
    const pid = Number(line.slice(1));
    if (!Number.isSafeInteger(pid) || pid <= 1) return;
    if (line.startsWith('+')) alive.add(pid);
    else if (line.startsWith('-')) alive.delete(pid);
  })
  .on('close', () => {
    for (const pid of alive) kill(pid);
    process.exit(0);
  });

// Signals for the stack's terminal or its process group are not for the reaper: it leaves when
// the stack has, and not before (it is in a process group of its own anyway).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
