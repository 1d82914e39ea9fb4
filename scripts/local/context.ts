// What the local stack is built from: its options, checked, and the workspace and template
// they point to, read once. Every part of the stack gets its settings from here.
import { LOG_LEVELS } from '../../services/common/src/logger.ts';
import { cfnInteger, readValue } from '../workspace/cfn-value.ts';
import {
  type HttpApiSettings,
  type ParameterOverrides,
  readHttpApiSettings,
} from '../workspace/http-api-settings.ts';
import {
  INTERNAL_ALB_IDLE_TIMEOUT_SECONDS,
  loadWorkspace,
  repoRoot,
  type Service,
  taskdefOverride,
  type Workspace,
} from '../workspace/manifests.ts';
import { taskArgs } from './ecs/supervisor.ts';
import { StackEvents } from './events.ts';
import type { ClientTimeouts } from './http/listeners.ts';
import { bufferedSink, callbackSink, type LineSink } from './line-sink.ts';

/** ECS's container stop timeout when the task definition sets none. */
const ECS_DEFAULT_STOP_TIMEOUT_S = 30;

export interface LocalStackOptions {
  /** The workspace: `<root>/copilot` and `<root>/addons/http-api.yml`. Default: this repo. */
  root?: string;
  /** Copilot environment whose names are used (`<svc>.<env>.<app>.internal`). Default: first. */
  environment?: string;
  /** HTTP API port; 0 picks a free one. Default 8080. */
  apiPort?: number;
  /** Local ALB listener port; 0 (default) picks a free one. */
  albPort?: number;
  /**
   * Ports another listener of the caller's will take (the console's): never offered when a
   * port of the stack's is in use.
   */
  reservedPorts?: readonly number[];
  /** Interface both listeners bind. Default 127.0.0.1. */
  host?: string;
  /**
   * Multiplies the manifests' health-check interval, timeout and grace period and the
   * deregistration delay, e.g. 0.1 for tests. Default 1: the manifests' own timing.
   */
  healthCheckScale?: number;
  /** Template parameter overrides, as `aws cloudformation deploy --parameter-overrides`. */
  parameters?: ParameterOverrides;
  /** LOG_LEVEL for every replica, instead of the manifest's. */
  logLevel?: string;
  /** Replica stdout: prefixed and forwarded (default) or ignored. Stderr is always forwarded. */
  replicaOutput?: 'forward' | 'ignore';
  /** One access-log line per API request, in the stage's format. Default true. */
  accessLog?: boolean;
  /** Receives every line the stack emits. Default: batched writes to stdout. */
  log?: (line: string) => void;
  /** Extra environment variables for every replica. */
  env?: Record<string, string>;
  /**
   * Slow-client limits of both listeners (ms); tests shrink them. Default: 10 s for the head,
   * 30 s for the request, 2 s of silence from a client whose body is no longer wanted.
   */
  clientTimeouts?: ClientTimeouts;
  /**
   * The ALB's idle timeout: a target that sends nothing for this long gets the ALB's 504.
   * Default: ELB's 60 s, which Copilot leaves as it is; tests shrink it.
   */
  albIdleTimeoutMs?: number;
}

export class LocalStackError extends Error {
  override name = 'LocalStackError';
}

export function scaled(ms: number, scale: number): number {
  return Math.max(1, Math.round(ms * scale));
}

export function stopTimeoutMs(service: Service): number {
  // "40" too: CloudFormation reads an Integer property's text (cfn-value.ts); a text it cannot
  // read fails the deploy (the policy's PRJ.STOP_TIMEOUT says so), and here is ECS's default.
  const read = cfnInteger(taskdefOverride(service, 'ContainerDefinitions[0].StopTimeout'));
  return (readValue(read) ?? ECS_DEFAULT_STOP_TIMEOUT_S) * 1000;
}

