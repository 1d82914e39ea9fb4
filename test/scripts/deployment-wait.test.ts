// deploy's waits on a Copilot service's ECS deployment (scripts/cloud/deployment-watch.ts,
// scripts/cloud/ecs-wait.ts), in this process against fake CloudFormation and ECS clients (a
// `send` answering per command class) and a clock of the test's own: where the watch finds the
// service (the environment stack's ClusterId output, the service stack's AWS::ECS::Service); when
// the new deployment is failing (rollout FAILED, failed tasks at the circuit breaker's threshold
// or rising poll after poll, a stack rolling back) and that the deployment PRIMARY before the
// deploy is never judged; when the service stack's wait ends (moved, settled, failed) and when the
// ECS service is steady; and what the user reads on the way and at the end.
import {
  type CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  type StackEvent,
  type StackResource,
} from '@aws-sdk/client-cloudformation';
import {
  type Deployment,
  DescribeServicesCommand,
  type ECSClient,
  type Service,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { CliError, createProgress } from '../../scripts/cli/command.ts';
import {
  DeploymentWatch,
  describe as describeService,
  primaryOf,
} from '../../scripts/cloud/deployment-watch.ts';
import {
  DeploymentFailed,
  waitForEcsSteady,
  waitForServiceStack,
} from '../../scripts/cloud/ecs-wait.ts';
import { EventStream } from '../../scripts/cloud/stack-deployer.ts';
import { cliErrorOf } from '../helpers/cli-error.ts';
import { ecsDeployment } from '../helpers/ecs-deployment.ts';

const ENV_STACK = 'bookstore-test';
const SERVICE_STACK = 'bookstore-test-book-service';
const CLUSTER = 'bookstore-test-Cluster-1';
const NAME = 'bookstore-test-book-service-Service-X';
const SERVICE_ARN = `arn:aws:ecs:us-east-1:123456789012:service/${CLUSTER}/${NAME}`;
const INTERVAL = 1_000;
const PACING = { backoff: { initialDelayMs: INTERVAL, maxDelayMs: INTERVAL } };

const missing = (name: string) =>
  Object.assign(new Error(`Stack with id ${name} does not exist`), { name: 'ValidationError' });

const ecsResource = (over: Partial<StackResource> = {}): StackResource => ({
  LogicalResourceId: 'Service',
  ResourceType: 'AWS::ECS::Service',
  PhysicalResourceId: SERVICE_ARN,
  ResourceStatus: 'CREATE_COMPLETE',
  Timestamp: new Date(0),
  ...over,
});

/** The service stack's other resources: listed before the ECS service, as CloudFormation may. */
const otherResources: StackResource[] = [
  ecsResource({
    LogicalResourceId: 'TaskDefinition',
    ResourceType: 'AWS::ECS::TaskDefinition',
    PhysicalResourceId: 'arn:aws:ecs:us-east-1:123456789012:task-definition/book:1',
  }),
  ecsResource({
    LogicalResourceId: 'TargetGroup',
    ResourceType: 'AWS::ElasticLoadBalancingV2::TargetGroup',
    PhysicalResourceId: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg/1',
  }),
];

const deployment = ecsDeployment;

const service = (deployments: Deployment[], over: Partial<Service> = {}): Service => ({
  serviceArn: SERVICE_ARN,
  status: 'ACTIVE',
  desiredCount: 2,
  runningCount: deployments.reduce((n, d) => n + (d.runningCount ?? 0), 0),
  deployments,
  ...over,
});

/** A service whose one deployment runs all its tasks: what ECS shows once it is steady. */
const steady = (over: Partial<Deployment> = {}, svc: Partial<Service> = {}): Service =>
  service([deployment({ runningCount: 2, rolloutState: 'COMPLETED', ...over })], svc);

const stackEvent = (at: number, status: StackEvent['ResourceStatus'], reason?: string) => ({
  StackId: 'stack-id',
  StackName: SERVICE_STACK,
  EventId: `e${at}`,
  LogicalResourceId: 'Service',
  ResourceType: 'AWS::ECS::Service',
  ResourceStatus: status,
  Timestamp: new Date(at),
  ...(reason ? { ResourceStatusReason: reason } : {}),
});

const OLD_EVENT = stackEvent(500, 'DELETE_COMPLETE');

/** The i-th answer of a list answered in turn, the last one repeated. */
function turn<T>(list: readonly T[], i: number): T {
  return list[Math.min(i, list.length - 1)] as T;
}

interface World {
  /** The environment stack's outputs, or 'absent'. Default: its ClusterId. */
  env?: Record<string, string> | 'absent';
  /** DescribeStackResources of the service stack, in turn (an Error is thrown). */
  resources?: (StackResource[] | Error)[];
  /** The service stack's status, in turn ('absent': no such stack). */
  stacks?: string[];
  stackReason?: string;
  /** DescribeStackEvents of the service stack, in turn (newest first, as the API answers). */
  events?: StackEvent[][];
  /** DescribeServices, in turn (undefined: no such service), or an Error thrown. */
  services?: (Service | undefined | Error)[];
}

/** Fake CloudFormation and ECS clients over a world; records each call by command class. */
function fakeAws(world: World) {
  const calls: { command: string; input: unknown }[] = [];
  const count = (command: string) => calls.filter((c) => c.command === command).length;
  const answer = (command: { constructor: { name: string }; input: unknown }) => {
    const n = count(command.constructor.name);
    calls.push({ command: command.constructor.name, input: command.input });
    return n;
  };
  let serviceStackLooks = 0;
  const cfn = {
    send: async (command: unknown) => {
      if (command instanceof DescribeStacksCommand) {
        const name = command.input.StackName ?? '';
        answer(command);
        if (name === ENV_STACK) {
          const env = world.env ?? { ClusterId: CLUSTER };
          if (env === 'absent') throw missing(name);
          const Outputs = Object.entries(env).map(([OutputKey, OutputValue]) => ({
            OutputKey,
            OutputValue,
          }));
          return { Stacks: [{ StackName: name, StackStatus: 'UPDATE_COMPLETE', Outputs }] };
        }
        const status = turn(world.stacks ?? ['absent'], serviceStackLooks++);
        if (status === 'absent') throw missing(name);
        return {
          Stacks: [
            {
              StackName: name,
              StackStatus: status,
              ...(world.stackReason ? { StackStatusReason: world.stackReason } : {}),
            },
          ],
        };
      }
      if (command instanceof DescribeStackResourcesCommand) {
        const got = turn(world.resources ?? [[...otherResources, ecsResource()]], answer(command));
        if (got instanceof Error) throw got;
        return { StackResources: got };
      }
      if (command instanceof DescribeStackEventsCommand) {
        return { StackEvents: turn(world.events ?? [[]], answer(command)) };
      }
      throw new Error(`unexpected CloudFormation call ${String(command)}`);
    },
  } as unknown as CloudFormationClient;
  const ecs = {
    send: async (command: unknown) => {
      if (command instanceof DescribeServicesCommand) {
        const got = turn(world.services ?? [undefined], answer(command));
        if (got instanceof Error) throw got;
        // ECS names in failures what it does not know in that cluster (DescribeServices).
        const { cluster, services = [] } = command.input;
        const known = got !== undefined && cluster === CLUSTER && services.includes(SERVICE_ARN);
        return {
          services: known ? [got] : [],
          failures: services
            .filter((s) => !known || s !== SERVICE_ARN)
            .map((arn) => ({ arn, reason: 'MISSING' })),
        };
      }
      throw new Error(`unexpected ECS call ${String(command)}`);
    },
  } as unknown as ECSClient;
  return { cfn, ecs, calls, count };
}

function watchOver(aws: ReturnType<typeof fakeAws>): DeploymentWatch {
  return new DeploymentWatch({
    cfn: aws.cfn,
    ecs: aws.ecs,
    envStack: ENV_STACK,
    serviceStack: SERVICE_STACK,
  });
}

/** A fake clock on a day's time: sleeping only moves it; records each sleep. */
function fakeClock() {
  const start = Date.UTC(2026, 11, 6, 12);
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    elapsed: () => t - start,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

function progress() {
  const lines: string[] = [];
  return { log: createProgress('deploy', (l) => lines.push(l)), text: () => lines.join('') };
}

/** The watch's answers for a list of ECS snapshots, one check each. */
async function checks(services: Service[], stackStatus?: string) {
  const watch = watchOver(fakeAws({ services }));
  const seen = [];
  for (const _ of services) seen.push(await watch.check(stackStatus));
  return seen;
}

const failedTasks = (desiredCount: number, counts: number[]) =>
  counts.map((n) => service([deployment({ desiredCount, failedTasks: n })]));

const reasons = (results: { failing: boolean; reason?: string }[]) =>
  results.map((r) => (r.failing ? r.reason : 'ok'));

describe('where the watch finds the ECS service', () => {
  it("reads the environment stack's ClusterId and the service stack's AWS::ECS::Service", async () => {
    const aws = fakeAws({ services: [service([deployment()])] });
    const watch = watchOver(aws);
    expect(watch.target).toBeUndefined();
    const seen = await watch.check();
    expect(watch.target).toEqual({ cluster: CLUSTER, service: SERVICE_ARN });
    expect(seen).toEqual({
      failing: false,
      state: '0/2 running, 1 deployment(s), rollout IN_PROGRESS',
      service: service([deployment()]),
    });
    expect(aws.calls).toEqual([
      { command: 'DescribeStacksCommand', input: { StackName: ENV_STACK } },
      { command: 'DescribeStackResourcesCommand', input: { StackName: SERVICE_STACK } },
      {
        command: 'DescribeServicesCommand',
        input: { cluster: CLUSTER, services: [SERVICE_ARN] },
      },
    ]);
  });

  it('looks it up once: later checks only describe the ECS service', async () => {
    const aws = fakeAws({ services: [service([deployment()])] });
    const watch = watchOver(aws);
    await watch.baseline();
    await watch.check();
    await watch.check('UPDATE_IN_PROGRESS');
    expect(aws.count('DescribeStacksCommand')).toBe(1);
    expect(aws.count('DescribeStackResourcesCommand')).toBe(1);
    expect(aws.count('DescribeServicesCommand')).toBe(3);
  });

  it('is "not created yet" until both the cluster and the service exist, then finds them', async () => {
    for (const world of [
      { env: 'absent' as const },
      { env: {} },
      { env: { ClusterId: '' } },
      { resources: [missing(SERVICE_STACK)] },
      { resources: [otherResources] },
      { resources: [[ecsResource({ PhysicalResourceId: '' })]] },
      { resources: [[ecsResource({ PhysicalResourceId: undefined })]] },
    ] satisfies World[]) {
      const aws = fakeAws({ ...world, services: [service([deployment({ failedTasks: 50 })])] });
      const watch = watchOver(aws);
      await watch.baseline();
      const seen = await watch.check();
      expect({ world, seen, target: watch.target }).toEqual({
        world,
        seen: { failing: false, state: 'ECS service not created yet' },
        target: undefined,
      });
      // Nothing to describe: ECS is not asked about a service it cannot name.
      expect(aws.count('DescribeServicesCommand'), JSON.stringify(world)).toBe(0);
    }
    // The service stack appears on the second look: the third finds the service.
    const aws = fakeAws({
      resources: [missing(SERVICE_STACK), [], [ecsResource()]],
      services: [service([deployment()])],
    });
    const watch = watchOver(aws);
    expect((await watch.check()).failing).toBe(false);
    expect(watch.target).toBeUndefined();
    await watch.check();
    expect(watch.target).toBeUndefined();
    expect(await watch.check()).toMatchObject({ failing: false, state: /^0\/2 running/ });
    expect(watch.target).toEqual({ cluster: CLUSTER, service: SERVICE_ARN });
  });

  it('says "service not found" when ECS does not know the service', async () => {
    const watch = watchOver(fakeAws({ services: [undefined] }));
    expect(await watch.check()).toEqual({ failing: false, state: 'service not found' });
  });

  it("passes on ECS's errors to the wait", async () => {
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    await expect(watchOver(fakeAws({ services: [denied] })).check()).rejects.toBe(denied);
    await expect(watchOver(fakeAws({ services: [denied] })).baseline()).rejects.toBe(denied);
  });
});

describe('when the new deployment is failing', () => {
  it("stops on a FAILED rollout, with ECS's reason when it gives one", async () => {
    const why = 'ECS deployment circuit breaker: tasks failed to start.';
    const [withReason] = await checks([
      service([deployment({ rolloutState: 'FAILED', rolloutStateReason: why })]),
    ]);
    expect(withReason).toEqual({
      failing: true,
      reason: `the deployment's rollout FAILED: ${why}`,
      target: { cluster: CLUSTER, service: SERVICE_ARN },
      service: service([deployment({ rolloutState: 'FAILED', rolloutStateReason: why })]),
    });
    const [bare] = await checks([service([deployment({ rolloutState: 'FAILED' })])]);
    expect(bare).toMatchObject({ failing: true, reason: "the deployment's rollout FAILED" });
    const [empty] = await checks([
      service([deployment({ rolloutState: 'FAILED', rolloutStateReason: '' })]),
    ]);
    expect(empty).toMatchObject({ failing: true, reason: "the deployment's rollout FAILED" });
  });

  it("stops when failed tasks reach the breaker's threshold: half the desired count, 3 to 200", async () => {
    // ECS API reference, ServiceDeploymentCircuitBreaker.threshold: 0.5 x desired task count,
    // rounded up, at least 3, at most 200.
    for (const [desired, threshold] of [
      [1, 3],
      [2, 3],
      [6, 3],
      [7, 4],
      [8, 4],
      [9, 5],
      [20, 10],
      [399, 200],
      [400, 200],
      [1_000, 200],
    ] as const) {
      const [below] = await checks(failedTasks(desired, [threshold - 1]));
      const [at] = await checks(failedTasks(desired, [threshold]));
      const [above] = await checks(failedTasks(desired, [threshold + 1]));
      expect({ desired, below: reasons([below ?? { failing: false }]) }).toEqual({
        desired,
        below: ['ok'],
      });
      expect({ desired, at: reasons([at ?? { failing: false }]) }).toEqual({
        desired,
        at: [
          `its tasks keep stopping: ${threshold} failed tasks (the circuit breaker stops at ${threshold})`,
        ],
      });
      expect(above).toMatchObject({
        failing: true,
        reason: `its tasks keep stopping: ${threshold + 1} failed tasks (the circuit breaker stops at ${threshold})`,
      });
    }
  });

  it("takes the service's desired count when the deployment has none, else the minimum", async () => {
    const noCount = (failed: number, svc: Partial<Service>) =>
      service([deployment({ desiredCount: undefined, failedTasks: failed })], svc);
    expect(reasons(await checks([noCount(4, { desiredCount: 10 })]))).toEqual(['ok']);
    expect(reasons(await checks([noCount(5, { desiredCount: 10 })]))).toEqual([
      'its tasks keep stopping: 5 failed tasks (the circuit breaker stops at 5)',
    ]);
    expect(reasons(await checks([noCount(3, { desiredCount: undefined })]))).toEqual([
      'its tasks keep stopping: 3 failed tasks (the circuit breaker stops at 3)',
    ]);
    // No failedTasks at all: none failed.
    expect(
      reasons(await checks([service([deployment({ failedTasks: undefined, desiredCount: 1 })])])),
    ).toEqual(['ok']);
  });

  it('stops when failed tasks rose on each of the last three polls, below the threshold', async () => {
    // 20 desired: the breaker stops at 10.
    expect(reasons(await checks(failedTasks(20, [1, 2, 3, 4])))).toEqual([
      'ok',
      'ok',
      'ok',
      'its tasks keep stopping: 4 failed tasks (the circuit breaker stops at 10)',
    ]);
    expect(reasons(await checks(failedTasks(20, [0, 1, 2, 3]))).at(-1)).toBe(
      'its tasks keep stopping: 3 failed tasks (the circuit breaker stops at 10)',
    );
    // Only the last four looks count: an older, higher count does not hide the rise.
    expect(reasons(await checks(failedTasks(20, [5, 1, 2, 3, 4])))).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      'its tasks keep stopping: 4 failed tasks (the circuit breaker stops at 10)',
    ]);
  });

  it('does not stop on a count that held or fell between two polls', async () => {
    for (const counts of [
      [1, 2],
      [1, 2, 3],
      [1, 2, 2, 3],
      [1, 1, 2, 3],
      [2, 2, 2, 2],
      [4, 3, 2, 1],
      [1, 2, 3, 2],
      [1, 2, 3, 3, 4],
    ]) {
      const seen = reasons(await checks(failedTasks(20, counts)));
      expect({ counts, seen }).toEqual({ counts, seen: counts.map(() => 'ok') });
    }
  });

  it("counts each deployment's failed tasks on their own", async () => {
    const a = (n: number) =>
      service([deployment({ id: 'ecs-svc/a', desiredCount: 20, failedTasks: n })]);
    const b = (n: number) =>
      service([deployment({ id: 'ecs-svc/b', desiredCount: 20, failedTasks: n })]);
    expect(reasons(await checks([a(1), a(2), b(3), b(4)]))).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('stops while the stack rolls back, whatever ECS shows, even before the service exists', async () => {
    for (const status of [
      'ROLLBACK_IN_PROGRESS',
      'UPDATE_ROLLBACK_IN_PROGRESS',
      'IMPORT_ROLLBACK_IN_PROGRESS',
    ]) {
      const aws = fakeAws({ resources: [missing(SERVICE_STACK)] });
      expect(await watchOver(aws).check(status)).toEqual({
        failing: true,
        reason: `stack ${SERVICE_STACK} is ${status}`,
        target: undefined,
        service: undefined,
      });
      const steadyOld = steady({ id: 'ecs-svc/old' });
      const watch = watchOver(fakeAws({ services: [steadyOld] }));
      await watch.baseline();
      expect(await watch.check(status)).toEqual({
        failing: true,
        reason: `stack ${SERVICE_STACK} is ${status}`,
        target: { cluster: CLUSTER, service: SERVICE_ARN },
        service: steadyOld,
      });
    }
    for (const status of [
      'UPDATE_IN_PROGRESS',
      'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      'CREATE_IN_PROGRESS',
      'UPDATE_COMPLETE',
    ]) {
      expect(reasons(await checks([service([deployment()])], status))).toEqual(['ok']);
    }
  });

  it('judges the PRIMARY deployment only, not the ones it replaces', async () => {
    const draining = deployment({ id: 'ecs-svc/old', status: 'ACTIVE', failedTasks: 9 });
    const both = service([draining, deployment({ failedTasks: 1 })]);
    expect(reasons(await checks([both]))).toEqual(['ok']);
    expect(primaryOf(both)?.id).toBe('ecs-svc/new');
    // No PRIMARY at all (ECS between two deployments): nothing to judge.
    expect(reasons(await checks([service([{ ...draining, rolloutState: 'FAILED' }])]))).toEqual([
      'ok',
    ]);
    expect(primaryOf(undefined)).toBeUndefined();
    expect(primaryOf(service([draining]))).toBeUndefined();
  });
});

describe('the deployment PRIMARY before the deploy', () => {
  it('is never judged, and the state says the new deployment has not started yet', async () => {
    const old = (over: Partial<Deployment>) =>
      service([deployment({ id: 'ecs-svc/old', runningCount: 2, ...over })]);
    const aws = fakeAws({
      services: [
        old({ rolloutState: 'COMPLETED', failedTasks: 5 }),
        old({ rolloutState: 'COMPLETED', failedTasks: 7 }),
        old({ rolloutState: 'FAILED', failedTasks: 8 }),
        old({ rolloutState: 'FAILED', failedTasks: 9 }),
        old({ rolloutState: 'FAILED', failedTasks: 10 }),
        service([deployment({ failedTasks: 3 })]),
      ],
    });
    const watch = watchOver(aws);
    await watch.baseline();
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await watch.check('UPDATE_IN_PROGRESS'));
    expect(seen.map((s) => (s.failing ? s.reason : s.state))).toEqual([
      '2/2 running, 1 deployment(s), rollout COMPLETED, 7 failed tasks (new deployment not started yet)',
      '2/2 running, 1 deployment(s), rollout FAILED, 8 failed tasks (new deployment not started yet)',
      '2/2 running, 1 deployment(s), rollout FAILED, 9 failed tasks (new deployment not started yet)',
      '2/2 running, 1 deployment(s), rollout FAILED, 10 failed tasks (new deployment not started yet)',
    ]);
    // The new deployment, once PRIMARY, is judged on its own count.
    expect(await watch.check('UPDATE_IN_PROGRESS')).toMatchObject({
      failing: true,
      reason: 'its tasks keep stopping: 3 failed tasks (the circuit breaker stops at 3)',
    });
  });

  it('is none on a first deploy, or when ECS showed no PRIMARY deployment', async () => {
    const first = watchOver(
      fakeAws({
        resources: [missing(SERVICE_STACK), [ecsResource()]],
        services: [service([deployment({ rolloutState: 'FAILED' })])],
      }),
    );
    await first.baseline();
    expect(first.target).toBeUndefined();
    expect(await first.check()).toMatchObject({ failing: true });

    for (const before of [undefined, service([deployment({ status: 'ACTIVE' })])]) {
      const watch = watchOver(
        fakeAws({ services: [before, service([deployment({ rolloutState: 'FAILED' })])] }),
      );
      await watch.baseline();
      expect(await watch.check()).toMatchObject({ failing: true });
    }
  });

  it('does not mark a new deployment as "not started yet"', async () => {
    const watch = watchOver(
      fakeAws({ services: [steady({ id: 'ecs-svc/old' }), service([deployment()])] }),
    );
    await watch.baseline();
    expect(await watch.check()).toMatchObject({
      failing: false,
      state: '0/2 running, 1 deployment(s), rollout IN_PROGRESS',
    });
    // A PRIMARY without an id is not the old one either.
    const noId = watchOver(fakeAws({ services: [service([deployment({ id: undefined })])] }));
    await noId.baseline();
    expect(await noId.check()).toMatchObject({
      failing: false,
      state: /deployment\(s\), rollout IN_PROGRESS$/,
    });
  });
});

describe("the service's one-line state", () => {
  it('counts running and desired tasks and deployments, then the rollout and failed tasks', () => {
    expect(describeService(undefined)).toBe('service not found');
    expect(describeService({})).toBe('0/0 running, 0 deployment(s)');
    expect(describeService(steady())).toBe('2/2 running, 1 deployment(s), rollout COMPLETED');
    expect(
      describeService(
        service([
          deployment({ id: 'ecs-svc/old', status: 'ACTIVE', runningCount: 1, failedTasks: 4 }),
          deployment({ rolloutState: undefined, failedTasks: 2, runningCount: 0 }),
        ]),
      ),
    ).toBe('1/2 running, 2 deployment(s), 2 failed tasks');
    expect(
      describeService(service([deployment({ rolloutState: 'IN_PROGRESS', failedTasks: 3 })])),
    ).toBe('0/2 running, 1 deployment(s), rollout IN_PROGRESS, 3 failed tasks');
  });
});

describe("waiting for the service's stack", () => {
  function stackWait(
    aws: ReturnType<typeof fakeAws>,
    over: { previousStatus?: string; settleMs?: number; timeoutMs?: number } = {},
  ) {
    const clock = fakeClock();
    const out = progress();
    const watch = watchOver(aws);
    const events = new EventStream(aws.cfn, SERVICE_STACK);
    // As deploy does: the events before `svc deploy` are another run's.
    const run = events.baseline().then(() =>
      waitForServiceStack({
        cfn: aws.cfn,
        serviceStack: SERVICE_STACK,
        svc: 'book-service',
        env: 'test',
        events,
        watch,
        previousStatus: over.previousStatus,
        settleMs: over.settleMs ?? 60_000,
        timeoutMs: over.timeoutMs ?? 3 * 60 * 60_000,
        log: out.log,
        clock,
        ...PACING,
      }),
    );
    return { run, clock, out, watch };
  }

  it('follows a first deploy to CREATE_COMPLETE, printing its events and states', async () => {
    const aws = fakeAws({
      stacks: ['absent', 'CREATE_IN_PROGRESS', 'CREATE_IN_PROGRESS', 'CREATE_COMPLETE'],
      resources: [missing(SERVICE_STACK), [ecsResource()]],
      // An event of an earlier, failed first deploy: seen before this one, never printed.
      events: [
        [OLD_EVENT],
        [OLD_EVENT],
        [stackEvent(1_000, 'CREATE_IN_PROGRESS'), OLD_EVENT],
        [stackEvent(1_000, 'CREATE_IN_PROGRESS'), OLD_EVENT],
        [stackEvent(3_000, 'CREATE_COMPLETE'), stackEvent(1_000, 'CREATE_IN_PROGRESS'), OLD_EVENT],
      ],
      services: [service([deployment()]), steady()],
    });
    const { run, clock, out } = stackWait(aws);
    await expect(run).resolves.toBeUndefined();
    expect(clock.elapsed()).toBe(3 * INTERVAL);
    expect(out.text()).toBe(
      [
        `[deploy]     ${SERVICE_STACK}: not created yet`,
        '[deploy]     00:00:01 CREATE_IN_PROGRESS Service (AWS::ECS::Service)',
        `[deploy]     ${SERVICE_STACK}: CREATE_IN_PROGRESS; 0/2 running, 1 deployment(s), rollout IN_PROGRESS`,
        `[deploy]     ${SERVICE_STACK}: CREATE_IN_PROGRESS; 2/2 running, 1 deployment(s), rollout COMPLETED`,
        '[deploy]     00:00:03 CREATE_COMPLETE Service (AWS::ECS::Service)',
        `[deploy]  ok ${SERVICE_STACK}: CREATE_COMPLETE`,
        '',
      ].join('\n'),
    );
  });

  it('ends at once on a stack that moved: new events, or a status other than before', async () => {
    // A new event, the status unchanged (the update went through between two polls).
    const evented = stackWait(
      fakeAws({
        stacks: ['UPDATE_COMPLETE'],
        events: [[], [stackEvent(2_000, 'UPDATE_COMPLETE')]],
        services: [steady()],
      }),
      { previousStatus: 'UPDATE_COMPLETE' },
    );
    await evented.run;
    expect(evented.clock.elapsed()).toBe(0);
    expect(evented.out.text()).toMatch(/ ok bookstore-test-book-service: UPDATE_COMPLETE\n$/);
    // No event seen, but the status is not the one before the deploy.
    const changed = stackWait(fakeAws({ stacks: ['UPDATE_COMPLETE'], services: [steady()] }), {
      previousStatus: 'UPDATE_ROLLBACK_COMPLETE',
    });
    await changed.run;
    expect(changed.clock.elapsed()).toBe(0);
  });

  it('waits out the settle window on a stack that did not move, then takes it as done', async () => {
    // The last deploy's events, seen before this one: no movement.
    const aws = fakeAws({
      stacks: ['UPDATE_COMPLETE'],
      events: [[OLD_EVENT]],
      services: [steady({ id: 'ecs-svc/old' })],
    });
    const { run, clock, out } = stackWait(aws, {
      previousStatus: 'UPDATE_COMPLETE',
      settleMs: 3 * INTERVAL,
    });
    await run;
    expect(clock.elapsed()).toBe(3 * INTERVAL);
    expect(clock.sleeps).toEqual([INTERVAL, INTERVAL, INTERVAL]);
    expect(out.text()).toBe(
      [
        `[deploy]     ${SERVICE_STACK}: UPDATE_COMPLETE, no new event yet`,
        `[deploy]  ok ${SERVICE_STACK}: UPDATE_COMPLETE`,
        '',
      ].join('\n'),
    );
  });

  it('keeps waiting while in progress, past the settle window', async () => {
    // REVIEW_IN_PROGRESS: a change set not executed yet; the cleanup: the old resources going.
    const later = stackWait(
      fakeAws({
        stacks: [
          'REVIEW_IN_PROGRESS',
          'UPDATE_IN_PROGRESS',
          'UPDATE_IN_PROGRESS',
          'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
          'UPDATE_COMPLETE',
        ],
        services: [service([deployment()])],
      }),
      { previousStatus: 'UPDATE_COMPLETE', settleMs: 0 },
    );
    await later.run;
    expect(later.clock.elapsed()).toBe(4 * INTERVAL);
    expect(later.out.text()).toContain(
      `${SERVICE_STACK}: UPDATE_COMPLETE_CLEANUP_IN_PROGRESS; 0/2 running, 1 deployment(s), rollout IN_PROGRESS\n`,
    );
  });

  it("stops on the poll that sees the deployment failing, with the watch's finding", async () => {
    const failed = service([deployment({ failedTasks: 3 })]);
    const aws = fakeAws({
      stacks: ['UPDATE_IN_PROGRESS'],
      services: [service([deployment()]), service([deployment({ failedTasks: 1 })]), failed],
    });
    const { run, clock } = stackWait(aws, { previousStatus: 'UPDATE_COMPLETE' });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeploymentFailed);
    const failure = error as DeploymentFailed;
    expect(failure.name).toBe('DeploymentFailed');
    expect(failure.message).toBe(
      'its tasks keep stopping: 3 failed tasks (the circuit breaker stops at 3)',
    );
    expect(failure.result).toEqual({
      failing: true,
      reason: failure.message,
      target: { cluster: CLUSTER, service: SERVICE_ARN },
      service: failed,
    });
    expect(clock.elapsed()).toBe(2 * INTERVAL);
    expect(aws.count('DescribeServicesCommand')).toBe(3);
  });

  it('stops when the stack starts rolling back', async () => {
    const aws = fakeAws({
      stacks: ['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS'],
      services: [service([deployment()])],
    });
    const { run, clock } = stackWait(aws, { previousStatus: 'UPDATE_COMPLETE' });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeploymentFailed);
    expect((error as DeploymentFailed).message).toBe(
      `stack ${SERVICE_STACK} is UPDATE_ROLLBACK_IN_PROGRESS`,
    );
    expect(clock.elapsed()).toBe(INTERVAL);
  });

  it('fails on a stack that ended in anything but success, with its failed events', async () => {
    const failedEvent = {
      ...stackEvent(2_000, 'UPDATE_FAILED', 'Resource handler returned message: "boom"'),
      EventId: 'f1',
    };
    const cancelled = {
      ...stackEvent(2_500, 'UPDATE_FAILED', 'Resource update cancelled'),
      EventId: 'f2',
      LogicalResourceId: 'TaskDefinition',
    };
    const alarm = {
      ...stackEvent(2_200, 'UPDATE_FAILED', 'Alarm detected'),
      EventId: 'f3',
      LogicalResourceId: 'DeploymentAlarm',
      ResourceType: 'AWS::CloudWatch::Alarm',
    };
    const withEvents = stackWait(
      fakeAws({
        stacks: ['UPDATE_ROLLBACK_COMPLETE'],
        events: [[], [cancelled, alarm, failedEvent]],
        services: [steady()],
      }),
      { previousStatus: 'UPDATE_COMPLETE' },
    );
    const e = await cliErrorOf(withEvents.run);
    expect(e.what).toBe(`stack ${SERVICE_STACK} ended in UPDATE_ROLLBACK_COMPLETE`);
    // Oldest first; a cancellation only echoes another failure.
    expect(e.why).toBe(
      'Service (AWS::ECS::Service): Resource handler returned message: "boom"; DeploymentAlarm (AWS::CloudWatch::Alarm): Alarm detected',
    );
    expect(e.next).toBe(
      'copilot svc logs --name book-service --env test --since 30m   (then re-run the deploy)',
    );
    expect(withEvents.out.text()).not.toContain(' ok ');

    const withReason = stackWait(
      fakeAws({ stacks: ['ROLLBACK_COMPLETE'], stackReason: 'The following resource(s) failed' }),
    );
    expect((await cliErrorOf(withReason.run)).why).toBe('The following resource(s) failed');
    const bare = stackWait(fakeAws({ stacks: ['UPDATE_ROLLBACK_FAILED'] }), {
      previousStatus: 'UPDATE_COMPLETE',
    });
    const bareError = await cliErrorOf(bare.run);
    expect(bareError.what).toBe(`stack ${SERVICE_STACK} ended in UPDATE_ROLLBACK_FAILED`);
    expect(bareError.why).toBe('no failure event found');
  });

  it('takes CREATE_COMPLETE, UPDATE_COMPLETE and IMPORT_COMPLETE as success', async () => {
    for (const status of ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']) {
      const { run, out } = stackWait(fakeAws({ stacks: [status], services: [steady()] }));
      await run;
      expect(out.text()).toBe(`[deploy]  ok ${SERVICE_STACK}: ${status}\n`);
    }
  });

  it('gives up at its timeout, naming the stack and its last state', async () => {
    const { run, clock } = stackWait(
      fakeAws({ stacks: ['UPDATE_IN_PROGRESS'], services: [service([deployment()])] }),
      { timeoutMs: 5 * INTERVAL },
    );
    const error = await cliErrorOf(run);
    expect([error.what, error.why, error.next]).toEqual([
      `stack ${SERVICE_STACK} did not settle`,
      `stack ${SERVICE_STACK} did not finish within 5 s (last state: UPDATE_IN_PROGRESS; 0/2 running, 1 deployment(s), rollout IN_PROGRESS)`,
      `aws cloudformation describe-stack-events --stack-name ${SERVICE_STACK} --max-items 10   (CloudFormation goes on; re-run the deploy once the stack has settled)`,
    ]);
    expect(clock.elapsed()).toBe(5 * INTERVAL);
  });

  it('runs on the real clock when given none (a stack already done needs no sleep)', async () => {
    const aws = fakeAws({ stacks: ['CREATE_COMPLETE'], services: [steady()] });
    const out = progress();
    await waitForServiceStack({
      cfn: aws.cfn,
      serviceStack: SERVICE_STACK,
      svc: 'book-service',
      env: 'test',
      events: new EventStream(aws.cfn, SERVICE_STACK),
      watch: watchOver(aws),
      previousStatus: undefined,
      settleMs: 60_000,
      timeoutMs: 60_000,
      log: out.log,
    });
    expect(out.text()).toBe(`[deploy]  ok ${SERVICE_STACK}: CREATE_COMPLETE\n`);
  });
});

