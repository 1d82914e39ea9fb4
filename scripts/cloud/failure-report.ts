// Why a service's deployment failed, in the terminal instead of the console: the stopped tasks'
// stoppedReason and each container's exit code and reason (ECS ListTasks desiredStatus STOPPED,
// DescribeTasks: recently stopped tasks are still listed), the service's last
// events, and the last lines each stopped task wrote to its log stream. Copilot's log
// configuration is awslogs with stream prefix "copilot" in /copilot/<app>-<env>-<svc>
// (aws/copilot-cli v1.33.2 workloads/partials/cf/logconfig.yml, loggroup.yml), and the awslogs
// driver names a task's stream <prefix>/<container>/<task id> (Amazon ECS developer guide,
// "Using the awslogs log driver").
import {
  type CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  type Service,
  type ServiceEvent,
  type Task,
} from '@aws-sdk/client-ecs';
import type { Progress } from '../cli/command.ts';
import { type EcsTarget, primaryOf } from './deployment-watch.ts';

const MAX_TASKS = 3;
const MAX_EVENTS = 5;
const LOG_LINES = 15;

interface FailureContext {
  ecs: ECSClient;
  logs: CloudWatchLogsClient;
  target: EcsTarget | undefined;
  service: Service | undefined;
  logGroup: string;
  /** The main container's name: Copilot names it after the service. */
  container: string;
  /** Only log lines from then on (the deployment's start). */
  since: number;
}

/** Prints the explanation, one section per source, on the progress log (stderr). */
export async function reportFailure(ctx: FailureContext, log: Progress): Promise<Task[]> {
  const tasks = await stoppedTasks(ctx).catch((e: Error) => {
    log.warn(`stopped tasks: ${e.name}: ${e.message}`);
    return [] as Task[];
  });
  log.fail(`stopped tasks (${tasks.length}):`);
  for (const t of tasks) {
    log.info(`  ${taskId(t)}: ${t.stoppedReason ?? t.stopCode ?? 'no stopped reason'}`);
    for (const c of t.containers ?? []) {
      log.info(
        `    container ${c.name}: exit code ${c.exitCode ?? 'none'}${c.reason ? `, ${c.reason}` : ''}`,
      );
    }
  }
  const events = latestEvents(ctx.service);
  log.fail(`last service events (${events.length}):`);
  for (const e of events) log.info(`  ${e.createdAt?.toISOString() ?? '?'} ${e.message ?? ''}`);
  const lines = await logLines(ctx, tasks).catch((e: Error) => [
    `(could not read ${ctx.logGroup}: ${e.name}: ${e.message})`,
  ]);
  log.fail(`last log lines of ${ctx.logGroup} (${lines.length}):`);
  for (const line of lines) log.info(`  ${line}`);
  return tasks;
}

const taskId = (t: Task) => t.taskArn?.split('/').pop() ?? '?';

/**
 * The service's last events, oldest first: DescribeServices lists them newest first (ECS API
 * reference, Service.events, "the latest events"), so the first MAX_EVENTS, reversed.
 */
export function latestEvents(service: Service | undefined): ServiceEvent[] {
  return (service?.events ?? []).slice(0, MAX_EVENTS).reverse();
}

/**
 * The stopped tasks worth explaining, the one that stopped last first, at most MAX_TASKS: those
 * of the deployment being watched (a service's tasks carry its deployment id in startedBy, ECS
 * API reference, Task.startedBy), and those whose deployment is not known.
 */
export function recentStoppedTasks(tasks: readonly Task[], deployment: string | undefined): Task[] {
  const mine = tasks.filter((t) => !deployment || !t.startedBy || t.startedBy === deployment);
  const when = (t: Task) => t.stoppedAt?.getTime() ?? 0;
  return mine.sort((a, b) => when(b) - when(a)).slice(0, MAX_TASKS);
}

/** The awslogs stream of a task's container: `<prefix>/<container>/<task id>`, prefix copilot. */
export function logStreamOf(container: string, task: Task): string {
  return `copilot/${container}/${taskId(task)}`;
}

async function stoppedTasks(ctx: FailureContext): Promise<Task[]> {
  if (!ctx.target) return [];
  const { cluster, service } = ctx.target;
  const serviceName = service.split('/').pop() ?? service;
  const arns =
    (await ctx.ecs.send(new ListTasksCommand({ cluster, serviceName, desiredStatus: 'STOPPED' })))
      .taskArns ?? [];
  if (arns.length === 0) return [];
  // DescribeTasks takes at most 100 tasks (ECS API reference, DescribeTasks tasks).
  const tasks =
    (await ctx.ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(0, 100) }))).tasks ??
    [];
  return recentStoppedTasks(tasks, primaryOf(ctx.service)?.id);
}

/** The last lines of a stream (GetLogEvents reads from the end when startFromHead is false). */
async function tail(ctx: FailureContext, stream: string): Promise<string[]> {
  const out = await ctx.logs
    .send(
      new GetLogEventsCommand({
        logGroupName: ctx.logGroup,
        logStreamName: stream,
        startTime: ctx.since,
        limit: LOG_LINES,
        startFromHead: false,
      }),
    )
    .catch(() => undefined);
  return (out?.events ?? []).map((e) => (e.message ?? '').trimEnd());
}

async function logLines(ctx: FailureContext, tasks: Task[]): Promise<string[]> {
  const lines: string[] = [];
  for (const t of tasks) {
    const found = await tail(ctx, logStreamOf(ctx.container, t));
    if (found.length) lines.push(`[${taskId(t)}]`, ...found);
  }
  if (lines.length) return lines;
  // No stopped task's stream (or no stopped task yet): the stream written last.
  const streams = await ctx.logs.send(
    new DescribeLogStreamsCommand({
      logGroupName: ctx.logGroup,
      orderBy: 'LastEventTime',
      descending: true,
      limit: 1,
    }),
  );
  const latest = streams.logStreams?.[0]?.logStreamName;
  return latest ? [`[${latest}]`, ...(await tail(ctx, latest))] : [];
}
