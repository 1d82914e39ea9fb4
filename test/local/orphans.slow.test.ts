// However its launcher dies, the local stack does not outlive it. `npm start` runs npm, a shell
// and scripts/local.ts, which starts the replicas. SIGKILL (which no handler sees) to npm:
// local.ts notices that npm is gone and stops the stack (launcher-watch.ts). SIGKILL to
// local.ts: each replica sees the pipe it watches close and exits (exit-with-parent.ts).
// Either way no replica, and no local.ts, is left (they go within moments; the wait is bounded
// only against a hang).
// A replica paused with SIGSTOP reads no pipe: the reaper (ecs/reaper.ts) kills it when
// local.ts is SIGKILLed, and a stop of the stack (Ctrl-C or SIGTERM to the process group)
// continues it after SIGTERM, so it leaves at once instead of at the stop timeout (40 s): the
// wait for it is bounded at 30 s, below that stop timeout and far above how long it takes.
import { afterEach, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { request } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { type NpmStart, npmStart, processGone, QUIET_STACK_ARGS } from './helpers.ts';

// Every port picked free (the console's default, 8081, is shared with whatever else runs).
const replicaCount = loadWorkspace().services.reduce((sum, s) => sum + s.minCount, 0);

let running: { run: NpmStart; pids: number[]; group?: boolean } | undefined;

afterEach(async () => {
  // Whatever a failed test left behind, by pid: only processes this file started.
  for (const pid of running?.pids ?? []) {
    if (!processGone(pid)) process.kill(pid, 'SIGKILL');
  }
  if (running?.run.child.exitCode === null && running.group) {
    try {
      process.kill(-(running.run.child.pid as number), 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }
  if (running?.run.child.exitCode === null) running.run.child.kill('SIGKILL');
  running = undefined;
});

async function startStack(): Promise<{ run: NpmStart; launcher: number; replicas: number[] }> {
  const run = npmStart([...QUIET_STACK_ARGS]);
  const ready = await run.waitFor(/Local stack ready in [\d.]+ s \(pid (\d+)\)/, 60_000);
  const launcher = Number(ready[1]);
  const replicas = [...run.output().matchAll(/started: pid (\d+)/g)].map((m) => Number(m[1]));
  running = { run, pids: [launcher, ...replicas] };
  return { run, launcher, replicas };
}

describe('SIGKILL to the launcher', () => {
  it.each(['npm', 'scripts/local.ts'])(
    'to %s leaves no replica alive',
    async (victim) => {
      const { run, launcher, replicas } = await startStack();
      expect(replicas).toHaveLength(replicaCount);
      expect(replicas.filter(processGone)).toEqual([]);
      const pid = victim === 'npm' ? (run.child.pid as number) : launcher;
      const killedAt = performance.now();
      process.kill(pid, 'SIGKILL');
      const watched = [launcher, ...replicas];
      try {
        await waitFor('local.ts and every replica to be gone', () => watched.every(processGone));
      } finally {
        const alive = watched.filter((p) => !processGone(p));
        console.log(
          `SIGKILL to ${victim}: ${alive.length === 0 ? `all ${watched.length} processes gone after ${(performance.now() - killedAt).toFixed(0)} ms` : `still alive: ${alive.join(', ')}`}`,
        );
      }
      await run.exited;
    },
    90_000,
  );
});

/** Below the 40 s stop timeout a paused replica would wait out (the manifests' StopTimeout). */
const STOPPED_WITHIN_MS = 30_000;

describe('a paused replica, and one paused while it is being stopped', () => {
  it.each([
    ['SIGKILL to scripts/local.ts'],
    ['Ctrl-C (SIGINT) to the process group'],
    ['SIGTERM to the process group'],
  ])(
    '%s leaves no replica behind',
    async (ending) => {
      const run = npmStart([...QUIET_STACK_ARGS], {}, { group: true });
      const ready = await run.waitFor(/Local stack ready in [\d.]+ s \(pid (\d+)\)/, 60_000);
      const launcher = Number(ready[1]);
      const started = [...run.output().matchAll(/(\S+)\/(\d+) started: pid (\d+)/g)].map((m) => ({
        service: m[1] as string,
        slot: Number(m[2]),
        pid: Number(m[3]),
      }));
      const replicas = started.map((r) => r.pid);
      running = { run, pids: [launcher, ...replicas], group: true };
      const consoleUrl = (await run.waitFor(/Console\s+(http:\/\/\S+)/, 30_000))[1];
      const [paused, stopping] = started;
      if (paused === undefined || stopping === undefined)
        throw new Error('fewer than two replicas');
      process.kill(paused.pid, 'SIGSTOP');
      // The other is paused, then stopped from the console as ECS stops a task: deregistered,
      // drained, then a SIGTERM it cannot act on while paused.
      process.kill(stopping.pid, 'SIGSTOP');
      const action = `${consoleUrl}/api/replicas/${stopping.service}/${stopping.slot}/stop`;
      const reply = await request(action, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      expect(reply.status).toBe(202);
      await run.waitFor(new RegExp(`${stopping.service}/${stopping.slot} replacing`), 30_000);

      if (ending.startsWith('SIGKILL')) process.kill(launcher, 'SIGKILL');
      else
        process.kill(-(run.child.pid as number), ending.includes('SIGINT') ? 'SIGINT' : 'SIGTERM');
      const watched = [launcher, ...replicas];
      await waitFor(
        'local.ts and every replica to be gone',
        () => watched.every(processGone),
        STOPPED_WITHIN_MS,
      );
      expect(watched.filter((pid) => !processGone(pid))).toEqual([]);
      await run.exited;
    },
    120_000,
  );
});
