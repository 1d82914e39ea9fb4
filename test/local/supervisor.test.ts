// The processes behind the local ECS tasks (scripts/local/ecs/supervisor.ts), with real child
// processes (starting them is the module's job), each a few lines of `node -e` standing in for
// a service, and every wait bounded by the processes' own events, never by the clock. What users
// rely on: a task that dies is reported with why (its exit code or signal, its last output); a
// stop is ECS's: SIGTERM, then SIGKILL once the task definition's stop timeout has passed ("If
// the container handles the SIGTERM gracefully and exits within 30 seconds from receiving it,
// no SIGKILL is sent", ECS API reference, StopTask; ContainerDefinition stopTimeout: "Time
// duration (in seconds) to wait before the container is forcefully killed if it doesn't exit
// normally on its own"); and no process outlives the stack.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Target, TargetGroup } from '../../scripts/local/alb/target-group.ts';
import { COMPILE_CACHE_DIR } from '../../scripts/local/ecs/compile-cache.ts';
import {
  entryPoint,
  exitOf,
  Replica,
  type ReplicaEvents,
  Supervisor,
  taskArgs,
} from '../../scripts/local/ecs/supervisor.ts';
import { containerCommand } from '../../scripts/workspace/container-command.ts';
import { loadWorkspace, repoRoot, type Service } from '../../scripts/workspace/manifests.ts';
import { scratchFolders } from '../helpers/scratch.ts';
import { waitFor } from '../helpers/wait.ts';
import { type FakeChild, fakeScheduler } from './fake-tasks.ts';
import { testHealthCheck } from './health-settings.ts';
import { ManualClock } from './manual-clock.ts';

const workspace = loadWorkspace();
const base = workspace.services[0] as Service;
const scratch = scratchFolders('supervisor');

/** A stand-in service's code: what `node -e` runs as its task. */
const SCRIPTS = {
  // Says why it fails, its last words without a newline, and exits with code 3.
  crash:
    "process.stdout.write('to stdout\\n'); process.stderr.write('config missing\\nlast words'); process.exitCode = 3;",
  // Twenty-five lines, then exit 1.
  chatty:
    "for (let i = 1; i <= 25; i++) process.stderr.write('line ' + i + '\\n'); process.exitCode = 1;",
  // What the task was given: its environment, folder, file descriptors and process group.
  report: [
    "const fs = require('node:fs');",
    "const stat = fs.readFileSync('/proc/self/stat', 'latin1');",
    "const [, , pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');",
    'const e = process.env;',
    'process.stderr.write(JSON.stringify({',
    '  cwd: process.cwd(), PORT: e.PORT, HOST: e.HOST, LOG_LEVEL: e.LOG_LEVEL ?? null,',
    '  GREETING: e.GREETING, EXTRA: e.EXTRA, INHERITED: e.SUPERVISOR_TEST_INHERITED ?? null,',
    '  NODE_COMPILE_CACHE: e.NODE_COMPILE_CACHE, ownGroup: Number(pgid) === process.pid,',
    '  parentPipe: fs.fstatSync(3).isSocket(), stdin: fs.fstatSync(0).isCharacterDevice(),',
    "}) + '\\n');",
  ].join('\n'),
  // Runs until told: says `ready <pid>` once its handlers are in place, `got SIGTERM <pid>` on
  // SIGTERM (and then exits 0, if its manifest sets OBEY=1), `alive <pid>` on SIGUSR2.
  waiter: [
    "const say = (word) => process.stderr.write(word + ' ' + process.pid + '\\n');",
    "process.on('SIGTERM', () => { say('got SIGTERM'); if (process.env.OBEY === '1') process.exit(0); });",
    "process.on('SIGUSR2', () => say('alive'));",
    'setInterval(() => {}, 1 << 30);',
    "say('ready');",
  ].join('\n'),
  // Starts a subprocess in its process group that ignores SIGTERM and would run for 2 min (past
  // the hang guard, and bounded should a killed test run leave it), names it once its handler is
  // in place, and exits.
  parent: [
    "const { spawn } = require('node:child_process');",
    "const code = \"process.on('SIGTERM', () => {}); setTimeout(() => {}, 120000); process.stdout.write('up')\";",
    "const sub = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });",
    "sub.stdout.once('data', () => {",
    "  process.stderr.write('sub ' + sub.pid + '\\n');",
    '  process.exit(0);',
    '});',
  ].join('\n'),
  // Starts a subprocess that holds the task's fd 3 (the pipe exit-with-parent.ts watches) and
  // outlives it (for 20 s at most), names it, and exits.
  holder: [
    "const { spawn } = require('node:child_process');",
    "const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], {",
    "  stdio: ['ignore', 'ignore', 'ignore', 3], detached: true,",
    '});',
    'holder.unref();',
    "process.stderr.write('holder ' + holder.pid + '\\n');",
  ].join('\n'),
} as const;

