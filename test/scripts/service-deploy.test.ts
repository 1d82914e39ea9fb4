// deploy.ts's service step against mocked AWS (aws-sdk-client-mock) and an injectable clock: a
// deployment whose tasks crash ends the step within one polling interval of the signal (rollout
// FAILED, failed tasks at the circuit breaker's threshold, a stack rolling back), with the stopped
// reason, exit code, service events and log lines on stderr and the next command; a deployment
// that was already PRIMARY before the deploy is never judged on its history.
import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  type Deployment,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError, createProgress } from '../../scripts/cli/command.ts';
import { deployService } from '../../scripts/cloud/service-deploy.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { ecsDeployment } from '../helpers/ecs-deployment.ts';

const ws = loadWorkspace();
const app = ws.application;
const env = ws.environments[0]?.name ?? 'test';
const svc = ws.services[0]?.name ?? 'book-service';
const SERVICE_STACK = `${app}-${env}-${svc}`;
const SERVICE_ARN = `arn:aws:ecs:us-east-1:123456789012:service/cluster-1/${SERVICE_STACK}-Service-X`;
const INTERVAL = 1_000;

const cfn = mockClient(CloudFormationClient);
const ecs = mockClient(ECSClient);
const logs = mockClient(CloudWatchLogsClient);
// The mocks replace the clients' send for the whole worker (vitest isolate: false): put it back.
afterAll(() => {
  for (const m of [cfn, ecs, logs]) m.restore();
});

/** A fake clock: sleeping only moves time. */
function fakeClock() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
  };
}

function stackStatuses(...statuses: string[]) {
  let i = 0;
  cfn.on(DescribeStacksCommand, { StackName: SERVICE_STACK }).callsFake(async () => {
    const status = statuses[Math.min(i++, statuses.length - 1)];
    if (status === 'absent')
      throw Object.assign(new Error(`Stack with id ${SERVICE_STACK} does not exist`), {
        name: 'ValidationError',
      });
    return {
      Stacks: [{ StackName: SERVICE_STACK, StackStatus: status, CreationTime: new Date() }],
    };
  });
}

/** The ECS service in the service stack; with `firstDeploy`, not before `svc deploy`. */
function serviceResource(firstDeploy = false) {
  const resources = {
    StackResources: [
      {
        LogicalResourceId: 'Service',
        ResourceType: 'AWS::ECS::Service',
        PhysicalResourceId: SERVICE_ARN,
        ResourceStatus: 'CREATE_IN_PROGRESS' as const,
        Timestamp: new Date(),
      },
    ],
  };
  const on = cfn.on(DescribeStackResourcesCommand);
  if (firstDeploy) on.rejectsOnce(new Error(`Stack with id ${SERVICE_STACK} does not exist`));
  on.resolves(resources);
}

/** DescribeServices answers in turn; records when each answer was given. */
function ecsDeployments(clock: { now: () => number }, answers: Deployment[][]) {
  const calls: { at: number; rollout: string | undefined }[] = [];
  ecs.on(DescribeServicesCommand).callsFake(async () => {
    const deployments = answers[Math.min(calls.length, answers.length - 1)] ?? [];
    calls.push({
      at: clock.now(),
      rollout: deployments.find((d) => d.status === 'PRIMARY')?.rolloutState,
    });
    return {
      services: [
        {
          serviceArn: SERVICE_ARN,
          status: 'ACTIVE',
          desiredCount: 2,
          runningCount: deployments.reduce((n, d) => n + (d.runningCount ?? 0), 0),
          deployments,
          events: [
            {
              createdAt: new Date(3_000),
              message: `(service ${svc}) has started 2 tasks: (task t1) (task t2).`,
            },
            {
              createdAt: new Date(2_000),
              message: `(service ${svc}) deployment ecs-svc/new deployment failed: tasks failed to start.`,
            },
          ],
        },
      ],
    };
  });
  return calls;
}

const primary = ecsDeployment;

beforeEach(() => {
  for (const m of [cfn, ecs, logs]) m.reset();
  beforeEachMocks();
});

