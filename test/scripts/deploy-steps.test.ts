// deploy's steps as they run (scripts/cloud/deploy-plan.ts), in this process against a stateful
// CloudFormation double (aws-sdk-client-mock) and a recording copilot: the addon stacks go
// through a change set with the deploy's parameters, tags and (bastion only) CAPABILITY_IAM; the
// HTTP API's URL is what deploy prints, whatever step runs after it; a failed stack names its
// status, every reason and the next commands; Lambda refusing a runtime names the template and
// the runtime to set on the day given; an error that is not a stack's passes through as it is.
// The service step waits for its ECS service (mocked) and reports it running.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  type CreateChangeSetCommandInput,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CliError } from '../../scripts/cli/command.ts';
import type { AwsClients } from '../../scripts/cloud/aws.ts';
import type { Copilot } from '../../scripts/cloud/copilot.ts';
import { type DeployOptions, deploy, type Openers } from '../../scripts/cloud/deploy-plan.ts';
import { EXPORT_OUTPUT } from '../../scripts/cloud/env-exports.ts';
import { isoDay, recommendedRuntime } from '../../scripts/cloud/lambda-runtimes.ts';
import type { openSession } from '../../scripts/cloud/session.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { captureOutput } from '../helpers/output.ts';
import { renderPackage } from './rendering.ts';

const cfn = mockClient(CloudFormationClient);
const ecs = mockClient(ECSClient);
const RENDER_DIR = mkdtempSync(path.join(os.tmpdir(), 'deploy-steps-rendered-'));
// The mocks replace the clients' send for the whole worker (vitest isolate: false): put it back.
afterAll(() => {
  for (const m of [cfn, ecs]) m.restore();
  rmSync(RENDER_DIR, { recursive: true, force: true });
});

const missingStack = (name: string) =>
  Object.assign(new Error(`Stack with id ${name} does not exist`), { name: 'ValidationError' });

/**
 * CloudFormation as the addon steps meet it: the environment stack with every export, and each
 * addon stack absent until its change set is executed, then at `final` with `outputs` and the
 * `events` of its run.
 */
function fakeCloudFormation(
  ends: Record<string, { final: string; outputs?: Record<string, string>; events?: StackEvent[] }>,
) {
  const changeSets: CreateChangeSetCommandInput[] = [];
  const executed = new Set<string>();
  const envOutputs = Object.values(EXPORT_OUTPUT).map((k) => ({ OutputKey: k, OutputValue: k }));
  cfn.on(DescribeStacksCommand).callsFake(async ({ StackName }: { StackName: string }) => {
    if (StackName === 'bookstore-test') {
      return { Stacks: [{ StackName, StackStatus: 'UPDATE_COMPLETE', Outputs: envOutputs }] };
    }
    const end = ends[StackName];
    if (!end || !executed.has(StackName)) throw missingStack(StackName);
    const Outputs = Object.entries(end.outputs ?? {}).map(([OutputKey, OutputValue]) => ({
      OutputKey,
      OutputValue,
    }));
    return { Stacks: [{ StackName, StackStatus: end.final, Outputs }] };
  });
  cfn.on(CreateChangeSetCommand).callsFake(async (input: CreateChangeSetCommandInput) => {
    changeSets.push(input);
    return {};
  });
  cfn.on(DescribeChangeSetCommand).resolves({
    Status: 'CREATE_COMPLETE',
    Changes: [{ ResourceChange: { Action: 'Add', LogicalResourceId: 'X', ResourceType: 'T' } }],
  });
  cfn.on(ExecuteChangeSetCommand).callsFake(async ({ StackName }: { StackName: string }) => {
    executed.add(StackName);
    return {};
  });
  cfn.on(DescribeStackEventsCommand).callsFake(async ({ StackName }: { StackName: string }) => ({
    StackEvents: executed.has(StackName) ? (ends[StackName]?.events ?? []) : [],
  }));
  return { changeSets };
}

const failed = (id: string, type: string, reason: string): StackEvent => ({
  EventId: id,
  StackId: 'x',
  StackName: 'x',
  LogicalResourceId: id,
  ResourceType: type,
  ResourceStatus: 'CREATE_FAILED',
  ResourceStatusReason: reason,
  Timestamp: new Date(),
});