type Script = keyof typeof SCRIPTS;

/** A service whose tasks run `script`; manifest variables as given. */
function service(
  name: Script,
  variables: Record<string, string> = {},
  over: Partial<Service> = {},
) {
  return { ...base, name, variables, ...over } as Service;
}

type Seen =
  | { kind: 'started'; label: string; pid: number | undefined; port: number }
  | {
      kind: 'exited';
      label: string;
      pid: number | undefined;
      code: number | null;
      signal: NodeJS.Signals | null;
      /** The exit is the replica's current task's. */
      current: boolean;
      /** The replica's output tail when the exit was reported. */
      tail: string[];
    }
  | { kind: 'output'; label: string; line: string; stream: 'stdout' | 'stderr' };

/** The supervisor's events, in order, and a wait for one (past or to come). */
class Recorder implements ReplicaEvents {
  readonly seen: Seen[] = [];
  private readonly waiters = new Set<(event: Seen) => boolean>();

  onStarted(replica: Replica): void {
    this.push({ kind: 'started', label: replica.label, pid: replica.pid, port: replica.port });
  }

  onExited(
    replica: Replica,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    const tail = [...replica.outputTail];
    const current = replica.child === child;
    this.push({
      kind: 'exited',
      label: replica.label,
      pid: child.pid,
      code,
      signal,
      current,
      tail,
    });
  }

  onOutput(replica: Replica, line: string, stream: 'stdout' | 'stderr'): void {
    this.push({ kind: 'output', label: replica.label, line, stream });
  }

  /** The first event from index `from` on that matches, once it has happened. */
  next(matches: (event: Seen) => boolean, from = 0): Promise<Seen> {
    const past = this.seen.slice(from).find(matches);
    if (past !== undefined) return Promise.resolve(past);
    return new Promise((resolve) => {
      const waiter = (event: Seen) => {
        if (!matches(event)) return false;
        resolve(event);
        return true;
      };
      this.waiters.add(waiter);
    });
  }

  /** The line `<word> <pid>` from the task `pid`, from index `from` on. */
  said(word: string, pid: number | undefined, from = 0): Promise<Seen> {
    return this.next((e) => e.kind === 'output' && e.line === `${word} ${pid}`, from);
  }

  exitOf(pid: number | undefined): Promise<Seen> {
    return this.next((e) => e.kind === 'exited' && e.pid === pid);
  }

  lines(label: string): string[] {
    return this.seen.flatMap((e) => (e.kind === 'output' && e.label === label ? [e.line] : []));
  }

  private push(event: Seen): void {
    this.seen.push(event);
    for (const waiter of [...this.waiters]) if (waiter(event)) this.waiters.delete(waiter);
  }
}

const supervisors: Supervisor[] = [];
/** Processes a test started besides the tasks (their subprocesses): killed after it. */
const strays: number[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
    await waitFor(`stray ${pid} to be gone`, () => [undefined, 'Z'].includes(processState(pid)));
  }
  // Whatever a failing test left running: stopped at once, and the reaper with them.
  for (const supervisor of supervisors.splice(0)) await supervisor.stopAll(() => 0);
});

interface Setup {
  services: Service[];
  replicasPer?: number;
  env?: Record<string, string>;
  logLevel?: string;
  forwardStdout?: boolean;
}

function setup(options: Setup) {
  const events = new Recorder();
  const replicas = options.services.flatMap((s) =>
    Array.from({ length: options.replicasPer ?? 1 }, (_, i) => new Replica(s, i)),
  );
  const supervisor = new Supervisor(replicas, {
    taskArgs: new Map(
      options.services.map((s) => [s.name, ['-e', SCRIPTS[s.name as Script]]] as const),
    ),
    env: options.env ?? {},
    logLevel: options.logLevel,
    forwardStdout: options.forwardStdout ?? false,
    events,
  });
  supervisors.push(supervisor);
  return { supervisor, events, replicas };
}

/** The process's state letter in /proc (`T`: stopped), or undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** This process's live children: pid and command line. */
function children(): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
      found.push({ pid, command });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

