// Whole servers counted by valgrind's callgrind (`npx node bench/instructions.ts --servers`): a row's
// bundle, run as the bench runs it (bench/lib/targets.ts), under callgrind, loaded over real
// sockets from this process by an undici Pool (a few keep-alive connections, one request on
// each at a time), its counters zeroed after a warm-up and dumped after the counted requests.
// The count holds every instruction the server's process runs in user space for those requests:
// Node's HTTP parser, streams, ticks, timers and event loop as well as the app; not the
// kernel's. That is where Node's own per-request work shows, which the in-process driver
// (in-process.ts) leaves out.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { freePort } from '../../scripts/cli/processes.ts';
import { callgrindArgs, dumpedTotal } from './callgrind.ts';
import { waitFor200 } from './proc.ts';

export interface ServerCount {
  /** How the row runs on a port: Node's arguments (its flags, then the bundle), its env. */
  launch: (port: number) => { args: string[]; env: Record<string, string> };
  target: string;
  warmup: number;
  requests: number;
  connections: number;
}

/** Sends `count` GETs of `target` over the pool's connections; fails on any answer but 200. */
async function load(pool: Pool, target: string, count: number, connections: number) {
  let left = count;
  const worker = async () => {
    while (left > 0) {
      left--;
      const { statusCode, body } = await pool.request({ method: 'GET', path: target });
      await body.dump();
      if (statusCode !== 200) throw new Error(`GET ${target} answered ${statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

/**
 * callgrind_control finds the process by a pipe valgrind named after $USER and $HOST (vgdb's
 * `-by-<user>-on-<host>`): it must run with the environment valgrind ran with.
 */
const control = (flag: string, pid: number, env: NodeJS.ProcessEnv) =>
  new Promise<void>((resolve, reject) => {
    spawn('callgrind_control', [flag, String(pid)], { stdio: 'ignore', env })
      .on('error', reject)
      .on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`callgrind_control ${flag} exited ${code}`)),
      );
  });

/** The dump's total: callgrind_control --dump returns before the process has written it. */
async function writtenTotal(dir: string): Promise<number> {
  for (let waited = 0; waited < 60_000; waited += 100) {
    const total = dumpedTotal(dir);
    if (Number.isFinite(total)) return total;
    await sleep(100);
  }
  return Number.NaN;
}

/**
 * SIGTERM, which every row answers by exiting (valgrind then removes its vgdb pipes from /tmp,
 * which SIGKILL would leave behind); SIGKILL after a bounded wait.
 */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = once(child, 'close');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await closed;
  clearTimeout(timer);
}

/** Instructions per request of one server process, started and stopped here. */
export async function countServer(job: ServerCount): Promise<number> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'instructions-'));
  const launch = job.launch(port);
  const args = callgrindArgs(dir, launch.args);
  const env = { ...process.env, ...launch.env };
  const child = spawn('valgrind', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: job.connections });
  try {
    const alive = () => child.exitCode === null && child.signalCode === null;
    await waitFor200(`http://127.0.0.1:${port}${job.target}`, 0, 120_000, alive);
    await load(pool, job.target, job.warmup, job.connections);
    await control('--zero', child.pid as number, env);
    await load(pool, job.target, job.requests, job.connections);
    await control('--dump', child.pid as number, env);
    const total = await writtenTotal(dir);
    if (!Number.isFinite(total))
      throw new Error(`no count in callgrind's dump: ${stderr.slice(-400)}`);
    return total / job.requests;
  } finally {
    await pool.destroy();
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