function beforeEachMocks() {
  cfn.on(DescribeStacksCommand, { StackName: `${app}-${env}` }).resolves({
    Stacks: [
      {
        StackName: `${app}-${env}`,
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [{ OutputKey: 'ClusterId', OutputValue: 'cluster-1' }],
      },
    ],
  });
  cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
  serviceResource();
  ecs
    .on(ListTasksCommand)
    .resolves({ taskArns: ['arn:aws:ecs:us-east-1:123456789012:task/cluster-1/t1'] });
  ecs.on(DescribeTasksCommand).resolves({
    tasks: [
      {
        taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/cluster-1/t1',
        startedBy: 'ecs-svc/new',
        stoppedAt: new Date(4_000),
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: svc, exitCode: 1 }],
      },
    ],
  });
  logs.on(GetLogEventsCommand, { logStreamName: `copilot/${svc}/t1` }).resolves({
    events: [{ message: 'Error: Cannot find module /app/server.mjs\n' }],
  });
}
afterEach(() => {
  for (const m of [cfn, ecs, logs]) m.reset();
});

async function step(clock: ReturnType<typeof fakeClock>) {
  const lines: string[] = [];
  const calls: string[][] = [];
  const copilot = {
    must: async (args: string[]) => {
      calls.push(args);
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  const outcome = await deployService({
    copilot,
    aws: {
      cfn: new CloudFormationClient({ region: 'us-east-1' }),
      ecs: new ECSClient({ region: 'us-east-1' }),
      logs: new CloudWatchLogsClient({ region: 'us-east-1' }),
    },
    app,
    env,
    svc,
    timeoutMs: 3 * 60 * 60_000,
    settleMs: 60_000,
    log: createProgress('deploy', (l) => lines.push(l)),
    backoff: { initialDelayMs: INTERVAL, maxDelayMs: INTERVAL },
    clock,
    today: '2026-12-06',
  }).catch((e: unknown) => e);
  return { outcome, stderr: lines.join(''), calls };
}

describe("deploy's service step", () => {
  it('stops within one polling interval of a FAILED rollout and says why', async () => {
    const clock = fakeClock();
    stackStatuses('absent', 'CREATE_IN_PROGRESS');
    serviceResource(true);
    const calls = ecsDeployments(clock, [
      [primary({ failedTasks: 0 })],
      [primary({ failedTasks: 1 })],
      [primary({ failedTasks: 1 })],
      [
        primary({
          failedTasks: 2,
          rolloutState: 'FAILED',
          rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
        }),
      ],
    ]);
    const { outcome, stderr, calls: copilotCalls } = await step(clock);
    expect(copilotCalls).toEqual([
      ['svc', 'deploy', '--name', svc, '--env', env, '--app', app, '--detach'],
    ]);
    expect(outcome).toBeInstanceOf(CliError);
    const error = outcome as CliError;
    const failedAt = calls.find((c) => c.rollout === 'FAILED')?.at ?? Number.NaN;
    expect(calls.at(-1)?.rollout).toBe('FAILED');
    expect(clock.now() - failedAt).toBeLessThan(INTERVAL);
    expect(error.what).toBe(`deploy: service ${svc} failed to deploy`);
    expect(error.why).toMatch(
      /rollout FAILED: ECS deployment circuit breaker: tasks failed to start\./,
    );
    expect(error.why).toMatch(/Essential container in task exited; container \S+ exited 1/);
    expect(error.next).toMatch(
      new RegExp(`^copilot svc logs --name ${svc} --env ${env} .*--only services --service ${svc}`),
    );
    expect(stderr).toMatch(/t1: Essential container in task exited/);
    expect(stderr).toMatch(new RegExp(`container ${svc}: exit code 1`));
    expect(stderr).toMatch(/deployment ecs-svc\/new deployment failed: tasks failed to start/);
    expect(stderr).toMatch(/Error: Cannot find module \/app\/server\.mjs/);
  });

  it('stops when failed tasks reach the circuit breaker threshold, or the stack rolls back', async () => {
    const clock = fakeClock();
    stackStatuses('absent', 'CREATE_IN_PROGRESS');
    serviceResource(true);
    ecsDeployments(clock, [[primary({ failedTasks: 0 })], [primary({ failedTasks: 3 })]]);
    const keepStopping = (await step(clock)).outcome as CliError;
    expect(keepStopping.why).toMatch(
      /tasks keep stopping: 3 failed tasks \(the circuit breaker stops at 3\)/,
    );

    const later = fakeClock();
    cfn.reset();
    beforeEachMocks();
    stackStatuses('UPDATE_COMPLETE', 'UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS');
    const calls = ecsDeployments(later, [
      [primary({ id: 'ecs-svc/old', rolloutState: 'COMPLETED', runningCount: 2 })],
    ]);
    const rolling = (await step(later)).outcome as CliError;
    expect(rolling.why).toMatch(
      new RegExp(`stack ${SERVICE_STACK} is UPDATE_ROLLBACK_IN_PROGRESS`),
    );
    expect(calls.length).toBeGreaterThan(0);
  });

  it('does not judge the deployment that was PRIMARY before the deploy', async () => {
    const clock = fakeClock();
    stackStatuses('UPDATE_COMPLETE', 'UPDATE_COMPLETE');
    // An old deployment that once lost 5 tasks, and no change: the step succeeds.
    ecsDeployments(clock, [
      [primary({ id: 'ecs-svc/old', rolloutState: 'COMPLETED', runningCount: 2, failedTasks: 5 })],
    ]);
    const { outcome } = await step(clock);
    expect(outcome).toMatchObject({ serviceArn: SERVICE_ARN, runningCount: 2 });
  });

  it('names the function whose runtime Lambda refused, and prints the patch that fixes it', async () => {
    // aws/copilot-cli#4940: the refusal, on the function's CREATE_FAILED event.
    const refusal = {
      EventId: 'e1',
      StackName: SERVICE_STACK,
      LogicalResourceId: 'DynamicDesiredCountFunction',
      ResourceType: 'AWS::Lambda::Function',
      ResourceStatus: 'CREATE_FAILED' as const,
      Timestamp: new Date(5_000),
      ResourceStatusReason:
        'Resource handler returned message: "The runtime parameter of nodejs20.x is no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime (nodejs24.x) while creating or updating functions. (Service: Lambda, Status Code: 400, Request ID: 1)" (RequestToken: 2, HandlerErrorCode: InvalidRequest)',
    };
    // Rolling back (the watch's signal) or already rolled back (the stack wait's): either way.
    for (const statuses of [
      ['absent', 'CREATE_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS'],
      ['absent', 'ROLLBACK_COMPLETE'],
    ]) {
      cfn.reset();
      beforeEachMocks();
      let polls = 0;
      cfn
        .on(DescribeStackEventsCommand)
        .callsFake(async () => ({ StackEvents: polls++ === 0 ? [] : [refusal] }));
      stackStatuses(...statuses);
      serviceResource(true);
      const clock = fakeClock();
      ecsDeployments(clock, [[primary({})]]);
      const { outcome, stderr } = await step(clock);
      expect(outcome, statuses.join()).toBeInstanceOf(CliError);
      const error = outcome as CliError;
      expect(error.what).toBe(
        `deploy: stack ${SERVICE_STACK} failed: Lambda refused a function's runtime`,
      );
      expect(error.why).toBe(
        'DynamicDesiredCountFunction runs nodejs20.x, which Lambda no longer accepts for creating or updating functions (the fix is printed above)',
      );
      expect(error.next).toMatch(
        new RegExp(
          `^copilot/${svc}/overrides/cfn\\.patches\\.yml: set nodejs24\\.x \\(npm run check:runtimes\\), then npx zx scripts/deploy\\.ts --env ${env} --only services --service ${svc}$`,
        ),
      );
      expect(stderr).toContain(
        `    - op: replace\n      path: /Resources/DynamicDesiredCountFunction/Properties/Runtime\n      value: nodejs24.x\n`,
      );
      // No ECS post-mortem: the tasks are not what failed.
      expect(stderr).not.toMatch(/stopped tasks/);
    }
  });
});
