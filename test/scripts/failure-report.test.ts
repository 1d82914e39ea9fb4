// deploy's failure report (scripts/cloud/failure-report.ts) against mocked ECS and CloudWatch
// Logs: which stopped tasks it explains (the watched deployment's, the last to stop first, at
// most three), each with its stopped reason and its containers' exit codes; the service's last
// five events, oldest first; the last lines of each task's own log stream (Copilot's awslogs
// prefix), or of the stream written last; and an AWS error in one section leaving the others.
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Progress } from '../../scripts/cli/command.ts';
import {
  latestEvents,
  logStreamOf,
  recentStoppedTasks,
  reportFailure,
} from '../../scripts/cloud/failure-report.ts';

const ecs = mockClient(ECSClient);
const logs = mockClient(CloudWatchLogsClient);
// The mocks replace the clients' send for the whole worker (vitest isolate: false): put it back.
afterAll(() => {
  for (const m of [ecs, logs]) m.restore();
});
beforeEach(() => {
  ecs.reset();
  logs.reset();
});
afterEach(() => {
  ecs.reset();
  logs.reset();
});

const CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/app-test-Cluster';
const SERVICE = 'arn:aws:ecs:us-east-1:123456789012:service/app-test-Cluster/app-test-svc-Service';
const task = (
  id: string,
  stoppedAt: number,
  startedBy = 'ecs-svc/new',
  extra: Partial<Task> = {},
): Task => ({
  taskArn: `arn:aws:ecs:us-east-1:123456789012:task/app-test-Cluster/${id}`,
  stoppedAt: new Date(stoppedAt),
  startedBy,
  ...extra,
});
const service = (events: number): Service => ({
  deployments: [
    { id: 'ecs-svc/old', status: 'ACTIVE' },
    { id: 'ecs-svc/new', status: 'PRIMARY' },
  ],
  // Newest first, as DescribeServices lists them.
  events: Array.from({ length: events }, (_, i) => ({
    createdAt: new Date(Date.UTC(2026, 11, 6, 12, 0, events - i)),
    message: `event ${events - i}`,
  })),
});

function recorder(): { log: Progress; lines: string[] } {
  const lines: string[] = [];
  const mark = (kind: string) => (message: string) => lines.push(`${kind} ${message}`);
  return {
    lines,
    log: {
      step: mark('step'),
      info: mark('info'),
      ok: mark('ok'),
      warn: mark('warn'),
      fail: mark('fail'),
    },
  };
}

const context = (over: Partial<Parameters<typeof reportFailure>[0]> = {}) => ({
  ecs: new ECSClient({ region: 'us-east-1' }),
  logs: new CloudWatchLogsClient({ region: 'us-east-1' }),
  target: { cluster: CLUSTER, service: SERVICE },
  service: service(7),
  logGroup: '/copilot/app-test-svc',
  container: 'svc',
  since: 1_000,
  ...over,
});

describe('the stopped tasks it explains', () => {
  it("are the watched deployment's (and those of no known deployment), last stopped first, three at most", () => {
    const tasks = [
      task('a', 1_000),
      task('b', 5_000),
      task('old', 9_000, 'ecs-svc/old'),
      task('c', 3_000),
      task('d', 4_000, ''),
      task('e', 2_000),
    ];
    expect(
      recentStoppedTasks(tasks, 'ecs-svc/new').map((t) => t.taskArn?.split('/').pop()),
    ).toEqual(['b', 'd', 'c']);
    // With no PRIMARY deployment known, every stopped task is one to explain.
    expect(recentStoppedTasks(tasks, undefined).map((t) => t.taskArn?.split('/').pop())).toEqual([
      'old',
      'b',
      'd',
    ]);
    expect(recentStoppedTasks([task('x', 0, 'ecs-svc/old')], 'ecs-svc/new')).toEqual([]);
  });

  it("name their log stream as the awslogs driver does under Copilot's prefix", () => {
    expect(logStreamOf('svc', task('0123abcd', 0))).toBe('copilot/svc/0123abcd');
  });
});

describe("the service's events", () => {
  it('are the last five, oldest first', () => {
    expect(latestEvents(service(7)).map((e) => e.message)).toEqual([
      'event 3',
      'event 4',
      'event 5',
      'event 6',
      'event 7',
    ]);
    expect(latestEvents(service(2)).map((e) => e.message)).toEqual(['event 1', 'event 2']);
    expect(latestEvents(undefined)).toEqual([]);
  });
});

