// An ECS deployment as DescribeServices reports one, for tests of deploy's watch and waits: the
// new PRIMARY deployment of two tasks, none running yet, rolling out; `over` changes any field.
import type { Deployment } from '@aws-sdk/client-ecs';

export const ecsDeployment = (over: Partial<Deployment> = {}): Deployment => ({
  id: 'ecs-svc/new',
  status: 'PRIMARY',
  desiredCount: 2,
  runningCount: 0,
  rolloutState: 'IN_PROGRESS',
  failedTasks: 0,
  ...over,
});