describe('a replica', () => {
  it('is named by its service and slot, and has no task until one starts', async () => {
    const replica = new Replica(base, 2);
    expect(replica.label).toBe(`${base.name}/2`);
    expect(replica.pid).toBeUndefined();
    expect(replica.running).toBe(false);
    expect(replica.listened).toBe(false);
    await replica.exited();
    await exitOf(undefined);
  });

  it('has listened once its current target has answered a health check', () => {
    const replica = new Replica(base, 0);
    const target = new Target(4000);
    replica.target = target;
    expect(replica.listened).toBe(false);
    target.answeredOnce = true;
    expect(replica.listened).toBe(true);
  });

  it('whose first task exits before it listened, printing nothing, is said to have printed nothing', async () => {
    const clock = new ManualClock();
    const s = { ...base, minCount: 1 } as Service;
    const refused = { probe: async () => ({ error: 'refused' as const }), clock };
    const events = { onStateChange: () => {} };
    const group = new TargetGroup(s.name, testHealthCheck('/health'), 0, events, refused);
    const replica = new Replica(s, 0);
    const lines: string[] = [];
    const { scheduler } = fakeScheduler([replica], new Map([[s.name, group]]), clock, {
      stopTimeoutMs: () => 1_000,
      gracePeriodMs: () => 10_000,
      say: (line) => lines.push(line),
      exitedBeforeListening: () => false,
    });
    try {
      await scheduler.launch(replica);
      (replica.child as unknown as FakeChild).exit(1);
      expect(lines).toContain(`${replica.label}: it printed nothing`);
    } finally {
      await scheduler.stop();
    }
  });

  it('keeps the last 20 lines of output', () => {
    const replica = new Replica(base, 0);
    const lines = Array.from({ length: 21 }, (_, i) => `line ${i + 1}`);
    for (const line of lines.slice(0, 20)) replica.keepOutput(line);
    expect(replica.outputTail).toEqual(lines.slice(0, 20));
    replica.keepOutput('line 21');
    expect(replica.outputTail).toEqual(lines.slice(1));
  });
});

describe("a task's command line", () => {
  it("is the image's CMD node options, the exit-with-parent hook, the service's entry point, then the CMD's arguments", () => {
    for (const s of workspace.services) {
      const args = taskArgs(s, repoRoot);
      const { nodeOptions, scriptArgs } = containerCommand(s, repoRoot);
      const entry = path.join(s.sourceDir, 'src', 'server.ts');
      expect(entryPoint(s)).toBe(entry);
      expect(args).toEqual([...nodeOptions, '--import', expect.any(String), entry, ...scriptArgs]);
      const hook = args[nodeOptions.length + 1] as string;
      expect(hook.endsWith(path.join('scripts', 'local', 'ecs', 'exit-with-parent.ts'))).toBe(true);
    }
  });

  it('is refused for a service with no src/server.ts, naming the manifest and the folder it builds from', () => {
    const folder = scratch();
    folder.write('src/index.ts', '');
    const s = { ...base, sourceDir: folder.root };
    const entry = path.join(folder.root, 'src', 'server.ts');
    const message = `${s.name}: no entry point at ${entry} (the manifest ${s.manifestFile} builds from ${folder.root})`;
    expect(() => entryPoint(s)).toThrow(message);
    expect(() => taskArgs(s, repoRoot)).toThrow(message);
  });
});