/** What the stack is built from: the options checked, the workspace and template read. */
export interface Context {
  root: string;
  host: string;
  scale: number;
  /** The internal ALB's idle timeout (ms). */
  albIdleTimeoutMs: number;
  workspace: Workspace;
  /** Node's arguments for each service's tasks, by service name, read once (supervisor.ts). */
  taskArgs: ReadonlyMap<string, readonly string[]>;
  environment: string;
  settings: HttpApiSettings;
  sink: LineSink;
  say(line: string): void;
  /** Listeners of the running stack (a console); none by default. */
  events: StackEvents;
  /**
   * `<svc>.<env>.<app>.internal`, the other Host a service's listener rule accepts: the internal
   * ALB's alias in the environment's InternalWorkloadsHostedZone (not service discovery, which is
   * `<env>.<app>.local`).
   */
  internalHost(name: string): string;
}

/**
 * ECS sets a task's `secrets:` from SSM or Secrets Manager as it starts the task, and cannot start
 * it without them (the task stops with ResourceInitializationError: "unable to pull secrets",
 * repost.aws/knowledge-center/ecs-unable-to-pull-secrets). The local stack reads neither: a
 * task takes each secret from the environment `npm start` runs in, which every task inherits
 * (supervisor.ts), and one missing there is said before any task starts.
 */
function checkSecrets(service: Service, env: Record<string, string> | undefined): void {
  const missing = Object.entries(service.secrets).filter(
    ([name]) => (env?.[name] ?? process.env[name]) === undefined,
  );
  if (missing.length === 0) return;
  const list = missing.map(([name, from]) => `${name} (on AWS: ${from})`).join(', ');
  const exports = missing.map(([name]) => `export ${name}=...`).join('; ');
  throw new LocalStackError(
    `${service.manifestFile}: no local value for the secrets ${list}: the local stack cannot ` +
      `read SSM or Secrets Manager, so a task takes its secrets from your environment: ${exports}, then npm start`,
  );
}

export function prepare(options: LocalStackOptions): Context {
  const scale = options.healthCheckScale ?? 1;
  if (!(scale > 0)) throw new LocalStackError(`healthCheckScale must be > 0, got ${scale}`);
  const level = options.logLevel;
  // The services read LOG_LEVEL with services/common/src/logger.ts and exit on any other value.
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level.toLowerCase())) {
    throw new LocalStackError(`logLevel "${level}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const root = options.root ?? repoRoot;
  const workspace = loadWorkspace(root);
  const environment = options.environment ?? workspace.environments[0]?.name;
  if (environment === undefined || !workspace.environments.some((e) => e.name === environment)) {
    throw new LocalStackError(
      `environment "${environment ?? ''}" not found under ${root}/copilot/environments`,
    );
  }
  // A service with no entry point, or an image command no task can run, can never start a
  // task: said now, not after the grace period.
  const argsByService = new Map<string, readonly string[]>();
  for (const service of workspace.services) {
    try {
      argsByService.set(service.name, taskArgs(service, root));
    } catch (error) {
      throw new LocalStackError((error as Error).message);
    }
  }
  for (const service of workspace.services) checkSecrets(service, options.env);
  const settings = readHttpApiSettings({
    root,
    ...(options.parameters ? { parameters: options.parameters } : {}),
  });
  const sink: LineSink = options.log
    ? callbackSink(options.log)
    : bufferedSink((chunk) => process.stdout.write(chunk));
  return {
    root,
    host: options.host ?? '127.0.0.1',
    scale,
    albIdleTimeoutMs: options.albIdleTimeoutMs ?? INTERNAL_ALB_IDLE_TIMEOUT_SECONDS * 1000,
    workspace,
    taskArgs: argsByService,
    environment,
    settings,
    sink,
    say: (line) => sink.write(`[local] ${line}`),
    events: new StackEvents(),
    internalHost: (name) => `${name}.${environment}.${workspace.application}.internal`,
  };
}
