// The ECS service scheduler's decisions, apart from the processes and targets they act on
// (scheduler.ts): when a task that exited is replaced, after what delay, and when it is a crash
// loop; what happens to a task its target group finds unhealthy; and the order of a managed
// stop. Sources: the header of scheduler.ts.
import { terminate } from '../../cli/processes.ts';

const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

/**
 * How long to wait before starting the next task of a slot whose last `crashes` tasks in a row
 * exited before they listened: at once for the first, then 0.25, 0.5, 1 s... doubling, at most
 * 30 s (a local schedule: ECS throttles such launches too, on its own schedule).
 */
export function restartDelayMs(crashes: number): number {
  if (crashes <= 1) return 0;
  return Math.min(FIRST_BACKOFF_MS * 2 ** (crashes - 2), MAX_BACKOFF_MS);
}

/** Two tasks in a row that exited before they listened are a crash loop, and reported so. */
export function isCrashLoop(crashes: number): boolean {
  return crashes >= 2;
}

/**
 * Whether ECS starts an unhealthy task's replacement before stopping it: when one more task
 * than are running stays within maximumPercent of the desired count (rounded down, as the
 * DeploymentConfiguration reference rounds it).
 */
export function replacementFirst(
  running: number,
  desired: number,
  maximumPercent: number,
): boolean {
  return running + 1 <= Math.floor((desired * maximumPercent) / 100);
}

/** What the scheduler does about a task whose target turned unhealthy. */
export type UnhealthyAction =
  /** Nothing: the task is gone already, or being replaced. */
  | { kind: 'none' }
  /** Nothing yet: its health-check grace period runs `ms` longer; then look again. */
  | { kind: 'wait'; ms: number }
  /** Start its replacement, stop it once the replacement is healthy. */
  | { kind: 'replace-first' }
  /** No room within maximumPercent: stop it, then start its replacement. */
  | { kind: 'stop-first' };

export interface UnhealthyTask {
  /** Its process still runs. */
  running: boolean;
  /** A replacement of this slot is already under way. */
  replacing: boolean;
  /** The service's health-check grace period, and how long ago the task started (ms). */
  gracePeriodMs: number;
  ageMs: number;
  /** Tasks of the service that count against maximumPercent, this one included. */
  tasks: number;
  desired: number;
  maximumPercent: number;
}

/**
 * ECS ignores a task's failed health checks during the service's grace period
 * (healthCheckGracePeriodSeconds); after it, an unhealthy task is replaced, its replacement
 * first when maximumPercent leaves room for one more task.
 */
export function onUnhealthy(task: UnhealthyTask): UnhealthyAction {
  if (!task.running || task.replacing) return { kind: 'none' };
  const graceLeft = task.gracePeriodMs - task.ageMs;
  if (graceLeft > 0) return { kind: 'wait', ms: graceLeft };
  return replacementFirst(task.tasks, task.desired, task.maximumPercent)
    ? { kind: 'replace-first' }
    : { kind: 'stop-first' };
}

/** What a managed stop acts through: the task's target, its process, and its stop timeout. */
export interface StopSteps {
  /** Deregisters the task's target; resolves once it has drained. */
  deregister(): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  /** Resolves once the process has exited. */
  exited: Promise<unknown>;
  stopTimeoutMs: number;
}

/**
 * ECS stopping a task: its target deregistered and drained first, so no new request reaches
 * it; then SIGTERM; then SIGKILL if it is still running once the stop timeout has passed.
 * Resolves once the process has exited.
 */
export async function managedStop(steps: StopSteps): Promise<void> {
  await steps.deregister();
  await terminate(steps.signal, steps.exited, steps.stopTimeoutMs);
}