describe('starting a task', () => {
  it.each([
    { logLevel: undefined, expected: 'warn' },
    { logLevel: 'debug', expected: 'debug' },
  ])(
    "gives it the manifest's variables, the stack's, its own port and loopback, in its source folder (log level $logLevel)",
    async ({ logLevel, expected }) => {
      vi.stubEnv('SUPERVISOR_TEST_INHERITED', 'yes');
      const report = service('report', { GREETING: 'manifest', LOG_LEVEL: 'warn', PORT: '1' });
      const { supervisor, events, replicas } = setup({
        services: [report],
        env: { GREETING: 'stack', EXTRA: 'x', HOST: '0.0.0.0' },
        ...(logLevel === undefined ? {} : { logLevel }),
      });
      const [replica] = replicas as [Replica];
      const before = Date.now();
      supervisor.start(replica, 4321);
      const after = Date.now();
      expect(replica.port).toBe(4321);
      expect(replica.startedAt).toBeGreaterThanOrEqual(before);
      expect(replica.startedAt).toBeLessThanOrEqual(after);
      const started = events.seen[0];
      expect(started).toEqual({
        kind: 'started',
        label: replica.label,
        pid: expect.any(Number),
        port: 4321,
      });
      expect(replica.pid).toBe(started?.kind === 'started' ? started.pid : -1);
      const exit = await events.exitOf(replica.pid);
      expect(exit).toMatchObject({ code: 0, signal: null, current: true });
      const [line] = events.lines(replica.label);
      expect(JSON.parse(line as string)).toEqual({
        cwd: base.sourceDir,
        PORT: '4321',
        HOST: '127.0.0.1',
        LOG_LEVEL: expected,
        GREETING: 'stack',
        EXTRA: 'x',
        INHERITED: 'yes',
        NODE_COMPILE_CACHE: COMPILE_CACHE_DIR,
        // A process group of its own (a terminal's Ctrl-C to the stack does not reach it), the
        // pipe exit-with-parent.ts watches at fd 3, and no stdin.
        ownGroup: true,
        parentPipe: true,
        stdin: true,
      });
      expect(replica.running).toBe(false);
    },
  );

  it('without task arguments for its service is refused', () => {
    const { supervisor } = setup({ services: [] });
    const replica = new Replica(base, 0);
    expect(() => supervisor.start(replica, 4000)).toThrow(
      `${replica.label}: no task arguments for its service`,
    );
    expect(replica.child).toBeUndefined();
  });
});

describe('a task that dies', () => {
  it('is reported with its exit code once its last output, stderr only, is in its tail', async () => {
    const { supervisor, events, replicas } = setup({ services: [service('crash')] });
    const [replica] = replicas as [Replica];
    supervisor.start(replica, 4000);
    const exit = await events.exitOf(replica.pid);
    expect(exit).toMatchObject({
      code: 3,
      signal: null,
      current: true,
      tail: ['config missing', 'last words'],
    });
    expect(events.seen.filter((e) => e.kind === 'output')).toEqual([
      { kind: 'output', label: replica.label, line: 'config missing', stream: 'stderr' },
      { kind: 'output', label: replica.label, line: 'last words', stream: 'stderr' },
    ]);
    expect(replica.running).toBe(false);
    // Gone already: waits on it resolve at once.
    await replica.exited();
    await exitOf(replica.child);
  });

  it('has its stdout in its tail too when the stack reads it', async () => {
    const { supervisor, events, replicas } = setup({
      services: [service('crash')],
      forwardStdout: true,
    });
    const [replica] = replicas as [Replica];
    supervisor.start(replica, 4000);
    const exit = await events.exitOf(replica.pid);
    expect(exit).toMatchObject({ code: 3 });
    expect(exit.kind === 'exited' && [...exit.tail].sort()).toEqual(
      ['config missing', 'last words', 'to stdout'].sort(),
    );
    expect(events.seen).toContainEqual({
      kind: 'output',
      label: replica.label,
      line: 'to stdout',
      stream: 'stdout',
    });
  });

  it('keeps only its last 20 lines, and a new task starts with an empty tail', async () => {
    const { supervisor, events, replicas } = setup({ services: [service('chatty')] });
    const [replica] = replicas as [Replica];
    supervisor.start(replica, 4000);
    const exit = await events.exitOf(replica.pid);
    const lines = Array.from({ length: 25 }, (_, i) => `line ${i + 1}`);
    expect(exit).toMatchObject({ code: 1, tail: lines.slice(5) });
    expect(events.lines(replica.label)).toEqual(lines);
    supervisor.start(replica, 4001);
    expect(replica.outputTail).toEqual([]);
    await events.exitOf(replica.pid);
  });

  it('by a signal is reported with the signal; a signal to a replica with no running task does nothing', async () => {
    const { supervisor, events, replicas } = setup({ services: [service('waiter')] });
    const [replica] = replicas as [Replica];
    supervisor.signal(replica, 'SIGKILL');
    supervisor.start(replica, 4000);
    await events.said('ready', replica.pid);
    expect(replica.running).toBe(true);
    supervisor.signal(replica, 'SIGKILL');
    const exit = await events.exitOf(replica.pid);
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL', current: true });
    expect(replica.running).toBe(false);
    await replica.exited();
    supervisor.signal(replica, 'SIGKILL');
  });

  it('that could not even start is reported with why, in its tail too', async () => {
    const before = children();
    const folder = scratch();
    const nowhere = service('crash', {}, { sourceDir: path.join(folder.root, 'missing') });
    const { supervisor, events, replicas } = setup({ services: [nowhere] });
    const [replica] = replicas as [Replica];
    supervisor.start(replica, 4000);
    const exit = await events.next((e) => e.kind === 'exited');
    // Node's spawn reports the errno as the exit code (-2: ENOENT, the missing folder).
    expect(exit).toMatchObject({ code: -2, signal: null, current: true });
    const why = `failed to start: spawn ${process.execPath} ENOENT`;
    expect(events.lines(replica.label)).toEqual([why]);
    expect(exit.kind === 'exited' && exit.tail).toEqual([why]);
    expect(events.seen).toContainEqual({
      kind: 'output',
      label: replica.label,
      line: why,
      stream: 'stderr',
    });
    expect(replica.running).toBe(false);
    // No process to watch over: none started, not even the reaper.
    expect(children()).toEqual(before);
    // Nothing to stop: the stop does not wait on it.
    await supervisor.stopAll(() => 60_000);
  });

  it('that could not start, replaced at once by another that could not either: the tail is the current one', async () => {
    const folder = scratch();
    const nowhere = service('crash', {}, { sourceDir: path.join(folder.root, 'missing') });
    const { supervisor, events, replicas } = setup({ services: [nowhere] });
    const [replica] = replicas as [Replica];
    supervisor.start(replica, 4000);
    supervisor.start(replica, 4001);
    const why = `failed to start: spawn ${process.execPath} ENOENT`;
    const replaced = await events.next((e) => e.kind === 'exited' && !e.current);
    const current = await events.next((e) => e.kind === 'exited' && e.current);
    expect(replaced).toMatchObject({ code: -2 });
    expect(current).toMatchObject({ code: -2, tail: [why] });
    expect(events.lines(replica.label)).toEqual([why, why]);
  });
});

