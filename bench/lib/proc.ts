// Processes under test: spawned pinned to the server core, in their own process group so a
// stop reaches whatever they spawned (the local stack's replicas), and read through /proc for
// memory and CPU time, which is what the rows are compared on besides throughput.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { terminate } from '../../scripts/cli/processes.ts';

/** /proc/<pid>/stat counts CPU time in clock ticks; USER_HZ is 100 on every Linux we target. */
const TICKS_PER_SECOND = 100;

const live = new Set<Spawned>();

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** performance.now() just before spawn: the origin of start-to-first-200. */
  spawnedAt: number;
  output: string[];
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** CPU list for taskset, e.g. "0"; undefined runs unpinned. */
  cpus: string | undefined;
  env?: Record<string, string>;
  /** Keep stdout lines (a fixture that reports its address); otherwise stdout is discarded. */
  captureStdout?: boolean;
}

export function hasCommand(command: string, args: string[] = ['--version']): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', env: withSbin(process.env) });
  return result.error === undefined;
}

/** nginx lives in /usr/sbin, which is not on every user's PATH. */
export function withSbin(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const extra = ['/usr/sbin', '/usr/local/sbin', '/sbin'];
  return { ...env, PATH: [env.PATH ?? '', ...extra].filter(Boolean).join(':') };
}

/**
 * What a process under test runs with: this process's environment without Node's own variables
 * (NODE_OPTIONS, NODE_EXTRA_CA_CERTS, NODE_COMPILE_CACHE, ...), which a task's container does not
 * have and which change how Node starts (NODE_EXTRA_CA_CERTS, set in some shells, alone added
 * 8-9 ms to every start: Node reads the CA bundle it names; bench/README.md), then `extra`.
 */
export function serverEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('NODE_'));
  return withSbin({ ...Object.fromEntries(inherited), ...extra });
}

export function spawnPinned(command: string, args: string[], options: SpawnOptions): Spawned {
  // taskset execs the command, so the child's pid is the command's own.
  const [file, argv] =
    options.cpus === undefined
      ? [command, args]
      : ['taskset', ['--cpu-list', options.cpus, command, ...args]];
  const output: string[] = [];
  const spawnedAt = performance.now();
  const child = spawn(file, argv, {
    env: serverEnv(options.env),
    stdio: ['ignore', options.captureStdout ? 'pipe' : 'ignore', 'pipe'],
    detached: true,
  });
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const spawned: Spawned = {
    child,
    pid,
    spawnedAt,
    output,
    stop: async () => {
      live.delete(spawned);
      if (child.exitCode !== null || child.signalCode !== null) return;
      await terminate((signal) => signalGroup(pid, signal), exited, 5_000);
      // The group may outlive its leader (replicas mid-shutdown): make sure nothing stays.
      signalGroup(pid, 'SIGKILL');
    },
  };
  live.add(spawned);
  return spawned;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Last resort on exit: every group this process started, and nothing else. */
export function killAllSpawned(): void {
  for (const spawned of live) signalGroup(spawned.pid, 'SIGKILL');
  live.clear();
}

export function waitForLine(spawned: Spawned, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no output within ${timeoutMs} ms: ${spawned.output.join('')}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline === -1) return;
      cleanup();
      resolve(buffered.slice(0, newline));
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`exited with ${code}: ${spawned.output.join('')}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      spawned.child.stdout?.off('data', onData);
      spawned.child.off('exit', onExit);
    };
    spawned.child.stdout?.on('data', onData);
    spawned.child.once('exit', onExit);
  });
}

/** One GET on a fresh connection: its status and body. */
export function fetchOnce(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // No agent: every probe is a fresh connection, as a load balancer's health check is.
    const req = request(url, { agent: false, timeout: 2_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls until `url` answers 200; returns the body and the time since `since`. The poll
 * interval is short because start-up times are compared at the scale of tens of milliseconds.
 */
export async function waitFor200(
  url: string,
  since: number,
  timeoutMs: number,
  alive: () => boolean = () => true,
): Promise<{ ms: number; body: Buffer }> {
  const deadline = performance.now() + timeoutMs;
  let last = 'no answer';
  while (performance.now() < deadline) {
    if (!alive()) throw new Error(`the process exited before ${url} answered`);
    try {
      const { status, body } = await fetchOnce(url);
      if (status === 200) return { ms: performance.now() - since, body };
      last = `status ${status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(2);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${last})`);
}

/** VmRSS (now) and VmHWM (peak) in bytes, or undefined once the process is gone. */
export function readMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: field('VmRSS'), peak: field('VmHWM') };
  } catch {
    return undefined;
  }
}

/** User + system CPU time of one process, in microseconds. */
export function readCpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks / TICKS_PER_SECOND) * 1e6;
  } catch {
    return Number.NaN;
  }
}

export function readCommand(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** Every process below `pid`, found through /proc/<pid>/task/<tid>/children. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number) => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      return;
    }
    for (const tid of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${parent}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.split(' ').filter(Boolean).map(Number)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

/** CPUs this process may run on, from /proc/self/status. */
export function allowedCpus(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s+(\S+)/m.exec(status)?.[1] ?? '';
    return list.split(',').flatMap((part) => {
      const [from, to] = part.split('-').map(Number);
      if (from === undefined || Number.isNaN(from)) return [];
      const last = to ?? from;
      return Array.from({ length: last - from + 1 }, (_, i) => from + i);
    });
  } catch {
    return [];
  }
}

/** Moves this process, every thread of it, onto `cpus`: the load generator's core. */
export function pinSelf(cpus: string): boolean {
  const result = spawnSync(
    'taskset',
    ['--all-tasks', '--cpu-list', '--pid', cpus, String(process.pid)],
    {
      stdio: 'ignore',
    },
  );
  return result.status === 0;
}

/** Where the servers and the load generator run; undefined CPUs when the run is unpinned. */
export interface Pinning {
  server: string | undefined;
  load: string | undefined;
  note: string;
}

/**
 * The first allowed CPU for the servers and the second for this process (and so for an
 * in-process load generator) when taskset works and 2 CPUs are allowed; else unpinned, saying why.
 */
export function choosePinning(wanted: boolean): Pinning {
  if (!wanted) return { server: undefined, load: undefined, note: 'not pinned (--no-pin)' };
  if (!hasCommand('taskset', ['--version'])) {
    return { server: undefined, load: undefined, note: 'not pinned: taskset is not installed' };
  }
  const cpus = allowedCpus();
  const [server, load] = cpus;
  if (server === undefined || load === undefined) {
    return { server: undefined, load: undefined, note: 'not pinned: fewer than 2 CPUs' };
  }
  if (!pinSelf(String(load))) {
    return { server: undefined, load: undefined, note: 'not pinned: taskset failed' };
  }
  return {
    server: String(server),
    load: String(load),
    note: `servers pinned to CPU ${server}, load generator to CPU ${load}`,
  };
}
