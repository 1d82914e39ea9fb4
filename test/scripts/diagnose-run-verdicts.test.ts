// How diagnose reports its checks (scripts/checks/diagnose-run.ts): each check on stderr under the
// mark of its verdict, with its hint on the next line only when it has one; the summary's verdict
// is the worst one seen and its counts are right; only a FAIL makes the run fail; and the checks
// go to the region the user named.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { diagnoseRun, failureOf, printCheck, summary } from '../../scripts/checks/diagnose-run.ts';
import { check } from '../../scripts/checks/diagnose-verdict.ts';
import { createProgress } from '../../scripts/cli/command.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { captureOutput } from '../helpers/output.ts';

const ok = check('VPC link status', 'OK', 'AVAILABLE');
const warn = check('access logs', 'WARN', 'no log group', 'deploy the API');
const fail = check('HTTP API stack', 'FAIL', 'not found', 'deploy --only api');
const fail2 = check('environment exports', 'FAIL', 'lacks outputs', 'deploy --only env');

function printed(...checks: ReturnType<typeof check>[]): string[] {
  const lines: string[] = [];
  const log = createProgress('diagnose', (l) => void lines.push(l));
  for (const c of checks) printCheck(log, c);
  return lines;
}

describe('diagnose prints each check', () => {
  it('under the mark of its verdict, once, with the hint on its own line', () => {
    expect(printed(ok, warn, fail)).toEqual([
      '[diagnose]  ok VPC link status: AVAILABLE\n',
      '[diagnose] WARN access logs: no log group\n       -> deploy the API\n',
      '[diagnose] FAIL HTTP API stack: not found\n       -> deploy --only api\n',
    ]);
  });
});

describe('diagnose, the summary line', () => {
  it('is the worst verdict seen, with the counts of each', () => {
    expect(summary([ok, ok])).toBe('OK: 2 checks, 0 failed, 0 warnings');
    expect(summary([ok, warn, warn])).toBe('WARN: 3 checks, 0 failed, 2 warnings');
    expect(summary([warn, fail, ok])).toBe('FAIL: 3 checks, 1 failed, 1 warnings');
  });
});

describe('diagnose, the exit', () => {
  const where = { cmd: 'diagnose', env: 'test' };
  it('succeeds with warnings and no failure', () => {
    expect(failureOf(where, [ok, warn])).toBeUndefined();
    expect(failureOf(where, [])).toBeUndefined();
  });

  it('fails naming every failed check, with the first one hint as the next command', () => {
    const error = failureOf(where, [ok, fail2, warn, fail]);
    expect([error?.what, error?.why, error?.next]).toEqual([
      'diagnose: 2 check(s) failed',
      'environment exports, HTTP API stack',
      'deploy --only env',
    ]);
  });
});

describe('diagnose, the region', () => {
  const cfn = mockClient(CloudFormationClient);
  const logs = mockClient(CloudWatchLogsClient);
  afterAll(() => {
    for (const m of [cfn, logs]) m.restore();
    vi.restoreAllMocks();
  });

  it('asks AWS in the region given with --region', async () => {
    captureOutput();
    const regions: string[] = [];
    cfn.on(DescribeStacksCommand).callsFake(async (_input, client) => {
      regions.push(await client().config.region());
      throw Object.assign(new Error('Stack with id x does not exist'), { name: 'ValidationError' });
    });
    logs.on(FilterLogEventsCommand).resolves({ events: [] });
    await diagnoseRun({
      cmd: 'diagnose',
      app: 'bookstore',
      env: 'test',
      services: loadWorkspace().services,
      region: 'eu-north-1',
      profile: undefined,
      since: 60,
      json: false,
    }).catch(() => undefined);
    expect(regions.length).toBeGreaterThan(0);
    expect(new Set(regions)).toEqual(new Set(['eu-north-1']));
  });
});