describe('a task whose subprocess still holds the pipe it watches', () => {
  it('is reported as exited when it exits', async () => {
    const { supervisor, events, replicas } = setup({ services: [service('holder')] });
    const [replica] = replicas as [Replica];
    supervisor.start(replica, 4000);
    const said = await events.next((e) => e.kind === 'output' && e.line.startsWith('holder '));
    const holder = Number(said.kind === 'output' && said.line.split(' ')[1]);
    strays.push(holder);
    expect(await events.exitOf(replica.pid)).toMatchObject({ code: 0, current: true });
    expect(processState(holder)).toBeDefined();
  });
});

// pid_namespaces(7): when a container's init process ends, the kernel SIGKILLs every other
// process in its namespace, so a service's subprocesses end with its task on ECS.
describe('a task that started a subprocess of its own', () => {
  it('takes it with it when it exits, as a container does', async () => {
    const { supervisor, events, replicas } = setup({ services: [service('parent')] });
    const [replica] = replicas as [Replica];
    supervisor.start(replica, 4000);
    const said = await events.next((e) => e.kind === 'output' && e.line.startsWith('sub '));
    const sub = Number(said.kind === 'output' && said.line.split(' ')[1]);
    strays.push(sub);
    expect(await events.exitOf(replica.pid)).toMatchObject({ code: 0, current: true });
    await waitFor('the subprocess to end with its task', () =>
      [undefined, 'Z'].includes(processState(sub)),
    );
  });
});

describe('a task replaced while it still runs', () => {
  it('keeps its output out of the new task tail, and is stopped with the stack, its exit told apart', async () => {
    const obeys = service('waiter', { OBEY: '1' });
    const { supervisor, events, replicas } = setup({ services: [obeys] });
    const [replica] = replicas as [Replica];
    supervisor.start(replica, 4000);
    const old = replica.child as ChildProcess;
    await events.said('ready', old.pid);
    expect(replica.outputTail).toEqual([`ready ${old.pid}`]);
    supervisor.start(replica, 4001);
    expect(replica.outputTail).toEqual([]);
    const current = replica.child as ChildProcess;
    expect(current).not.toBe(old);
    await events.said('ready', current.pid);
    old.kill('SIGUSR2');
    await events.said('alive', old.pid);
    expect(replica.outputTail).toEqual([`ready ${current.pid}`]);
    await supervisor.stopAll(() => 60_000);
    expect(await events.exitOf(old.pid)).toMatchObject({ code: 0, current: false });
    expect(await events.exitOf(current.pid)).toMatchObject({ code: 0, current: true });
    expect(events.lines(replica.label)).toEqual(
      expect.arrayContaining([`got SIGTERM ${old.pid}`, `got SIGTERM ${current.pid}`]),
    );
  });
});

