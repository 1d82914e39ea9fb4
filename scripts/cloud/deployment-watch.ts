// Watching a Copilot service's new ECS deployment while deploy.ts waits, so a deployment that can
// never stabilise ends the wait at once instead of after CloudFormation's hours
// (aws/copilot-cli#1180, #2672: a crash-looping service keeps the stack UPDATE_IN_PROGRESS).
// Copilot gives every Backend Service the deployment circuit breaker with rollback
// (aws/copilot-cli v1.33.2 workloads/partials/cf/service-base-properties.yml:
// DeploymentCircuitBreaker Enable: true, Rollback: true), so ECS marks a deployment whose tasks
// keep failing FAILED (Deployment.rolloutState) and rolls it back; the stack then rolls back too.
// A deployment is failing when, on the PRIMARY deployment or the stack:
// - rolloutState is FAILED;
// - failedTasks reached the circuit breaker's threshold: 0.5 x desired count, at least 3, at
//   most 200 (ECS API reference, ServiceDeploymentCircuitBreaker.threshold), or rose on each of
//   the last three polls (tasks keep stopping, whatever the breaker does);
// - the stack is rolling back (*ROLLBACK_IN_PROGRESS).
// The deployment that was PRIMARY before the deploy is never judged: its counts are history.
import {
  type CloudFormationClient,
  DescribeStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import {
  type Deployment,
  DescribeServicesCommand,
  type ECSClient,
  type Service,
} from '@aws-sdk/client-ecs';
import { ENV_OUTPUT } from './aws.ts';
import { stackOutputs } from './stack-deployer.ts';

export interface EcsTarget {
  cluster: string;
  service: string;
}

export type WatchResult =
  | { failing: false; state: string; service?: Service }
  | { failing: true; reason: string; target: EcsTarget | undefined; service: Service | undefined };

/** The circuit breaker's failure threshold for a desired count (min 3, max 200). */
function breakerThreshold(desired: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desired * 0.5)));
}

export const primaryOf = (s: Service | undefined): Deployment | undefined =>
  s?.deployments?.find((d) => d.status === 'PRIMARY');

export class DeploymentWatch {
  readonly #cfn: CloudFormationClient;
  readonly #ecs: ECSClient;
  readonly #envStack: string;
  readonly #serviceStack: string;
  #target: EcsTarget | undefined;
  /** The PRIMARY deployment before `svc deploy`: not the one being watched. */
  #previous: string | undefined;
  /** failedTasks as seen on each poll, per deployment id. */
  readonly #failed = new Map<string, number[]>();

  constructor(o: {
    cfn: CloudFormationClient;
    ecs: ECSClient;
    envStack: string;
    serviceStack: string;
  }) {
    this.#cfn = o.cfn;
    this.#ecs = o.ecs;
    this.#envStack = o.envStack;
    this.#serviceStack = o.serviceStack;
  }

  get target(): EcsTarget | undefined {
    return this.#target;
  }

  /** Remembers the deployment that is PRIMARY before the deploy, so it is never judged. */
  async baseline(): Promise<void> {
    const target = await this.#locate();
    if (!target) return;
    const out = await this.#ecs.send(
      new DescribeServicesCommand({ cluster: target.cluster, services: [target.service] }),
    );
    this.#previous = primaryOf(out.services?.[0])?.id;
  }

  /** One look: the stack's status (if known) and the ECS service's PRIMARY deployment. */
  async check(stackStatus?: string): Promise<WatchResult> {
    const target = await this.#locate();
    const service = target
      ? (
          await this.#ecs.send(
            new DescribeServicesCommand({ cluster: target.cluster, services: [target.service] }),
          )
        ).services?.[0]
      : undefined;
    const reason = this.#failure(service, stackStatus);
    if (reason) return { failing: true, reason, target, service };
    if (!target) return { failing: false, state: 'ECS service not created yet' };
    const primary = primaryOf(service);
    const waiting =
      primary?.id && primary.id === this.#previous ? ' (new deployment not started yet)' : '';
    return {
      failing: false,
      state: `${describe(service)}${waiting}`,
      ...(service ? { service } : {}),
    };
  }

  #failure(service: Service | undefined, stackStatus: string | undefined): string | undefined {
    if (stackStatus?.endsWith('ROLLBACK_IN_PROGRESS'))
      return `stack ${this.#serviceStack} is ${stackStatus}`;
    const primary = primaryOf(service);
    if (!primary?.id || primary.id === this.#previous) return undefined;
    if (primary.rolloutState === 'FAILED') {
      return `the deployment's rollout FAILED${primary.rolloutStateReason ? `: ${primary.rolloutStateReason}` : ''}`;
    }
    const failed = primary.failedTasks ?? 0;
    const seen = [...(this.#failed.get(primary.id) ?? []), failed];
    this.#failed.set(primary.id, seen);
    const threshold = breakerThreshold(primary.desiredCount ?? service?.desiredCount ?? 0);
    const last = seen.slice(-4);
    const rising = last.length === 4 && last.every((n, i) => i === 0 || n > (last[i - 1] ?? 0));
    if (failed >= threshold || rising) {
      return `its tasks keep stopping: ${failed} failed tasks (the circuit breaker stops at ${threshold})`;
    }
    return undefined;
  }

  async #locate(): Promise<EcsTarget | undefined> {
    if (this.#target) return this.#target;
    const cluster = (await stackOutputs(this.#cfn, this.#envStack))?.[ENV_OUTPUT.clusterId];
    const resources = await this.#cfn
      .send(new DescribeStackResourcesCommand({ StackName: this.#serviceStack }))
      .catch(() => undefined);
    const service = resources?.StackResources?.find(
      (r) => r.ResourceType === 'AWS::ECS::Service',
    )?.PhysicalResourceId;
    if (cluster && service) this.#target = { cluster, service };
    return this.#target;
  }
}

export function describe(service: Service | undefined): string {
  if (!service) return 'service not found';
  const deployments = service.deployments ?? [];
  const primary = primaryOf(service);
  return (
    `${service.runningCount ?? 0}/${service.desiredCount ?? 0} running, ${deployments.length} deployment(s)` +
    (primary?.rolloutState ? `, rollout ${primary.rolloutState}` : '') +
    (primary?.failedTasks ? `, ${primary.failedTasks} failed tasks` : '')
  );
}
