// deploy's failure report (scripts/cloud/failure-report.ts) when ECS and CloudWatch Logs leave
// fields out: a task with no ARN, stop time, reason or containers, a service with no PRIMARY
// deployment, an event with no time or message, a log event with no message, a task stream that
// does not exist yet, answers without their lists. Each is reported as far as it goes, with a
// placeholder, and never stops the report; no task stopped means no DescribeTasks call, which
// ECS refuses with an empty list (ECS API reference, DescribeTasks: tasks is required).
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Progress } from '../../scripts/cli/command.ts';
import { reportFailure } from '../../scripts/cloud/failure-report.ts';

const ecs = mockClient(ECSClient);
const logs = mockClient(CloudWatchLogsClient);
// The mocks replace the clients' send for the whole worker (vitest isolate: false): put it back.
afterAll(() => {
  for (const m of [ecs, logs]) m.restore();
});
afterEach(() => {
  ecs.reset();
  logs.reset();
});

const CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/app-test-Cluster';
const SERVICE = 'arn:aws:ecs:us-east-1:123456789012:service/app-test-Cluster/app-test-svc-Service';
const ARN = (id: string) => `arn:aws:ecs:us-east-1:123456789012:task/app-test-Cluster/${id}`;

function recorder(): { log: Progress; lines: string[] } {
  const lines: string[] = [];
  const mark = (kind: string) => (message: string) => lines.push(`${kind} ${message}`);
  const log = {
    step: mark('step'),
    info: mark('info'),
    ok: mark('ok'),
    warn: mark('warn'),
    fail: mark('fail'),
  };
  return { lines, log };
}

const context = (over: Partial<Parameters<typeof reportFailure>[0]> = {}) => ({
  ecs: new ECSClient({ region: 'us-east-1' }),
  logs: new CloudWatchLogsClient({ region: 'us-east-1' }),
  target: { cluster: CLUSTER, service: SERVICE },
  service: { deployments: [] },
  logGroup: '/copilot/app-test-svc',
  container: 'svc',
  since: 1_000,
  ...over,
});

/** ECS refuses DescribeTasks without tasks; otherwise answers `answer`. */
function describeTasks(answer: object) {
  ecs.on(DescribeTasksCommand).callsFake(async ({ tasks }: { tasks?: string[] }) => {
    if (!tasks?.length) {
      throw Object.assign(new Error('Tasks cannot be empty.'), {
        name: 'InvalidParameterException',
      });
    }
    return answer;
  });
}

const notFound = () =>
  Object.assign(new Error('The specified log stream does not exist.'), {
    name: 'ResourceNotFoundException',
  });

describe('the failure report, when AWS leaves fields out', () => {
  it('reports each task, event and log line with a placeholder for what is missing', async () => {
    ecs.on(ListTasksCommand).resolves({ taskArns: ['a', 'b'] });
    describeTasks({
      tasks: [
        {},
        {
          taskArn: ARN('t2'),
          stoppedAt: new Date(2_000),
          stoppedReason: 'Essential container in task exited',
          containers: [{ name: 'svc', exitCode: 1 }],
        },
      ],
    });
    // t2's stream holds a line and an event without a message; the other task has no stream.
    logs.on(GetLogEventsCommand).rejects(notFound());
    logs
      .on(GetLogEventsCommand, { logStreamName: 'copilot/svc/t2' })
      .resolves({ events: [{ message: 'Error: boom' }, {}] });
    const { log, lines } = recorder();
    // Newest first, as DescribeServices lists them: one without a time, one without a message.
    const service = { deployments: [], events: [{ message: 'm' }, { createdAt: new Date(0) }] };
    const tasks = await reportFailure(context({ service }), log);
    expect(tasks).toHaveLength(2);
    expect(lines).toEqual([
      'fail stopped tasks (2):',
      'info   t2: Essential container in task exited',
      'info     container svc: exit code 1',
      'info   ?: no stopped reason',
      'fail last service events (2):',
      'info   1970-01-01T00:00:00.000Z ',
      'info   ? m',
      'fail last log lines of /copilot/app-test-svc (3):',
      'info   [t2]',
      'info   Error: boom',
      'info   ',
    ]);
  });

  it('lists no task, and asks ECS for none, when ListTasks has none', async () => {
    describeTasks({ tasks: [{ taskArn: ARN('x'), stoppedReason: 'listed anyway' }] });
    logs.on(DescribeLogStreamsCommand).resolves({});
    for (const listed of [{}, { taskArns: [] }]) {
      ecs.on(ListTasksCommand).resolves(listed);
      const { log, lines } = recorder();
      expect(await reportFailure(context(), log)).toEqual([]);
      expect(lines).toEqual([
        'fail stopped tasks (0):',
        'fail last service events (0):',
        'fail last log lines of /copilot/app-test-svc (0):',
      ]);
    }
    expect(ecs.commandCalls(DescribeTasksCommand)).toHaveLength(0);
  });

  it('lists no task when DescribeTasks answers without any', async () => {
    ecs.on(ListTasksCommand).resolves({ taskArns: ['a'] });
    describeTasks({});
    logs.on(DescribeLogStreamsCommand).resolves({ logStreams: [] });
    const { log, lines } = recorder();
    expect(await reportFailure(context(), log)).toEqual([]);
    expect(lines[0]).toBe('fail stopped tasks (0):');
  });

  it("falls back to the stream written last when a task's stream is empty or missing", async () => {
    ecs.on(ListTasksCommand).resolves({ taskArns: ['a', 'b'] });
    describeTasks({
      tasks: [
        { taskArn: ARN('t1'), stoppedAt: new Date(1_000) },
        { taskArn: ARN('t2'), stoppedAt: new Date(2_000) },
      ],
    });
    logs.on(GetLogEventsCommand, { logStreamName: 'copilot/svc/t1' }).resolves({});
    logs.on(GetLogEventsCommand, { logStreamName: 'copilot/svc/t2' }).rejects(notFound());
    logs
      .on(DescribeLogStreamsCommand)
      .resolves({ logStreams: [{ logStreamName: 'copilot/svc/live' }] });
    logs
      .on(GetLogEventsCommand, { logStreamName: 'copilot/svc/live' })
      .resolves({ events: [{ message: 'listening' }] });
    const { log, lines } = recorder();
    await reportFailure(context(), log);
    expect(lines.slice(-3)).toEqual([
      'fail last log lines of /copilot/app-test-svc (2):',
      'info   [copilot/svc/live]',
      'info   listening',
    ]);
  });
});