describe('the report', () => {
  it("explains each stopped task, the events and each task's last log lines, in that order", async () => {
    ecs
      .on(ListTasksCommand, {
        cluster: CLUSTER,
        serviceName: 'app-test-svc-Service',
        desiredStatus: 'STOPPED',
      })
      .resolves({ taskArns: ['t1', 't2'] });
    ecs.on(DescribeTasksCommand, { cluster: CLUSTER, tasks: ['t1', 't2'] }).resolves({
      tasks: [
        task('older', 1_000, 'ecs-svc/new', {
          stopCode: 'TaskFailedToStart',
          containers: [{ name: 'svc' }],
        }),
        task('newer', 2_000, 'ecs-svc/new', {
          stoppedReason: 'Essential container in task exited',
          containers: [
            { name: 'svc', exitCode: 1, reason: 'OutOfMemoryError' },
            { name: 'sidecar', exitCode: 0 },
          ],
        }),
      ],
    });
    logs
      .on(GetLogEventsCommand, { logStreamName: 'copilot/svc/newer' })
      .resolves({ events: [{ message: 'Error: boom  \n' }, { message: 'at main' }] });
    logs.on(GetLogEventsCommand, { logStreamName: 'copilot/svc/older' }).resolves({ events: [] });
    const { log, lines } = recorder();
    const tasks = await reportFailure(context(), log);
    expect(tasks.map((t) => t.taskArn?.split('/').pop())).toEqual(['newer', 'older']);
    expect(lines).toEqual([
      'fail stopped tasks (2):',
      'info   newer: Essential container in task exited',
      'info     container svc: exit code 1, OutOfMemoryError',
      'info     container sidecar: exit code 0',
      'info   older: TaskFailedToStart',
      'info     container svc: exit code none',
      'fail last service events (5):',
      'info   2026-12-06T12:00:03.000Z event 3',
      'info   2026-12-06T12:00:04.000Z event 4',
      'info   2026-12-06T12:00:05.000Z event 5',
      'info   2026-12-06T12:00:06.000Z event 6',
      'info   2026-12-06T12:00:07.000Z event 7',
      'fail last log lines of /copilot/app-test-svc (3):',
      'info   [newer]',
      'info   Error: boom',
      'info   at main',
    ]);
    const read = logs.commandCalls(GetLogEventsCommand)[0]?.args[0].input;
    expect(read).toEqual({
      logGroupName: '/copilot/app-test-svc',
      logStreamName: 'copilot/svc/newer',
      startTime: 1_000,
      limit: 15,
      startFromHead: false,
    });
  });

  it('reads the stream written last when no stopped task has lines, and says when it cannot', async () => {
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    logs
      .on(DescribeLogStreamsCommand)
      .resolves({ logStreams: [{ logStreamName: 'copilot/svc/live' }] });
    logs.on(GetLogEventsCommand, { logStreamName: 'copilot/svc/live' }).resolves({
      events: [{ message: 'listening' }],
    });
    const { log, lines } = recorder();
    expect(await reportFailure(context(), log)).toEqual([]);
    expect(lines).toContain('fail stopped tasks (0):');
    expect(lines.slice(-3)).toEqual([
      'fail last log lines of /copilot/app-test-svc (2):',
      'info   [copilot/svc/live]',
      'info   listening',
    ]);
    expect(logs.commandCalls(DescribeLogStreamsCommand)[0]?.args[0].input).toEqual({
      logGroupName: '/copilot/app-test-svc',
      orderBy: 'LastEventTime',
      descending: true,
      limit: 1,
    });

    logs.reset();
    logs
      .on(DescribeLogStreamsCommand)
      .rejects(Object.assign(new Error('no group'), { name: 'ResourceNotFoundException' }));
    const again = recorder();
    await reportFailure(context(), again.log);
    expect(again.lines.slice(-2)).toEqual([
      'fail last log lines of /copilot/app-test-svc (1):',
      'info   (could not read /copilot/app-test-svc: ResourceNotFoundException: no group)',
    ]);
  });

  it('goes on past an ECS error, and has nothing to list without a service to look at', async () => {
    ecs
      .on(ListTasksCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    logs.on(DescribeLogStreamsCommand).resolves({ logStreams: [] });
    const { log, lines } = recorder();
    expect(await reportFailure(context(), log)).toEqual([]);
    expect(lines[0]).toBe('warn stopped tasks: AccessDeniedException: denied');
    expect(lines).toContain('fail last service events (5):');
    expect(lines.at(-1)).toBe('fail last log lines of /copilot/app-test-svc (0):');

    ecs.reset();
    const none = recorder();
    expect(
      await reportFailure(context({ target: undefined, service: undefined }), none.log),
    ).toEqual([]);
    expect(ecs.commandCalls(ListTasksCommand)).toHaveLength(0);
    expect(none.lines.slice(0, 2)).toEqual([
      'fail stopped tasks (0):',
      'fail last service events (0):',
    ]);
  });

  it('asks for at most 100 tasks at once', async () => {
    const arns = Array.from({ length: 150 }, (_, i) => `t${i}`);
    ecs.on(ListTasksCommand).resolves({ taskArns: arns });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [] });
    logs.on(DescribeLogStreamsCommand).resolves({});
    await reportFailure(context(), recorder().log);
    expect(ecs.commandCalls(DescribeTasksCommand)[0]?.args[0].input.tasks).toEqual(
      arns.slice(0, 100),
    );
  });
});