/** A copilot that knows the deployment, renders as Copilot does, and records its commands. */
function recordingCopilot() {
  const must: { args: string; options: unknown }[] = [];
  const run: { args: string; options: unknown }[] = [];
  const copilot = {
    appNames: async () => ['bookstore'],
    envNames: async () => ['test'],
    serviceNames: async () => ['author-service', 'book-service'],
    run: async (args: string[], options: unknown) => {
      run.push({ args: args.join(' '), options });
      return renderPackage(repoRoot, args);
    },
    must: async (args: string[], options: unknown) => {
      must.push({ args: args.join(' '), options });
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  return { copilot: copilot as unknown as Copilot, must, run };
}

function openers(
  copilot: Copilot,
  opened: unknown[] = [],
  ssm?: unknown,
  secretsManager?: unknown,
): Openers {
  const aws = {
    cfn: new CloudFormationClient({ region: 'us-east-1' }),
    ecs: new ECSClient({ region: 'us-east-1' }),
    logs: new CloudWatchLogsClient({ region: 'us-east-1' }),
    ssm,
    secretsManager,
  };
  return {
    session: (async () => ({
      copilot,
      aws: aws as unknown as AwsClients,
      id: { account: '1', arn: 'arn', region: 'us-east-1' },
    })) as unknown as typeof openSession,
    copilot: async (o) => {
      opened.push(o);
      return copilot;
    },
  };
}

let output: ReturnType<typeof captureOutput>;
beforeEach(() => {
  for (const m of [cfn, ecs]) m.reset();
  output = captureOutput();
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const m of [cfn, ecs]) m.reset();
});

function options(steps: DeployOptions['steps'][], over: Partial<DeployOptions> = {}) {
  return {
    cmd: 'deploy',
    app: 'bookstore',
    env: 'test',
    services: ['book-service'],
    region: undefined,
    profile: undefined,
    timeoutMinutes: 30,
    templateFile: path.join(repoRoot, 'addons', 'http-api.yml'),
    apiParameters: {},
    settleMs: 0,
    steps: new Set(steps.flatMap((s) => [...s])),
    dryRun: false,
    json: false,
    renderDir: RENDER_DIR,
    today: '2026-12-06',
    ...over,
  } satisfies DeployOptions;
}
const only = (...s: ('env' | 'services' | 'api' | 'bastion' | 'smoke')[]) => new Set(s);

async function failure(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    () => undefined,
    (e: unknown) => e,
  );
}

const API = 'bookstore-test-http-api';
const BASTION = 'bookstore-test-bastion';
const URL = 'https://abc.execute-api.us-east-1.amazonaws.com';

/**
 * A day whose recommended runtime (the runtime table's) differs from today's, so a run judged on
 * today instead would show; and the runtime deploy names on it.
 */
function laterDay(day: string): string {
  expect(recommendedRuntime(day)).not.toBe(recommendedRuntime(isoDay(Date.now())));
  return recommendedRuntime(day) ?? '<a runtime from the table>';
}

