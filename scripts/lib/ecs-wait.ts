// Waiting on a Copilot service deployment through the SDK instead of through `copilot svc
// deploy` (reported to hang on a CloudFormation "Eventual consistency check initiated" event
// since Copilot's end of support): first the service stack, then the ECS service itself.
import {
  type CloudFormationClient,
  DescribeStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeServicesCommand,
  type ECSClient,
  type Service as EcsService,
} from '@aws-sdk/client-ecs';
import { CliError, type Progress } from './cli.ts';
import { describeStack, type EventStream, isSuccess, outputsOf } from './stack-deployer.ts';
import { type BackoffOptions, WaitTimeoutError, waitUntil } from './wait.ts';

/** Steady: the one PRIMARY deployment has all its tasks running. */
export function steadyState(service: EcsService | undefined): { steady: boolean; state: string } {
  if (!service) return { steady: false, state: 'service not found' };
  const deployments = service.deployments ?? [];
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const state =
    `${service.runningCount ?? 0}/${service.desiredCount ?? 0} running, ${deployments.length} deployment(s)` +
    (primary?.rolloutState ? `, rollout ${primary.rolloutState}` : '') +
    (primary?.failedTasks ? `, ${primary.failedTasks} failed tasks` : '');
  const steady =
    service.status === 'ACTIVE' &&
    deployments.length === 1 &&
    primary !== undefined &&
    (service.desiredCount ?? 0) > 0 &&
    service.runningCount === service.desiredCount &&
    primary.runningCount === primary.desiredCount &&
    (primary.rolloutState === undefined || primary.rolloutState === 'COMPLETED');
  return { steady, state };
}

export interface ServiceWaitOptions {
  cfn: CloudFormationClient;
  ecs: ECSClient;
  envStack: string;
  serviceStack: string;
  events: EventStream;
  /** Status before `copilot svc deploy`, to tell a finished new deployment from the old state. */
  previousStatus: string | undefined;
  /** If the stack shows no new event within this window, copilot found nothing to change. */
  settleMs: number;
  timeoutMs: number;
  log: Progress;
  backoff?: BackoffOptions;
}

export async function waitForServiceStack(options: ServiceWaitOptions): Promise<void> {
  const { cfn, serviceStack, log, events } = options;
  const started = Date.now();
  const stack = await waitUntil({
    what: `stack ${serviceStack}`,
    timeoutMs: options.timeoutMs,
    ...options.backoff,
    onState: (state) => log.info(`${serviceStack}: ${state}`),
    poll: async () => {
      await events.poll((line) => log.info(line));
      const s = await describeStack(cfn, serviceStack);
      const status = s?.StackStatus;
      if (!status) return { done: false, state: 'not created yet' };
      if (status.endsWith('_IN_PROGRESS')) return { done: false, state: status };
      const moved = events.events.length > 0 || status !== options.previousStatus;
      if (moved || Date.now() - started >= options.settleMs) return { done: true, value: s };
      return { done: false, state: `${status}, no new event yet` };
    },
  });
  const status = stack?.StackStatus ?? 'UNKNOWN';
  if (!isSuccess(status)) {
    const reasons = events.failureReasons();
    throw new CliError(
      `stack ${serviceStack} ended in ${status}`,
      reasons.join('; ') || stack?.StackStatusReason || 'no failure event found',
      `copilot svc logs --name <svc> --env <env> --since 30m   (then re-run the deploy)`,
    );
  }
  log.ok(`${serviceStack}: ${status}`);
}

/** Finds the ECS cluster and service that Copilot's stacks created. */
export async function locateService(
  cfn: CloudFormationClient,
  envStack: string,
  serviceStack: string,
) {
  const env = outputsOf(await describeStack(cfn, envStack));
  const cluster = env.ClusterId;
  const resources = await cfn.send(new DescribeStackResourcesCommand({ StackName: serviceStack }));
  const service = resources.StackResources?.find(
    (r) => r.ResourceType === 'AWS::ECS::Service',
  )?.PhysicalResourceId;
  if (!cluster || !service) {
    throw new CliError(
      `cannot find the ECS service of ${serviceStack}`,
      `${cluster ? '' : `stack ${envStack} has no ClusterId output; `}${service ? '' : `stack ${serviceStack} has no AWS::ECS::Service`}`,
      `aws cloudformation describe-stack-resources --stack-name ${serviceStack}`,
    );
  }
  return { cluster, service };
}

export async function waitForEcsSteady(options: {
  ecs: ECSClient;
  cluster: string;
  service: string;
  timeoutMs: number;
  log: Progress;
  backoff?: BackoffOptions;
}): Promise<EcsService> {
  const { ecs, log } = options;
  const name = options.service.split('/').pop() ?? options.service;
  try {
    return await waitUntil({
      what: `ECS service ${name}`,
      timeoutMs: options.timeoutMs,
      ...options.backoff,
      onState: (state) => log.info(`${name}: ${state}`),
      poll: async () => {
        const out = await ecs.send(
          new DescribeServicesCommand({ cluster: options.cluster, services: [options.service] }),
        );
        const svc = out.services?.[0];
        const { steady, state } = steadyState(svc);
        return steady && svc ? { done: true, value: svc } : { done: false, state };
      },
    });
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      throw new CliError(
        `ECS service ${name} did not reach a steady state`,
        error.message,
        `aws ecs describe-services --cluster ${options.cluster} --services ${name} --query 'services[0].events[:5]'`,
      );
    }
    throw error;
  }
}