describe('waiting for the ECS service to be steady', () => {
  async function ecsWait(services: (Service | undefined | Error)[], timeoutMs = 5 * INTERVAL) {
    const aws = fakeAws({ services: [steady({ id: 'ecs-svc/old' }), ...services] });
    const watch = watchOver(aws);
    const clock = fakeClock();
    const out = progress();
    // As deploy does: the watch knows the service and its deployment before the deploy.
    await watch.baseline();
    const outcome = await waitForEcsSteady({
      watch,
      timeoutMs,
      log: out.log,
      clock,
      ...PACING,
    }).catch((e: unknown) => e);
    return { outcome, clock, out, aws };
  }

  it('returns the service once its one deployment runs every task', async () => {
    const done = steady();
    const { outcome, clock, out } = await ecsWait([
      service([deployment({ id: 'ecs-svc/old', status: 'ACTIVE', runningCount: 2 }), deployment()]),
      service([deployment({ runningCount: 2 })]),
      done,
    ]);
    expect(outcome).toEqual(done);
    expect(clock.elapsed()).toBe(2 * INTERVAL);
    expect(out.text()).toBe(
      [
        `[deploy]     ${NAME}: 2/2 running, 2 deployment(s), rollout IN_PROGRESS`,
        `[deploy]     ${NAME}: 2/2 running, 1 deployment(s), rollout IN_PROGRESS`,
        '',
      ].join('\n'),
    );
  });

  it('takes a deployment with no rollout state (no circuit breaker) as steady', async () => {
    const done = steady({ rolloutState: undefined });
    expect((await ecsWait([done])).outcome).toEqual(done);
  });

  it('is not steady short of any condition, and says so at its timeout', async () => {
    const notSteady: [string, Service | undefined][] = [
      ['draining', steady({}, { status: 'DRAINING' })],
      ['inactive', steady({}, { status: 'INACTIVE' })],
      ['no status', steady({}, { status: undefined })],
      [
        'two deployments',
        service([
          deployment({ id: 'ecs-svc/old', status: 'ACTIVE', runningCount: 0 }),
          deployment({ runningCount: 2, rolloutState: 'COMPLETED' }),
        ]),
      ],
      ['no deployment', service([])],
      [
        'no PRIMARY',
        service([deployment({ status: 'ACTIVE', runningCount: 2, rolloutState: 'COMPLETED' })]),
      ],
      [
        'no desired task',
        steady({ desiredCount: 0, runningCount: 0 }, { desiredCount: 0, runningCount: 0 }),
      ],
      [
        'no desired count',
        steady(
          { desiredCount: undefined, runningCount: undefined },
          { desiredCount: undefined, runningCount: undefined },
        ),
      ],
      ['service short of tasks', steady({}, { runningCount: 1 })],
      ['deployment short of tasks', steady({ runningCount: 1 }, { runningCount: 2 })],
      ['rollout in progress', steady({ rolloutState: 'IN_PROGRESS' })],
      ['not found', undefined],
    ];
    for (const [what, svc] of notSteady) {
      const { outcome, clock } = await ecsWait([svc]);
      expect(outcome, what).toBeInstanceOf(CliError);
      const error = outcome as CliError;
      expect({ what, error: error.what }).toEqual({
        what,
        error: `ECS service ${NAME} did not reach a steady state`,
      });
      expect(error.why).toBe(
        `ECS service ${NAME} did not finish within 5 s (last state: ${describeService(svc)})`,
      );
      expect(error.next).toBe(
        `aws ecs describe-services --cluster ${CLUSTER} --services ${NAME} --query 'services[0].events[:5]'`,
      );
      expect(clock.elapsed()).toBe(5 * INTERVAL);
    }
  });

  it('names the service "service" and the cluster "<cluster>" when the watch has not found them', async () => {
    const aws = fakeAws({ resources: [missing(SERVICE_STACK)] });
    const clock = fakeClock();
    const out = progress();
    const error = await cliErrorOf(
      waitForEcsSteady({
        watch: watchOver(aws),
        timeoutMs: 2 * INTERVAL,
        log: out.log,
        clock,
        ...PACING,
      }),
    );
    expect(error.what).toBe('ECS service service did not reach a steady state');
    expect(error.why).toBe(
      'ECS service service did not finish within 2 s (last state: service not found)',
    );
    expect(error.next).toBe(
      "aws ecs describe-services --cluster <cluster> --services service --query 'services[0].events[:5]'",
    );
    expect(out.text()).toBe('[deploy]     service: service not found\n');
  });

  it("stops with the watch's finding on a failing deployment", async () => {
    const failing = service([
      deployment({ rolloutState: 'FAILED', rolloutStateReason: 'tasks failed to start' }),
    ]);
    const { outcome, clock } = await ecsWait([service([deployment()]), failing]);
    expect(outcome).toBeInstanceOf(DeploymentFailed);
    expect((outcome as DeploymentFailed).result).toEqual({
      failing: true,
      reason: "the deployment's rollout FAILED: tasks failed to start",
      target: { cluster: CLUSTER, service: SERVICE_ARN },
      service: failing,
    });
    expect(clock.elapsed()).toBe(INTERVAL);
  });

  it("passes on ECS's errors as they are", async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    expect((await ecsWait([steady(), throttled])).outcome).toEqual(steady());
    expect((await ecsWait([throttled])).outcome).toBe(throttled);
  });
});
