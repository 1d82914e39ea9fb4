// Recent integration errors in the HTTP API's access log group. FilterLogEvents pagination ends
// only when a response has no nextToken (CloudWatch Logs API reference, FilterLogEvents
// nextToken), and a page may hold no events and still a nextToken (reported in
// awslabs/cloudwatch-logs-customize-alarms#8). So the search follows the token through empty
// pages, bounded in pages, and says when it stopped before the end: an unfinished search is not
// an all-clear.

import { type CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { invocation } from '../cli/command.ts';
import { check, type DiagnosticCheck } from './diagnose-verdict.ts';

export const MAX_LOG_PAGES = 20;
const ENOUGH_EVENTS = 50;
const NAME = 'recent integration errors';

export async function accessLogCheck(
  logs: CloudWatchLogsClient,
  logGroupName: string,
  window: { startTime: number; minutes: number },
): Promise<DiagnosticCheck> {
  const messages = new Map<string, number>();
  let events = 0;
  let pages = 0;
  let nextToken: string | undefined;
  do {
    const out = await logs.send(
      new FilterLogEventsCommand({
        logGroupName,
        startTime: window.startTime,
        filterPattern:
          '{ ($.integrationErrorMessage != "-") && ($.integrationErrorMessage != "") }',
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    pages++;
    for (const e of out.events ?? []) {
      const msg = errorMessage(e.message);
      messages.set(msg, (messages.get(msg) ?? 0) + 1);
      events++;
    }
    nextToken = out.nextToken;
  } while (nextToken && pages < MAX_LOG_PAGES && events < ENOUGH_EVENTS);

  if (messages.size > 0) {
    const top = [...messages]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([m, n]) => `${n}x ${m}`);
    return check(
      NAME,
      'WARN',
      top.join('; '),
      'errors API Gateway met talking to the ALB: see the checks above (VPC link, security groups, Host, targets)',
    );
  }
  if (nextToken) {
    return check(
      NAME,
      'WARN',
      `none in the first ${pages} pages of ${logGroupName}, and CloudWatch Logs has more: not a full search`,
      `search a shorter window: ${invocation('diagnose')} --since 10`,
    );
  }
  return check(
    NAME,
    'OK',
    `none in ${logGroupName} in the last ${window.minutes} min (${pages} page${pages === 1 ? '' : 's'})`,
  );
}

function errorMessage(message: string | undefined): string {
  try {
    const parsed = JSON.parse(message ?? '{}') as { integrationErrorMessage?: string };
    return String(parsed.integrationErrorMessage ?? '?');
  } catch {
    return message ?? '?';
  }
}
