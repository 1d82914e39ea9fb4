// The processes behind the local ECS tasks: one Node process per task, each on its own port
// (each Fargate task has its own IP; on one host, a port is what tells tasks apart). A
// replica is a slot of the service's desired count; each task it runs is a new process on a
// new port, as each ECS task is a new target. When to start a task is the scheduler's call
// (scheduler.ts); this module starts, signals and watches processes.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { terminate } from '../../cli/processes.ts';
import { containerCommand } from '../../workspace/container-command.ts';
import type { Service } from '../../workspace/manifests.ts';
import type { Target } from '../alb/target-group.ts';
import { COMPILE_CACHE_DIR } from './compile-cache.ts';
import { ReaperLink } from './reaper-link.ts';

/** Lines of a replica's output kept to explain why it failed. */
const OUTPUT_TAIL_LINES = 20;
/**
 * Loaded into each replica with `node --import`: it exits when this process's end of the
 * pipe at stdio[3] closes, so no replica outlives the stack (exit-with-parent.ts).
 */
const EXIT_WITH_PARENT = path.join(import.meta.dirname, 'exit-with-parent.ts');

export interface ReplicaEvents {
  /** A new process was spawned for the replica (ECS: a task was placed). */
  onStarted(replica: Replica): void;
  /**
   * A process of the replica has exited: `child` is its current task's, or one it replaced
   * (a task stopped after its replacement started).
   */
  onExited(
    replica: Replica,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void;
  onOutput(replica: Replica, line: string, stream: 'stdout' | 'stderr'): void;
}

export interface SupervisorOptions {
  /** Node's arguments for each service's tasks, by service name (`taskArgs()`). */
  taskArgs: ReadonlyMap<string, readonly string[]>;
  /** Extra environment for every replica (after the manifest's variables). */
  env: Record<string, string>;
  /** Overrides the manifest's LOG_LEVEL. */
  logLevel: string | undefined;
  /** Replica stdout is read line by line only when someone wants it. */
  forwardStdout: boolean;
  events: ReplicaEvents;
}

export class Replica {
  readonly service: Service;
  readonly index: number;
  /** `book-service/0`. */
  readonly label: string;
  /** The current task's port and target; both change with every new task. */
  port = 0;
  target: Target | undefined;
  child: ChildProcess | undefined;
  startedAt = 0;
  restarts = 0;
  /** Tasks in a row that exited before they listened: the crash-loop count. */
  crashes = 0;
  /**
   * The output last reported for a crash, so a loop repeating it prints it once; none before
   * the first, so a first crash that printed nothing is said to have (not taken as a repeat).
   */
  reportedTail: string | undefined;
  /** The scheduler's timer for the slot's next task, if one is due (scheduler.ts). */
  restartTimer: unknown;
  /** The current task's last lines of output (stderr, and stdout when it is read). */
  readonly outputTail: string[] = [];

