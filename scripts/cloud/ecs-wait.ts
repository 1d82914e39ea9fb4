// Waiting on a Copilot service deployment through the SDK instead of through `copilot svc
// deploy` (reported to hang on a CloudFormation "Eventual consistency check initiated" event
// since Copilot's end of support): first the service stack, then the ECS service itself. Both
// waits look at the new ECS deployment on every poll (deployment-watch.ts) and stop at once when
// it is failing, instead of waiting out CloudFormation.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { Service as EcsService } from '@aws-sdk/client-ecs';
import { CliError, type Progress } from '../cli/command.ts';
import { type DeploymentWatch, describe, primaryOf, type WatchResult } from './deployment-watch.ts';
import { describeStack, type EventStream, isSuccess } from './stack-deployer.ts';
import { type BackoffOptions, WaitTimeoutError, waitUntil } from './wait.ts';

/** An injectable clock: tests run hours of polling in no time. */
export interface Clock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** The watch saw the deployment failing; the caller explains it (failure-report.ts). */
export class DeploymentFailed extends Error {
  override name = 'DeploymentFailed';
  readonly result: Extract<WatchResult, { failing: true }>;
  constructor(result: Extract<WatchResult, { failing: true }>) {
    super(result.reason);
    this.result = result;
  }
}

/** Steady: the one PRIMARY deployment has all its tasks running. */
function steadyState(service: EcsService | undefined): { steady: boolean; state: string } {
  const deployments = service?.deployments ?? [];
  const primary = primaryOf(service);
  const steady =
    service?.status === 'ACTIVE' &&
    deployments.length === 1 &&
    primary !== undefined &&
    (service.desiredCount ?? 0) > 0 &&
    service.runningCount === service.desiredCount &&
    primary.runningCount === primary.desiredCount &&
    (primary.rolloutState === undefined || primary.rolloutState === 'COMPLETED');
  return { steady, state: describe(service) };
}

interface ServiceWaitOptions {
  cfn: CloudFormationClient;
  serviceStack: string;
  /** The Copilot service and environment, for the next command a failure names. */
  svc: string;
  env: string;
  events: EventStream;
  watch: DeploymentWatch;
  /** Status before `copilot svc deploy`, to tell a finished new deployment from the old state. */
  previousStatus: string | undefined;
  /** If the stack shows no new event within this window, copilot found nothing to change. */
  settleMs: number;
  timeoutMs: number;
  log: Progress;
  backoff?: BackoffOptions;
  clock?: Clock;
}

const clockOf = (clock: Clock | undefined) => (clock ? { now: clock.now, sleep: clock.sleep } : {});

export async function waitForServiceStack(options: ServiceWaitOptions): Promise<void> {
  const { serviceStack, log, events } = options;
  const stack = await settledServiceStack(options);
  const status = stack?.StackStatus ?? 'UNKNOWN';
  if (!isSuccess(status)) {
    const reasons = events.failureReasons();
    throw new CliError(
      `stack ${serviceStack} ended in ${status}`,
      reasons.join('; ') || stack?.StackStatusReason || 'no failure event found',
      `copilot svc logs --name ${options.svc} --env ${options.env} --since 30m   (then re-run the deploy)`,
    );
  }
  log.ok(`${serviceStack}: ${status}`);
}

/** The service stack once settled; past the timeout, what it was still doing and where to look. */
async function settledServiceStack(options: ServiceWaitOptions) {
  try {
    return await pollServiceStack(options);
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    const { serviceStack } = options;
    throw new CliError(
      `stack ${serviceStack} did not settle`,
      error.message,
      `aws cloudformation describe-stack-events --stack-name ${serviceStack} --max-items 10   (CloudFormation goes on; re-run the deploy once the stack has settled)`,
    );
  }
}

function pollServiceStack(options: ServiceWaitOptions) {
  const { cfn, serviceStack, log, events, watch } = options;
  const now = options.clock?.now ?? Date.now;
  const started = now();
  return waitUntil({
    what: `stack ${serviceStack}`,
    timeoutMs: options.timeoutMs,
    ...options.backoff,
    ...clockOf(options.clock),
    onState: (state) => log.info(`${serviceStack}: ${state}`),
    poll: async () => {
      await events.poll((line) => log.info(line));
      const s = await describeStack(cfn, serviceStack);
      const status = s?.StackStatus;
      const seen = await watch.check(status);
      if (seen.failing) throw new DeploymentFailed(seen);
      if (!status) return { done: false, state: 'not created yet' };
      if (status.endsWith('_IN_PROGRESS'))
        return { done: false, state: `${status}; ${seen.state}` };
      const moved = events.events.length > 0 || status !== options.previousStatus;
      if (moved || now() - started >= options.settleMs) return { done: true, value: s };
      return { done: false, state: `${status}, no new event yet` };
    },
  });
}

export async function waitForEcsSteady(options: {
  watch: DeploymentWatch;
  timeoutMs: number;
  log: Progress;
  backoff?: BackoffOptions;
  clock?: Clock;
}): Promise<EcsService> {
  const { watch, log } = options;
  const name = watch.target?.service.split('/').pop() ?? 'service';
  try {
    return await waitUntil({
      what: `ECS service ${name}`,
      timeoutMs: options.timeoutMs,
      ...options.backoff,
      ...clockOf(options.clock),
      onState: (state) => log.info(`${name}: ${state}`),
      poll: async () => {
        const seen = await watch.check();
        if (seen.failing) throw new DeploymentFailed(seen);
        const { steady, state } = steadyState(seen.service);
        return steady && seen.service
          ? { done: true, value: seen.service }
          : { done: false, state };
      },
    });
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      throw new CliError(
        `ECS service ${name} did not reach a steady state`,
        error.message,
        `aws ecs describe-services --cluster ${watch.target?.cluster ?? '<cluster>'} --services ${name} --query 'services[0].events[:5]'`,
      );
    }
    throw error;
  }
}
