// However its launcher dies, the local stack does not outlive it. `npm start` runs npm, a shell
// and scripts/local.ts, which starts the replicas. SIGKILL (which no handler sees) to npm:
// local.ts notices that npm is gone and stops the stack (launcher-watch.ts). SIGKILL to
// local.ts: each replica sees the pipe it watches close and exits (exit-with-parent.ts).
// Either way no replica, and no local.ts, is alive 2 s later.
import { afterEach, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { waitFor } from '../helpers/wait.ts';
import { type NpmStart, npmStart, processGone } from './helpers.ts';

const BOUND_MS = 2_000;
const ARGS = ['--port', '0', '--health-check-scale', '0.1', '--quiet', '--no-access-log'];
const replicaCount = loadWorkspace().services.reduce((sum, s) => sum + s.minCount, 0);

let running: { run: NpmStart; pids: number[] } | undefined;

afterEach(async () => {
  // Whatever a failed test left behind, by pid: only processes this file started.
  for (const pid of running?.pids ?? []) {
    if (!processGone(pid)) process.kill(pid, 'SIGKILL');
  }
  if (running?.run.child.exitCode === null) running.run.child.kill('SIGKILL');
  running = undefined;
});

async function startStack(): Promise<{ run: NpmStart; launcher: number; replicas: number[] }> {
  const run = npmStart(ARGS);
  const ready = await run.waitFor(/Local stack ready in [\d.]+ s \(pid (\d+)\)/, 30_000);
  const launcher = Number(ready[1]);
  const replicas = [...run.output().matchAll(/started: pid (\d+)/g)].map((m) => Number(m[1]));
  running = { run, pids: [launcher, ...replicas] };
  return { run, launcher, replicas };
}

describe('SIGKILL to the launcher', () => {
  it.each(['npm', 'scripts/local.ts'])(
    'to %s leaves no replica alive 2 s later',
    async (victim) => {
      const { run, launcher, replicas } = await startStack();
      expect(replicas).toHaveLength(replicaCount);
      expect(replicas.filter(processGone)).toEqual([]);
      const pid = victim === 'npm' ? (run.child.pid as number) : launcher;
      const killedAt = performance.now();
      process.kill(pid, 'SIGKILL');
      const watched = [launcher, ...replicas];
      try {
        await waitFor(
          'local.ts and every replica to be gone',
          () => watched.every(processGone),
          BOUND_MS,
        );
      } finally {
        const alive = watched.filter((p) => !processGone(p));
        console.log(
          `SIGKILL to ${victim}: ${alive.length === 0 ? `all ${watched.length} processes gone after ${(performance.now() - killedAt).toFixed(0)} ms` : `still alive after ${BOUND_MS} ms: ${alive.join(', ')}`}`,
        );
      }
      await run.exited;
    },
    45_000,
  );
});