  constructor(service: Service, index: number) {
    this.service = service;
    this.index = index;
    this.label = `${service.name}/${index}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** The current task has answered a health check, so it got as far as listening. */
  get listened(): boolean {
    return this.target?.answeredOnce ?? false;
  }

  /** Resolves once the current process (if any) has exited. */
  exited(): Promise<void> {
    return exitOf(this.child);
  }

  keepOutput(line: string): void {
    this.outputTail.push(line);
    if (this.outputTail.length > OUTPUT_TAIL_LINES) this.outputTail.shift();
  }
}

/** Resolves once `child` (if any) has exited. */
export function exitOf(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Node's arguments for a task of `service` in the workspace at `root`: the options its
 * Dockerfile's `CMD ["node", ...]` gives Node (container-command.ts), then the exit-with-parent
 * hook and the service's TypeScript entry point in place of the image's bundle.
 */
export function taskArgs(service: Service, root: string): string[] {
  const entry = entryPoint(service);
  const { nodeOptions, scriptArgs } = containerCommand(service, root);
  return [...nodeOptions, '--import', EXIT_WITH_PARENT, entry, ...scriptArgs];
}

/** The service's entry point, by this project's layout: `services/<name>/src/server.ts`. */
export function entryPoint(service: Service): string {
  const entry = path.join(service.sourceDir, 'src', 'server.ts');
  if (!existsSync(entry)) {
    throw new Error(
      `${service.name}: no entry point at ${entry} (the manifest ${service.manifestFile} builds from ${service.sourceDir})`,
    );
  }
  return entry;
}

/**
 * Ends what is left of a task's process group once its main process has exited: a container's
 * processes all end with its main one (the kernel SIGKILLs the rest of a PID namespace when its
 * init process ends, pid_namespaces(7); with InitProcessEnabled the init ends with the main
 * process), so a service's own subprocesses do not outlive its task locally either. One that
 * left the group (setsid, `detached`) is out of reach here.
 */
function killRestOfGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing was left in the group.
  }
}

export class Supervisor {
  readonly replicas: Replica[];
  private readonly options: SupervisorOptions;
  private stoppingAll = false;
  /** Every process started and not yet exited, current tasks or replaced ones. */
  private readonly live = new Map<ChildProcess, Replica>();
  private readonly reaper = new ReaperLink();

  constructor(replicas: Replica[], options: SupervisorOptions) {
    this.replicas = replicas;
    this.options = options;
  }

  get stopping(): boolean {
    return this.stoppingAll;
  }

  /** Starts a new task for the replica on `port`. */
  start(replica: Replica, port: number): void {
    if (this.stoppingAll) return;
    const args = this.options.taskArgs.get(replica.service.name);
    if (args === undefined) throw new Error(`${replica.label}: no task arguments for its service`);
    const child = spawn(process.execPath, args, {
      cwd: replica.service.sourceDir,
      env: this.environment(replica, port),
      // stdio[3] is the pipe the replica watches to leave with us; its own process group
      // keeps a terminal's Ctrl-C from reaching it before the stack has stopped routing.
      stdio: ['ignore', this.options.forwardStdout ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    replica.child = child;
    replica.port = port;
    replica.startedAt = Date.now();
    replica.outputTail.length = 0;
    this.readOutput(replica, child);
    // A task that cannot start (its folder gone, no more processes) prints nothing: the reason
    // is its tail, so its exit (Node's 'close', code -errno) is reported with why.
    child.on('error', (error) => {
      const line = `failed to start: ${error.message}`;
      if (replica.child === child) replica.keepOutput(line);
      this.options.events.onOutput(replica, line, 'stderr');
    });
    // Our end of the watched pipe is closed with the process; 'close' then follows once its
    // output has been read to the end, so a crash's last lines are in the tail when reported.
    this.live.set(child, replica);
    if (child.pid !== undefined) this.reaper.started(child.pid);
    child.once('exit', () => {
      child.stdio[3]?.destroy();
      this.live.delete(child);
      if (child.pid !== undefined) {
        killRestOfGroup(child.pid);
        this.reaper.gone(child.pid);
      }
    });
    child.once('close', (code, signal) =>
      this.options.events.onExited(replica, child, code, signal),
    );
    this.options.events.onStarted(replica);
  }

  private environment(replica: Replica, port: number): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...replica.service.variables,
      ...this.options.env,
      PORT: String(port),
      // Replicas listen on loopback only: the ALB is the way in, as in a private subnet.
      HOST: '127.0.0.1',
      // V8's code cache makes every start after the first about 30% faster.
      NODE_COMPILE_CACHE: COMPILE_CACHE_DIR,
    };
    if (this.options.logLevel !== undefined) env.LOG_LEVEL = this.options.logLevel;
    return env;
  }

  private readOutput(replica: Replica, child: ChildProcess): void {
    const { events } = this.options;
    for (const stream of ['stdout', 'stderr'] as const) {
      const input = child[stream];
      if (!input) continue;
      createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
        if (replica.child === child) replica.keepOutput(line);
        events.onOutput(replica, line, stream);
      });
    }
  }

  /** Sends a signal to one replica's current process. */
  signal(replica: Replica, signal: NodeJS.Signals): void {
    if (replica.running) replica.child?.kill(signal);
  }

  /**
   * Stops every process, current tasks and replaced ones still draining, as ECS stops a task:
   * SIGTERM, then SIGKILL once the stop timeout (the task definition's StopTimeout) has
   * passed; and SIGCONT after SIGTERM, so a paused replica acts on it now rather than being
   * killed at the timeout. Then the reaper leaves.
   */
  async stopAll(stopTimeoutMs: (replica: Replica) => number): Promise<void> {
    this.stoppingAll = true;
    await Promise.all(
      [...this.live].map(([child, replica]) =>
        terminate(
          (signal) => {
            child.kill(signal);
            if (signal === 'SIGTERM') child.kill('SIGCONT');
          },
          exitOf(child),
          stopTimeoutMs(replica),
        ),
      ),
    );
    await this.reaper.close();
  }
}