describe('deploy of the addon stacks', () => {
  it('creates each through a change set, and prints the API URL even when the bastion follows', async () => {
    const { changeSets } = fakeCloudFormation({
      [API]: { final: 'CREATE_COMPLETE', outputs: { PublicEndpoint: URL } },
      [BASTION]: { final: 'CREATE_COMPLETE', outputs: { InstanceId: 'i-1' } },
    });
    const { copilot } = recordingCopilot();
    expect(await deploy(options([only('api', 'bastion')]), openers(copilot))).toBe(0);
    expect(output.stdout()).toBe(`${URL}\n`);
    const tags = [
      { Key: 'copilot-application', Value: 'bookstore' },
      { Key: 'copilot-environment', Value: 'test' },
    ];
    const [api, bastion] = changeSets;
    expect(changeSets.map((c) => c.StackName)).toEqual([API, BASTION]);
    expect(api?.Tags).toEqual(tags);
    expect(api?.Capabilities).toBeUndefined();
    expect(api?.Parameters).toEqual(
      expect.arrayContaining([
        { ParameterKey: 'App', ParameterValue: 'bookstore' },
        { ParameterKey: 'Env', ParameterValue: 'test' },
      ]),
    );
    expect(bastion?.Tags).toEqual(tags);
    expect(bastion?.Capabilities).toEqual(['CAPABILITY_IAM']);
  });

  it('reports each stack created, and the URL, as JSON with --json', async () => {
    fakeCloudFormation({ [API]: { final: 'CREATE_COMPLETE', outputs: { PublicEndpoint: URL } } });
    const { copilot } = recordingCopilot();
    await deploy(options([only('api')], { json: true }), openers(copilot));
    expect(JSON.parse(output.stdout())).toEqual({
      app: 'bookstore',
      env: 'test',
      stacks: { [API]: 'created' },
      apiUrl: URL,
    });
  });

  it('reports a stack its change set leaves as it was as "no changes"', async () => {
    fakeCloudFormation({ [API]: { final: 'UPDATE_COMPLETE', outputs: { PublicEndpoint: URL } } });
    cfn.on(DescribeStacksCommand, { StackName: API }).resolves({
      Stacks: [
        {
          StackName: API,
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: [{ OutputKey: 'PublicEndpoint', OutputValue: URL }],
        },
      ],
    });
    cfn.on(DescribeChangeSetCommand).resolves({
      Status: 'FAILED',
      StatusReason: "The submitted information didn't contain changes.",
    });
    cfn.on(DeleteChangeSetCommand).resolves({});
    const { copilot } = recordingCopilot();
    await deploy(options([only('api')], { json: true }), openers(copilot));
    expect(JSON.parse(output.stdout()).stacks).toEqual({ [API]: 'no changes' });
  });

  it('names the failed stack, its status and every reason, then diagnose and the step again', async () => {
    fakeCloudFormation({
      [API]: {
        final: 'ROLLBACK_COMPLETE',
        events: [
          failed('VpcLink', 'AWS::ApiGatewayV2::VpcLink', 'subnet-1 does not exist'),
          failed('Api', 'AWS::ApiGatewayV2::Api', 'quota reached'),
        ],
      },
    });
    const { copilot } = recordingCopilot();
    const error = await failure(deploy(options([only('api')]), openers(copilot)));
    expect(error).toBeInstanceOf(CliError);
    const e = error as CliError;
    expect(e.what).toBe(`deploy: stack ${API} failed (ROLLBACK_COMPLETE)`);
    expect(e.why).toMatch(/^Api \(AWS::ApiGatewayV2::Api\): quota reached; VpcLink .*subnet-1/);
    expect(e.next).toMatch(
      /diagnose(\.ts)? --env test {3}\(fix, then .*deploy(\.ts)? --env test --only api\)$/,
    );
  });

  it('names the function Lambda refused and the runtime to set on the day given', async () => {
    const refusal =
      'Resource handler returned message: "The runtime parameter of nodejs20.x is no longer supported for creating or updating AWS Lambda functions."';
    fakeCloudFormation({
      [BASTION]: {
        final: 'ROLLBACK_COMPLETE',
        events: [failed('Rotate', 'AWS::Lambda::Function', refusal)],
      },
    });
    const { copilot } = recordingCopilot();
    const runtime = laterDay('2028-08-01');
    const run = deploy(options([only('bastion')], { today: '2028-08-01' }), openers(copilot));
    const e = (await failure(run)) as CliError;
    expect(e.what).toBe(`deploy: stack ${BASTION} failed: Lambda refused a function's runtime`);
    expect(e.why).toMatch(/^Rotate runs nodejs20\.x/);
    expect(e.next).toMatch(/^addons\/bastion\.yml: set (.+) \(npm run check:runtimes\), then /);
    expect(e.next?.split(' set ')[1]?.startsWith(`${runtime} (`)).toBe(true);
    expect(e.next).toMatch(/deploy(\.ts)? --env test --only bastion$/);
  });

  it('lets an error that is not the stack failing through as it is', async () => {
    fakeCloudFormation({});
    const denied = Object.assign(new Error('not authorized to perform DescribeStacks'), {
      name: 'AccessDenied',
    });
    cfn.on(DescribeStacksCommand, { StackName: API }).rejects(denied);
    const { copilot } = recordingCopilot();
    const error = await failure(deploy(options([only('api')]), openers(copilot)));
    expect(error).toBe(denied);
  });
});

