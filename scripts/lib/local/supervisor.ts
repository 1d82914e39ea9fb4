// The local stand-in for the ECS scheduler: keeps `count.range.min` replicas of each service
// running, one Node process per replica on its own port (each Fargate task has its own IP; on
// one host, a port is what tells replicas apart), and replaces a replica that stops, with
// exponential backoff so a service that crashes at start does not spin.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Service } from '../manifests.ts';

const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 30_000;
/** A replica that ran this long is considered started fine: its next crash restarts fast. */
const STABLE_AFTER_MS = 10_000;
/** Lines of a replica's stderr kept to explain why it failed to become healthy. */
const STDERR_TAIL_LINES = 20;

export interface ReplicaEvents {
  /** A new process was spawned for the replica (ECS: a task was placed). */
  onStarted(replica: Replica): void;
  onExited(replica: Replica, code: number | null, signal: NodeJS.Signals | null): void;
  onOutput(replica: Replica, line: string, stream: 'stdout' | 'stderr'): void;
}

export interface SupervisorOptions {
  /** Extra environment for every replica (after the manifest's variables). */
  env: Record<string, string>;
  /** Overrides the manifest's LOG_LEVEL. */
  logLevel: string | undefined;
  /** Replica stdout is read line by line only when someone wants it. */
  forwardStdout: boolean;
  events: ReplicaEvents;
  /** Resolves when a replica that stopped unexpectedly may be replaced. */
  beforeRestart(replica: Replica): Promise<void>;
}

export class Replica {
  readonly service: Service;
  readonly index: number;
  readonly port: number;
  /** `book-service/0`. */
  readonly label: string;
  child: ChildProcess | undefined;
  startedAt = 0;
  restarts = 0;
  private restartDelayMs = FIRST_RESTART_DELAY_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  readonly stderrTail: string[] = [];

  constructor(service: Service, index: number, port: number) {
    this.service = service;
    this.index = index;
    this.port = port;
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

  /** Resolves once the current process (if any) has exited. */
  exited(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return Promise.resolve();
    }
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  nextRestartDelay(): number {
    if (Date.now() - this.startedAt > STABLE_AFTER_MS) this.restartDelayMs = FIRST_RESTART_DELAY_MS;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, MAX_RESTART_DELAY_MS);
    return delay;
  }

  setRestartTimer(timer: NodeJS.Timeout | undefined): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = timer;
  }
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

export class Supervisor {
  readonly replicas: Replica[];
  private readonly options: SupervisorOptions;
  private stopping = false;

  constructor(replicas: Replica[], options: SupervisorOptions) {
    this.replicas = replicas;
    this.options = options;
  }

  startAll(): void {
    for (const replica of this.replicas) this.spawn(replica);
  }

  private spawn(replica: Replica): void {
    if (this.stopping) return;
    const { service } = replica;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...service.variables,
      ...this.options.env,
      PORT: String(replica.port),
      // Replicas listen on loopback only: the ALB is the way in, as in a private subnet.
      HOST: '127.0.0.1',
      // V8's code cache makes every start after the first about 30% faster.
      NODE_COMPILE_CACHE:
        process.env.NODE_COMPILE_CACHE ?? path.join(os.tmpdir(), 'copilot-http-api-compile-cache'),
    };
    if (this.options.logLevel !== undefined) env.LOG_LEVEL = this.options.logLevel;
    const child = spawn(process.execPath, [entryPoint(service)], {
      cwd: service.sourceDir,
      env,
      stdio: ['ignore', this.options.forwardStdout ? 'pipe' : 'ignore', 'pipe'],
    });
    replica.child = child;
    replica.startedAt = Date.now();
    replica.stderrTail.length = 0;
    const { events } = this.options;
    if (child.stdout) {
      createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on(
        'line',
        (line) => events.onOutput(replica, line, 'stdout'),
      );
    }
    if (child.stderr) {
      createInterface({ input: child.stderr, crlfDelay: Number.POSITIVE_INFINITY }).on(
        'line',
        (line) => {
          replica.stderrTail.push(line);
          if (replica.stderrTail.length > STDERR_TAIL_LINES) replica.stderrTail.shift();
          events.onOutput(replica, line, 'stderr');
        },
      );
    }
    child.on('error', (error) => {
      events.onOutput(replica, `failed to start: ${error.message}`, 'stderr');
    });
    child.on('exit', (code, signal) => {
      events.onExited(replica, code, signal);
      if (this.stopping || replica.child !== child) return;
      const delay = replica.nextRestartDelay();
      const allowed = this.options.beforeRestart(replica);
      replica.setRestartTimer(
        setTimeout(() => {
          void allowed.then(() => {
            if (this.stopping || replica.child !== child) return;
            replica.restarts++;
            this.spawn(replica);
          });
        }, delay),
      );
    });
    events.onStarted(replica);
  }

  /** Sends a signal to one replica's current process; the exit handler replaces it. */
  signal(replica: Replica, signal: NodeJS.Signals): void {
    if (replica.running) replica.child?.kill(signal);
  }

  /**
   * Stops every replica as ECS stops a task: SIGTERM, then SIGKILL once the stop timeout
   * (the task definition's StopTimeout) has passed.
   */
  async stopAll(stopTimeoutMs: (replica: Replica) => number): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.replicas.map(async (replica) => {
        replica.setRestartTimer(undefined);
        if (!replica.running) return;
        const exited = replica.exited();
        replica.child?.kill('SIGTERM');
        const force = setTimeout(() => replica.child?.kill('SIGKILL'), stopTimeoutMs(replica));
        await exited;
        clearTimeout(force);
      }),
    );
  }
}
