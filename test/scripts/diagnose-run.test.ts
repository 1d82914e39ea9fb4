// diagnose as a command (scripts/checks/diagnose-run.ts) over mocked AWS: each check printed with
// its verdict and hint, a one-line summary or the JSON report on stdout, and a failure that
// names the failed checks and the first one's hint as the next command.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { diagnoseRun } from '../../scripts/checks/diagnose-run.ts';
import { CliError } from '../../scripts/cli/command.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { captureOutput } from '../helpers/output.ts';

const cfn = mockClient(CloudFormationClient);
const logs = mockClient(CloudWatchLogsClient);
// The mocks replace the clients' send for the whole worker (vitest isolate: false): put it back.
afterAll(() => {
  for (const m of [cfn, logs]) m.restore();
});
let output: ReturnType<typeof captureOutput>;
beforeEach(() => {
  cfn.reset();
  logs.reset();
  logs.on(FilterLogEventsCommand).resolves({ events: [] });
  output = captureOutput();
});
afterEach(() => {
  vi.restoreAllMocks();
  cfn.reset();
  logs.reset();
});

const options = (json = false) => ({
  cmd: 'diagnose',
  app: 'bookstore',
  env: 'test',
  services: loadWorkspace().services,
  region: 'us-east-1',
  profile: undefined,
  since: 60,
  json,
});

describe('diagnose, run', () => {
  it('prints each check, and fails naming the failed ones and the first hint', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id x does not exist'), { name: 'ValidationError' }),
      );
    const error = await diagnoseRun(options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    const failure = error as CliError;
    expect(failure.what).toBe('diagnose: 2 check(s) failed');
    expect(failure.why).toBe('environment exports, HTTP API stack');
    expect(failure.next).toMatch(/deploy\.ts --only env,services$/);
    const lines = output.stderr();
    expect(lines).toContain('diagnosing bookstore/test');
    expect(lines).toMatch(
      /environment exports: stack bookstore-test lacks .*\n\s+-> the internal ALB exists/,
    );
    expect(lines).toContain('recent integration errors');
    expect(output.stdout()).toMatch(/^FAIL: \d+ checks, 2 failed, \d+ warnings\n$/);
  });

  it('prints the checks as JSON on stdout with --json', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id x does not exist'), { name: 'ValidationError' }),
      );
    await diagnoseRun(options(true)).catch(() => undefined);
    const report = JSON.parse(output.stdout()) as {
      app: string;
      env: string;
      checks: { verdict: string }[];
    };
    expect(report.app).toBe('bookstore');
    expect(report.env).toBe('test');
    expect(report.checks.filter((c) => c.verdict === 'FAIL')).toHaveLength(2);
  });
});