describe('deploy of the environment, when Lambda refuses a runtime', () => {
  it('recommends the runtime of the day given', async () => {
    const { copilot } = recordingCopilot();
    (copilot as unknown as { must: unknown }).must = async () => {
      throw new CliError('copilot env deploy failed', 'stack failed');
    };
    let polls = 0;
    const refusal =
      'Resource handler returned message: "The runtime parameter of nodejs20.x is no longer supported for creating or updating AWS Lambda functions."';
    cfn.on(DescribeStackEventsCommand).callsFake(async () => ({
      StackEvents:
        polls++ === 0 ? [] : [failed('DNSDelegationFunction', 'AWS::Lambda::Function', refusal)],
    }));
    // A day the rendered environment still passes the preview on (its runtime is deprecated,
    // not refused), whose recommendation differs from today's.
    const runtime = laterDay('2028-05-15');
    const run = deploy(options([only('env')], { today: '2028-05-15' }), openers(copilot));
    const e = (await failure(run)) as CliError;
    expect(e.next).toMatch(/^copilot\/environments\/overrides\/cfn\.patches\.yml: set /);
    expect(e.next?.split(' set ')[1]?.startsWith(`${runtime} (`)).toBe(true);
  });
});

// scripts/cloud/secret-check.ts judges each parameter; here, that deploy asks before any change.
describe('deploy of services that read secrets', () => {
  const secret = {
    service: 'book-service',
    variable: 'DB',
    store: 'ssm' as const,
    id: '/db',
    named: '/db',
  };
  const ssm = (asked: string[]) => ({
    config: { region: async () => 'us-east-1' },
    send: async (command: { input: { ResourceId: string } }) => {
      asked.push(command.input.ResourceId);
      throw Object.assign(new Error('invalid'), { name: 'InvalidResourceId' });
    },
  });

  it('stops before any copilot change when a parameter does not exist', async () => {
    const { copilot, must } = recordingCopilot();
    const asked: string[] = [];
    const error = await failure(
      deploy(options([only('services')], { secrets: [secret] }), openers(copilot, [], ssm(asked))),
    );
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).what).toBe(
      'deploy: 1 secret the tasks could not read (nothing was changed)',
    );
    expect((error as CliError).why).toBe(
      'book-service: secret DB: SSM parameter /db does not exist in us-east-1',
    );
    expect(asked).toEqual(['/db']);
    expect(must).toEqual([]);
  });

  it('asks Secrets Manager of a secret kept there, through the session', async () => {
    const { copilot, must } = recordingCopilot();
    const described: string[] = [];
    const secretsManager = {
      send: async (command: { input: { SecretId: string } }) => {
        described.push(command.input.SecretId);
        return { Tags: [] };
      },
    };
    const stored = { ...secret, store: 'secretsmanager' as const, id: 'test/db', named: 'test/db' };
    const error = await failure(
      deploy(
        options([only('services')], { secrets: [stored] }),
        openers(copilot, [], ssm([]), secretsManager),
      ),
    );
    expect((error as CliError).why).toMatch(
      /^book-service: secret DB: Secrets Manager secret test\/db lacks the tags /,
    );
    expect(described).toEqual(['test/db']);
    expect(must).toEqual([]);
  });

  it('asks nothing of SSM when only the addon stacks are deployed', async () => {
    fakeCloudFormation({ [API]: { final: 'CREATE_COMPLETE', outputs: { ApiUrl: URL } } });
    const { copilot } = recordingCopilot();
    const asked: string[] = [];
    await deploy(options([only('api')], { secrets: [secret] }), openers(copilot, [], ssm(asked)));
    expect(asked).toEqual([]);
  });
});

describe('deploy of a service', () => {
  it('waits for its ECS service, says how many tasks run, and records the stack', async () => {
    const SERVICE_ARN = 'arn:aws:ecs:us-east-1:1:service/cluster-1/bookstore-test-book-service-S';
    fakeCloudFormation({});
    cfn.on(DescribeStacksCommand, { StackName: 'bookstore-test-book-service' }).resolves({
      Stacks: [
        {
          StackName: 'bookstore-test-book-service',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
        },
      ],
    });
    cfn.on(DescribeStackResourcesCommand).resolves({
      StackResources: [
        {
          LogicalResourceId: 'Service',
          ResourceType: 'AWS::ECS::Service',
          PhysicalResourceId: SERVICE_ARN,
          ResourceStatus: 'UPDATE_COMPLETE',
          Timestamp: new Date(),
        },
      ],
    });
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceArn: SERVICE_ARN,
          status: 'ACTIVE',
          desiredCount: 2,
          runningCount: 2,
          deployments: [
            {
              id: 'ecs-svc/1',
              status: 'PRIMARY',
              desiredCount: 2,
              runningCount: 2,
              rolloutState: 'COMPLETED',
              failedTasks: 0,
            },
          ],
        },
      ],
    });
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [] });
    const { copilot, must, run: rendered } = recordingCopilot();
    const run = deploy(options([only('services')], { json: true }), openers(copilot));
    expect(await run).toBe(0);
    expect(must).toEqual([
      {
        args: 'svc deploy --name book-service --env test --app bookstore --detach',
        options: expect.objectContaining({ timeoutMs: 30 * 60_000 }),
      },
    ]);
    expect(output.stderr()).toContain(
      '[deploy]  ok book-service: 2/2 tasks running, one deployment',
    );
    // The preview rendered the service first, with the deploy's timeout.
    expect(rendered).toEqual([
      {
        args: `svc package --name book-service --env test --app bookstore --output-dir ${RENDER_DIR}`,
        options: { timeoutMs: 30 * 60_000 },
      },
    ]);
    expect(JSON.parse(output.stdout())).toMatchObject({
      stacks: { 'bookstore-test-book-service': 'deployed' },
      preview: [{ stack: 'bookstore-test-book-service' }],
    });
  });
});