describe('stopping the stack', () => {
  it('sends SIGTERM, and a task that exits on it gets no SIGKILL', async () => {
    const { supervisor, events, replicas } = setup({
      services: [service('waiter', { OBEY: '1' })],
      replicasPer: 2,
    });
    for (const [i, replica] of replicas.entries()) supervisor.start(replica, 4000 + i);
    for (const replica of replicas) await events.said('ready', replica.pid);
    expect(supervisor.stopping).toBe(false);
    const stopped = supervisor.stopAll(() => 60_000);
    expect(supervisor.stopping).toBe(true);
    await stopped;
    for (const replica of replicas) {
      expect(await events.exitOf(replica.pid)).toMatchObject({ code: 0, signal: null });
      expect(events.lines(replica.label)).toContain(`got SIGTERM ${replica.pid}`);
    }
  });

  it('continues a paused task after SIGTERM, so it acts on it now rather than at the stop timeout', async () => {
    const { supervisor, events, replicas } = setup({
      services: [service('waiter', { OBEY: '1' })],
    });
    const [replica] = replicas as [Replica];
    supervisor.start(replica, 4000);
    const pid = replica.pid as number;
    await events.said('ready', pid);
    supervisor.signal(replica, 'SIGSTOP');
    await waitFor('the task to be stopped', () => processState(pid) === 'T');
    // The stop timeout never passes: only SIGTERM can end it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    await supervisor.stopAll(() => 1_000);
    expect(await events.exitOf(pid)).toMatchObject({ code: 0, signal: null });
    expect(events.lines(replica.label)).toContain(`got SIGTERM ${pid}`);
  });

  it('kills a task that ignores SIGTERM with SIGKILL once its own stop timeout has passed, not before', async () => {
    const { supervisor, events, replicas } = setup({
      services: [service('waiter')],
      replicasPer: 2,
    });
    const [first, second] = replicas as [Replica, Replica];
    for (const [i, replica] of replicas.entries()) supervisor.start(replica, 4000 + i);
    for (const replica of replicas) await events.said('ready', replica.pid);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let done = false;
    const stopped = supervisor
      .stopAll((r) => (r === first ? 1_000 : 3_000))
      .then(() => {
        done = true;
      });
    for (const replica of replicas) await events.said('got SIGTERM', replica.pid);
    /** Whether the task still answers (rather than dying of an earlier SIGKILL). */
    const answers = async (replica: Replica) => {
      const from = events.seen.length;
      supervisor.signal(replica, 'SIGUSR2');
      const pid = replica.pid;
      const next = await events.next(
        (e) =>
          (e.kind === 'output' && e.line === `alive ${pid}`) ||
          (e.kind === 'exited' && e.pid === pid),
        from,
      );
      return next.kind === 'output';
    };
    vi.advanceTimersByTime(999);
    expect(await answers(first)).toBe(true);
    expect(await answers(second)).toBe(true);
    vi.advanceTimersByTime(1);
    expect(await events.exitOf(first.pid)).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(await answers(second)).toBe(true);
    vi.advanceTimersByTime(1_999);
    expect(await answers(second)).toBe(true);
    expect(done).toBe(false);
    vi.advanceTimersByTime(1);
    expect(await events.exitOf(second.pid)).toMatchObject({ code: null, signal: 'SIGKILL' });
    await stopped;
  });

  it('starts no task after it, and leaves no process behind: the tasks nor the reaper watching them', async () => {
    const before = children().map((c) => c.pid);
    const { supervisor, events, replicas } = setup({
      services: [service('waiter', { OBEY: '1' })],
      replicasPer: 2,
    });
    for (const [i, replica] of replicas.entries()) supervisor.start(replica, 4000 + i);
    for (const replica of replicas) await events.said('ready', replica.pid);
    const during = children().filter((c) => !before.includes(c.pid));
    const pids = replicas.map((r) => r.pid);
    expect(during.filter((c) => pids.includes(c.pid))).toHaveLength(2);
    expect(during.filter((c) => c.command.includes('reaper.ts'))).toHaveLength(1);
    await supervisor.stopAll(() => 60_000);
    const [first] = replicas as [Replica];
    const started = events.seen.filter((e) => e.kind === 'started').length;
    supervisor.start(first, 4010);
    expect(events.seen.filter((e) => e.kind === 'started')).toHaveLength(started);
    expect(children().filter((c) => !before.includes(c.pid))).toEqual([]);
  });
});