describe('deploy of a service, when Lambda refuses a runtime', () => {
  it('recommends the runtime of the day given', async () => {
    const SERVICE = 'bookstore-test-book-service';
    fakeCloudFormation({});
    let described = 0;
    cfn.on(DescribeStacksCommand, { StackName: SERVICE }).callsFake(async () => {
      if (described++ === 0) throw missingStack(SERVICE);
      return { Stacks: [{ StackName: SERVICE, StackStatus: 'ROLLBACK_COMPLETE' }] };
    });
    cfn.on(DescribeStackResourcesCommand).rejects(missingStack(SERVICE));
    let polls = 0;
    const refusal =
      'Resource handler returned message: "The runtime parameter of nodejs20.x is no longer supported for creating or updating AWS Lambda functions."';
    cfn.on(DescribeStackEventsCommand, { StackName: SERVICE }).callsFake(async () => ({
      StackEvents:
        polls++ === 0
          ? []
          : [failed('DynamicDesiredCountFunction', 'AWS::Lambda::Function', refusal)],
    }));
    const { copilot } = recordingCopilot();
    const runtime = laterDay('2028-05-15');
    const run = deploy(options([only('services')], { today: '2028-05-15' }), openers(copilot));
    const e = (await failure(run)) as CliError;
    expect(e.what).toBe(`deploy: stack ${SERVICE} failed: Lambda refused a function's runtime`);
    expect(e.next).toMatch(/^copilot\/book-service\/overrides\/cfn\.patches\.yml: set /);
    expect(e.next?.split(' set ')[1]?.startsWith(`${runtime} (`)).toBe(true);
  });
});

describe('deploy, the preview', () => {
  it('judges runtimes on the day given, and stops before anything deploys', async () => {
    const { copilot, must } = recordingCopilot();
    // On 2028-08-01 Lambda refuses to update functions on the environment's nodejs24.x.
    const run = deploy(options([only('env')], { today: '2028-08-01' }), openers(copilot));
    const e = (await failure(run)) as CliError;
    expect(e).toBeInstanceOf(CliError);
    expect(`${e.what}: ${e.why}`).toMatch(/nodejs24\.x/);
    expect(must).toEqual([]);
  });

  it('renders into .cache/rendered/<app>-<env> unless told otherwise', async () => {
    const { copilot } = recordingCopilot();
    const { renderDir: _, ...rest } = options([only('env')], { dryRun: true, planOnly: true });
    await deploy(rest, openers(copilot));
    expect(output.stdout()).toContain('--output-dir .cache/rendered/bookstore-test)');
  });
});

describe('deploy --dry-run', () => {
  it('opens copilot alone with the deploy timeout, says only the preview runs, and reports a dry run', async () => {
    const { copilot, must } = recordingCopilot();
    const opened: unknown[] = [];
    const run = deploy(
      options([only('env')], { dryRun: true, json: true }),
      openers(copilot, opened),
    );
    expect(await run).toBe(0);
    expect(opened).toEqual([
      expect.objectContaining({ cmd: 'deploy', app: 'bookstore', timeoutMs: 30 * 60_000 }),
    ]);
    expect(must).toEqual([]);
    expect(output.stderr()).toContain(
      'dry run: only the preview runs (copilot package commands: read-only); nothing is deployed',
    );
    expect(JSON.parse(output.stdout())).toMatchObject({
      dryRun: true,
      app: 'bookstore',
      env: 'test',
    });
  });
});
