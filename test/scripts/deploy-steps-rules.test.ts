// deploy's and init's steps, one rule at a time, in this process against doubles built in each
// test (no module-wide SDK mock): the preview (scripts/cloud/preview.ts) renders into an emptied
// folder, says which stacks have no Lambda function, words each `copilot svc|env package` failure
// with the file to fix (Copilot v1.33.2: the YAML patch errors of override/patch.go, the
// taskdef_overrides errors of manifest/validate.go and stack/backend_svc.go, svc_deploy.go's
// undeployed environment) and stops on what rendered-check.ts refuses; the service step
// (scripts/cloud/service-deploy.ts) deploys with --detach at the pace it is given, stops on a
// deployment seen failing when the stack completes, explains a failure from the task that stopped
// last, and lets errors that are not the deployment's through as they are; init
// (scripts/cloud/initialise.ts) runs each step that is not done yet, in order, with the
// credentials `copilot env init` needs (redacted in what it prints), and changes nothing when it
// cannot name them.
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import {
  type CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  type Deployment,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CliError, createProgress } from '../../scripts/cli/command.ts';
import type { Copilot } from '../../scripts/cloud/copilot.ts';
import { initialise } from '../../scripts/cloud/initialise.ts';
import { describePreview, type PreviewTarget, previewStacks } from '../../scripts/cloud/preview.ts';
import { deployService } from '../../scripts/cloud/service-deploy.ts';
import type { openSession } from '../../scripts/cloud/session.ts';
import { cliErrorOf } from '../helpers/cli-error.ts';
import { ecsDeployment } from '../helpers/ecs-deployment.ts';
import { captureOutput } from '../helpers/output.ts';
import { type ScratchFolder, scratchFolders } from '../helpers/scratch.ts';

const scratch = scratchFolders('deploy-steps-rules');
afterEach(() => {
  vi.restoreAllMocks();
});

function capture(cmd = 'deploy') {
  const lines: string[] = [];
  return { log: createProgress(cmd, (l) => void lines.push(l)), text: () => lines.join('') };
}

const missingStack = (name: string) =>
  Object.assign(new Error(`Stack with id ${name} does not exist`), { name: 'ValidationError' });

// ---------------------------------------------------------------------------------------------
// The preview
// ---------------------------------------------------------------------------------------------

type RunAnswer = { code: number; stdout: string; stderr: string };

/**
 * A copilot whose package commands write `templates[file]` (by Copilot's file name) into
 * --output-dir, or answer `fail(args)` instead; records each command and its options.
 */
function packager(
  templates: Record<string, string>,
  fail?: (args: string[]) => RunAnswer | undefined,
) {
  const calls: { args: string; options: unknown }[] = [];
  const copilot = {
    run: async (args: string[], options: unknown) => {
      calls.push({ args: args.join(' '), options });
      const failure = fail?.(args);
      if (failure) return failure;
      const dir = args[args.indexOf('--output-dir') + 1] as string;
      const name = args[args.indexOf('--name') + 1] as string;
      const file = args[0] === 'svc' ? `${name}-test.stack.yml` : `${name}.env.yml`;
      const text = templates[file];
      if (text !== undefined) {
        writeFileSync(path.join(dir, file), text);
      }
      return { code: 0, stdout: '', stderr: '' };
    },
  } as unknown as Copilot;
  return { copilot, calls };
}

function target(ws: ScratchFolder, over: Partial<PreviewTarget> = {}): PreviewTarget {
  return {
    cmd: 'deploy',
    app: 'bookstore',
    env: 'test',
    environment: false,
    services: ['book-service'],
    dir: path.join(ws.root, '.cache', 'rendered', 'bookstore-test'),
    root: ws.root,
    today: '2026-12-06',
    timeoutMs: 90_000,
    ...over,
  };
}

const NO_FUNCTION = 'Resources:\n  Cluster:\n    Type: AWS::ECS::Cluster\n';
const OLD_FUNCTION = [
  'Resources:',
  '  EnvControllerFunction:',
  '    Type: AWS::Lambda::Function',
  '    Properties:',
  '      Handler: index.handler',
  '      Runtime: nodejs20.x',
  '',
].join('\n');
const RENDERED = '.cache/rendered/bookstore-test';

describe('the deploy preview', () => {
  it('empties its folder, renders each stack and says when it has no Lambda function', async () => {
    const ws = scratch();
    ws.write(`${RENDERED}/stale-test.stack.yml`, 'left by another run');
    const { copilot, calls } = packager({
      'test.env.yml': NO_FUNCTION,
      'book-service-test.stack.yml': NO_FUNCTION,
    });
    const t = target(ws, { environment: true });
    const out = capture();
    const previewed = await previewStacks(copilot, t, out.log);
    const outDir = `--output-dir ${t.dir}`;
    expect(calls).toEqual([
      { args: `env package --name test --app bookstore ${outDir}`, options: { timeoutMs: 90_000 } },
      {
        args: `svc package --name book-service --env test --app bookstore ${outDir}`,
        options: { timeoutMs: 90_000 },
      },
    ]);
    expect(previewed).toEqual([
      { stack: 'bookstore-test', file: `${RENDERED}/test.env.yml`, functions: [], findings: [] },
      {
        stack: 'bookstore-test-book-service',
        file: `${RENDERED}/book-service-test.stack.yml`,
        functions: [],
        findings: [],
      },
    ]);
    expect(out.text()).toBe(
      [
        `[deploy]     $ copilot env package --name test --app bookstore ${outDir}`,
        `[deploy]  ok bookstore-test: ${RENDERED}/test.env.yml; Lambda: none`,
        `[deploy]     $ copilot svc package --name book-service --env test --app bookstore ${outDir}`,
        `[deploy]  ok bookstore-test-book-service: ${RENDERED}/book-service-test.stack.yml; Lambda: none`,
        '',
      ].join('\n'),
    );
    expect(readdirSync(t.dir).sort()).toEqual(['book-service-test.stack.yml', 'test.env.yml']);
  });

  it('describes itself as the commands it runs, with the app and the folder relative to the workspace', () => {
    const ws = scratch();
    expect(
      describePreview(
        target(ws, { environment: true, services: ['author-service', 'book-service'] }),
      ),
    ).toBe(
      `render with copilot env package --name test, copilot svc package --name author-service, copilot svc package --name book-service (--app bookstore --output-dir ${RENDERED}); refuse a Lambda runtime Lambda refuses and YAML patches that did not apply`,
    );
  });

  it('stops on a refused runtime with the patch in FAIL lines, and warns of nothing it stops on', async () => {
    const ws = scratch();
    const { copilot } = packager({ 'book-service-test.stack.yml': OLD_FUNCTION });
    const out = capture();
    const error = await cliErrorOf(previewStacks(copilot, target(ws), out.log));
    const problem =
      'EnvControllerFunction runs nodejs20.x: Lambda refuses to create or update functions on it since 2026-09-30 (create since 2026-08-31)';
    expect(error.what).toBe('deploy: the preview refuses what Copilot would deploy');
    expect(error.why).toBe(`bookstore-test-book-service: ${problem}; nothing was changed`);
    expect(error.next).toBe(
      'add to copilot/book-service/overrides/cfn.patches.yml: (details above), then npm run check:runtimes and npx zx scripts/deploy.ts --dry-run',
    );
    expect(out.text()).toContain(
      `[deploy] FAIL bookstore-test-book-service (${RENDERED}/book-service-test.stack.yml): ${problem}\n    fix: add to copilot/book-service/overrides/cfn.patches.yml:\n      - op: replace\n        path: /Resources/EnvControllerFunction/Properties/Runtime\n        value: nodejs24.x\n`,
    );
    expect(out.text()).toContain('Lambda: EnvControllerFunction nodejs20.x\n');
    expect(out.text()).not.toContain('WARN');
  });

  it('says which template is missing or empty, and how to see what copilot writes', async () => {
    const ws = scratch();
    for (const templates of [
      {},
      { 'book-service-test.stack.yml': 'Description: no resources\n' },
    ]) {
      const error = await cliErrorOf(
        previewStacks(packager(templates).copilot, target(ws), capture().log),
      );
      expect(error.what).toBe(
        `deploy: copilot wrote no template to ${RENDERED}/book-service-test.stack.yml`,
      );
      expect(error.why).toBe(
        'the package command succeeded but its output has no Resources; nothing was changed',
      );
      expect(error.next).toBe(
        'copilot --version   (the version README names writes book-service-test.stack.yml)',
      );
    }
  });

  it('says which patch file it cannot read, and what checks it', async () => {
    const ws = scratch();
    ws.write('copilot/book-service/overrides/cfn.patches.yml', '- op: move\n  path: /Resources\n');
    const { copilot } = packager({ 'book-service-test.stack.yml': NO_FUNCTION });
    const error = await cliErrorOf(previewStacks(copilot, target(ws), capture().log));
    expect(error.what).toBe('deploy: cannot read copilot/book-service/overrides/cfn.patches.yml');
    expect(error.why).toMatch(/^copilot\/book-service\/overrides\/cfn\.patches\.yml: 0\.op: /);
    expect(error.next).toBe('npm run check:runtimes');
  });
});

describe('the deploy preview, when copilot cannot render', () => {
  const failing = (output: Partial<RunAnswer>) => () => ({
    code: 1,
    stdout: '',
    stderr: '',
    ...output,
  });

  async function refusal(ws: ScratchFolder, output: Partial<RunAnswer>, environment = false) {
    const { copilot, calls } = packager({}, failing(output));
    const t = target(ws, environment ? { environment: true, services: [] } : {});
    const error = await cliErrorOf(previewStacks(copilot, t, capture().log));
    return { error, calls };
  }

  it("quotes copilot's last three lines, its leading ✘ dropped, and gives the command to see it all", async () => {
    const ws = scratch();
    const cases: [Partial<RunAnswer>, string][] = [
      [{ stderr: 'Validating\nRendering\n✘ x\n\n✘ y: boom\n  \n' }, 'Rendering ✘ x ✘ y: boom'],
      [
        { stderr: '✘ get service book-service: no such service\n' },
        'get service book-service: no such service',
      ],
      [{ stdout: 'a\n✘ b\n' }, 'a ✘ b'],
      [{}, 'no output'],
    ];
    for (const [output, why] of cases) {
      const { error } = await refusal(ws, output);
      expect(error.what).toBe('deploy: copilot svc package could not render book-service');
      expect(error.why).toBe(`${why}; nothing was changed`);
      expect(error.next).toBe(
        'copilot svc package --name book-service --env test --app bookstore   (the same, printed to your terminal)',
      );
    }
  });

  it('names the patch file of a YAML patch Copilot could not apply', async () => {
    const ws = scratch();
    const why =
      'generate CloudFormation template from environment "test" manifest: file at "copilot/environments/overrides/cfn.patches.yml" does not conform to the YAML patch document schema: bad';
    const { error } = await refusal(ws, { stderr: `✘ ${why}\n` }, true);
    expect(error.what).toBe('deploy: copilot env package could not render test');
    expect(error.why).toBe(`${why}; nothing was changed`);
    expect(error.next).toBe(
      'fix copilot/environments/overrides/cfn.patches.yml (npm run check:runtimes lists what Copilot renders for each manifest), then npx zx scripts/deploy.ts --dry-run',
    );
  });

  it('names the environment to deploy first when it never was, and renders nothing after', async () => {
    const ws = scratch();
    const why =
      'cannot deploy a service to an undeployed environment. Please run "copilot env deploy --name test" to deploy the environment first';
    const { copilot, calls } = packager({ 'test.env.yml': NO_FUNCTION }, (args) =>
      args[0] === 'svc' ? { code: 1, stdout: '', stderr: `✘ ${why}\n` } : undefined,
    );
    const t = target(ws, { services: ['author-service', 'book-service'] });
    const error = await cliErrorOf(previewStacks(copilot, t, capture().log));
    expect(error.what).toBe('deploy: copilot svc package could not render author-service');
    expect(error.why).toBe(`${why}; nothing was changed`);
    expect(error.next).toBe(
      'npx zx scripts/deploy.ts --env test --only env   (then this command again)',
    );
    expect(calls).toHaveLength(1);
  });

  it("points a service's taskdef_overrides failure, at validation or while applied, to its manifest", async () => {
    const ws = scratch();
    for (const why of [
      'validate manifest against environment "test": validate "taskdef_overrides[0]": "path" cannot be empty',
      // stack/backend_svc.go: a rule Copilot cannot apply to the rendered task definition.
      'generate workload book-service template against environment test: apply task definition overrides: cannot specify PortMappings[1] because the current length is 1. Use [-] to append to the sequence instead',
    ]) {
      const { error } = await refusal(ws, { stderr: `✘ ${why}\n` });
      expect(error.why).toBe(`${why}; nothing was changed`);
      expect(error.next, why).toBe('fix taskdef_overrides in copilot/book-service/manifest.yml');
    }
    // The environment has no taskdef_overrides: the same words there get the general advice.
    const { error } = await refusal(ws, { stderr: '✘ validate "taskdef_overrides[0]": x\n' }, true);
    expect(error.next).toBe(
      'copilot env package --name test --app bookstore   (the same, printed to your terminal)',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The service step
// ---------------------------------------------------------------------------------------------

const APP = 'bookstore';
const ENV = 'test';
const SVC = 'book-service';
const SERVICE_STACK = `${APP}-${ENV}-${SVC}`;
const SERVICE_ARN = `arn:aws:ecs:eu-west-1:123456789012:service/cluster-1/${SERVICE_STACK}-Service-X`;
const INTERVAL = 1_000;
const T0 = Date.UTC(2026, 11, 6, 12);

const deployment = ecsDeployment;
const OLD = deployment({ id: 'ecs-svc/old', runningCount: 2, rolloutState: 'COMPLETED' });
const OLD_ACTIVE = { ...OLD, status: 'ACTIVE' };
const NEW = deployment({});
const NEW_DONE = deployment({ runningCount: 2, rolloutState: 'COMPLETED' });
const BREAKER = 'ECS deployment circuit breaker: tasks failed to start.';
const NEW_FAILED = deployment({ rolloutState: 'FAILED', rolloutStateReason: BREAKER });

const event = (id: string, over: Partial<StackEvent>): StackEvent => ({
  EventId: id,
  StackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${SERVICE_STACK}/1`,
  StackName: SERVICE_STACK,
  LogicalResourceId: 'Service',
  ResourceType: 'AWS::ECS::Service',
  ResourceStatus: 'UPDATE_IN_PROGRESS',
  Timestamp: new Date(T0 + 60_000),
  ...over,
});
const REFUSED = event('refused', {
  LogicalResourceId: 'DynamicDesiredCountFunction',
  ResourceType: 'AWS::Lambda::Function',
  ResourceStatus: 'UPDATE_FAILED',
  ResourceStatusReason:
    'Resource handler returned message: "The runtime parameter of nodejs20.x is no longer supported for creating or updating AWS Lambda functions."',
});

/** What AWS answers the service step; each list answers one call after another, the last repeating. */
interface ServiceWorld {
  /** DescribeStacks of the service stack: a status, or 'absent'. */
  stack: string[];
  /** DescribeServices: the deployments, or an error to throw. */
  ecs: (Deployment[] | Error)[];
  /** DescribeStackEvents of the service stack, newest first. */
  events?: StackEvent[][];
  /** The environment stack's outputs. */
  envOutputs?: Record<string, string>;
  tasks?: Task[];
}

const nth = <T>(list: T[], i: number): T => list[Math.min(i, list.length - 1)] as T;

function serviceAws(w: ServiceWorld) {
  const sent: { command: string; input: Record<string, unknown> }[] = [];
  const count = new Map<string, number>();
  const next = (key: string) => {
    const i = count.get(key) ?? 0;
    count.set(key, i + 1);
    return i;
  };
  const send = async (command: { input: Record<string, unknown> }) => {
    sent.push({ command: command.constructor.name, input: command.input });
    if (command instanceof DescribeStacksCommand) {
      if (command.input.StackName === `${APP}-${ENV}`) {
        const outputs = w.envOutputs ?? { ClusterId: 'cluster-1' };
        return {
          Stacks: [
            {
              StackName: `${APP}-${ENV}`,
              StackStatus: 'UPDATE_COMPLETE',
              Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({
                OutputKey,
                OutputValue,
              })),
            },
          ],
        };
      }
      const status = nth(w.stack, next('stack'));
      if (status === 'absent') throw missingStack(SERVICE_STACK);
      return { Stacks: [{ StackName: SERVICE_STACK, StackStatus: status }] };
    }
    if (command instanceof DescribeStackEventsCommand) {
      return { StackEvents: nth(w.events ?? [[]], next('events')) };
    }
    if (command instanceof DescribeStackResourcesCommand) {
      return {
        StackResources: [
          {
            LogicalResourceId: 'Service',
            ResourceType: 'AWS::ECS::Service',
            PhysicalResourceId: SERVICE_ARN,
          },
        ],
      };
    }
    if (command instanceof DescribeServicesCommand) {
      const answer = nth(w.ecs, next('ecs'));
      if (answer instanceof Error) throw answer;
      const running = answer.reduce((n, d) => n + (d.runningCount ?? 0), 0);
      return {
        services: [
          {
            serviceArn: SERVICE_ARN,
            status: 'ACTIVE',
            desiredCount: 2,
            runningCount: running,
            deployments: answer,
            events: [
              {
                createdAt: new Date(T0 + 90_000),
                message: `(service ${SVC}) was unable to place a task.`,
              },
            ],
          },
        ],
      };
    }
    if (command instanceof ListTasksCommand) {
      return { taskArns: (w.tasks ?? []).map((t) => t.taskArn) };
    }
    if (command instanceof DescribeTasksCommand) return { tasks: w.tasks ?? [] };
    if (command instanceof GetLogEventsCommand) {
      return { events: [{ message: `${String(command.input.logStreamName)}: Error: boom\n` }] };
    }
    if (command instanceof DescribeLogStreamsCommand) return { logStreams: [] };
    throw new Error(`unexpected ${command.constructor.name}`);
  };
  const client = <T>() => ({ send }) as unknown as T;
  return {
    aws: {
      cfn: client<CloudFormationClient>(),
      ecs: client<ECSClient>(),
      logs: client<CloudWatchLogsClient>(),
    },
    sent,
  };
}

/** Runs the step on a fake clock (sleeping only moves it; svc deploy takes 30 s of it). */
async function serviceStep(w: ServiceWorld, o: { backoff?: boolean } = {}) {
  let now = T0;
  const sleeps: number[] = [];
  const clock = {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
  const deploys: { args: string; options: unknown }[] = [];
  const copilot = {
    must: async (args: string[], options: unknown) => {
      deploys.push({ args: args.join(' '), options });
      now += 30_000;
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  const { aws, sent } = serviceAws(w);
  const out = capture();
  const outcome = await deployService({
    copilot,
    aws,
    app: APP,
    env: ENV,
    svc: SVC,
    timeoutMs: 60 * 60_000,
    settleMs: 60_000,
    log: out.log,
    ...(o.backoff === false ? {} : { backoff: { initialDelayMs: INTERVAL, maxDelayMs: INTERVAL } }),
    clock,
    today: '2026-12-06',
  }).catch((e: unknown) => e);
  return { outcome, stderr: out.text(), deploys, sleeps, sent };
}

const moving = [[], [event('e1', {})]];

describe("deploy's service step", () => {
  it('deploys detached and streamed, with the command to run by hand, and polls at the pace given', async () => {
    const run = await serviceStep({
      stack: ['UPDATE_COMPLETE', 'UPDATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE'],
      ecs: [[OLD], [NEW, OLD_ACTIVE], [NEW, OLD_ACTIVE], [NEW_DONE]],
      events: moving,
    });
    expect(run.deploys).toEqual([
      {
        args: `svc deploy --name ${SVC} --env ${ENV} --app ${APP} --detach`,
        options: {
          stream: true,
          timeoutMs: 60 * 60_000,
          next: `copilot svc deploy --name ${SVC} --env ${ENV} --app ${APP}`,
        },
      },
    ]);
    expect(run.outcome).toMatchObject({ serviceArn: SERVICE_ARN, runningCount: 2 });
    expect(run.sleeps.length).toBeGreaterThan(0);
    expect(run.sleeps.every((ms) => ms === INTERVAL)).toBe(true);
  });

  it('stops on a deployment seen failing as the stack completes, even when ECS then looks steady on the old one', async () => {
    // ECS's circuit breaker rolls the service back to the old deployment: one look later it is
    // steady again, and only the look that saw FAILED tells the deploy failed.
    const run = await serviceStep({
      stack: ['UPDATE_COMPLETE', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE'],
      ecs: [[OLD], [NEW, OLD_ACTIVE], [NEW, OLD_ACTIVE], [NEW_FAILED, OLD_ACTIVE], [OLD]],
      events: moving,
    });
    expect(run.outcome).toBeInstanceOf(CliError);
    const error = run.outcome as CliError;
    expect(error.what).toBe(`deploy: service ${SVC} failed to deploy`);
    expect(error.why).toBe(`the deployment's rollout FAILED: ${BREAKER} (details above)`);
  });

  it('says where it looked when it cannot find the ECS service', async () => {
    const run = await serviceStep({
      stack: ['UPDATE_COMPLETE', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE'],
      ecs: [[NEW_DONE]],
      events: moving,
      envOutputs: {},
    });
    const error = run.outcome as CliError;
    expect(error).toBeInstanceOf(CliError);
    expect(error.what).toBe(`cannot find the ECS service of ${SERVICE_STACK}`);
    expect(error.why).toBe(
      `stack ${APP}-${ENV} has no ClusterId output or stack ${SERVICE_STACK} has no AWS::ECS::Service`,
    );
    expect(error.next).toBe(
      `aws cloudformation describe-stack-resources --stack-name ${SERVICE_STACK}`,
    );
    expect(run.stderr).not.toContain('stopped tasks');
  });

  it("passes a stack's own failure through when no runtime was refused, without a task report", async () => {
    const failed = event('f1', {
      ResourceStatus: 'CREATE_FAILED',
      ResourceStatusReason: 'Invalid request provided: CreateService error',
    });
    const run = await serviceStep({
      stack: ['absent', 'ROLLBACK_COMPLETE'],
      ecs: [[NEW]],
      events: [[], [failed]],
    });
    const error = run.outcome as CliError;
    expect(error).toBeInstanceOf(CliError);
    expect(error.what).toBe(`stack ${SERVICE_STACK} ended in ROLLBACK_COMPLETE`);
    expect(error.why).toBe(
      'Service (AWS::ECS::Service): Invalid request provided: CreateService error',
    );
    expect(run.stderr).not.toContain('stopped tasks');
  });

  it('lets an AWS error of the wait through as it is, even when the events show a refused runtime', async () => {
    const denied = Object.assign(new Error('not authorized to perform ecs:DescribeServices'), {
      name: 'AccessDeniedException',
    });
    const run = await serviceStep({
      stack: ['UPDATE_COMPLETE', 'UPDATE_IN_PROGRESS'],
      ecs: [[OLD], denied],
      events: [[], [REFUSED]],
    });
    expect(run.outcome).toBe(denied);
  });

  it('prints the events that came last and names the refused function, with its patch file', async () => {
    // Rolling back is the signal; the refusal's event arrives only after it.
    const run = await serviceStep({
      stack: ['UPDATE_COMPLETE', 'UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS'],
      ecs: [[OLD], [NEW, OLD_ACTIVE]],
      events: [[], [], [], [REFUSED]],
    });
    const error = run.outcome as CliError;
    expect(error.what).toBe(
      `deploy: stack ${SERVICE_STACK} failed: Lambda refused a function's runtime`,
    );
    expect(error.next).toBe(
      `copilot/${SVC}/overrides/cfn.patches.yml: set nodejs24.x (npm run check:runtimes), then npx zx scripts/deploy.ts --env ${ENV} --only services --service ${SVC}`,
    );
    expect(run.stderr).toContain(
      `UPDATE_FAILED DynamicDesiredCountFunction (AWS::Lambda::Function)  ${REFUSED.ResourceStatusReason}\n`,
    );
  });
});

describe("deploy's service step, explaining a failed deployment", () => {
  const task = (id: string, stoppedAt: number, over: Partial<Task>): Task => ({
    taskArn: `arn:aws:ecs:eu-west-1:123456789012:task/cluster-1/${id}`,
    startedBy: 'ecs-svc/new',
    stoppedAt: new Date(stoppedAt),
    ...over,
  });
  const circuitBreaker = event('cb', {
    ResourceStatus: 'UPDATE_FAILED',
    ResourceStatusReason:
      'Resource handler returned message: "Error occurred during operation \'ECS Deployment Circuit Breaker was triggered\'."',
  });

  async function failedRollout(tasks: Task[]) {
    return serviceStep({
      stack: ['UPDATE_COMPLETE', 'UPDATE_IN_PROGRESS'],
      ecs: [[OLD], [NEW, OLD_ACTIVE], [NEW_FAILED, OLD_ACTIVE]],
      // The stack's failure arrives with the last look, after the watch saw FAILED.
      events: [[], [], [], [circuitBreaker]],
      tasks,
    });
  }

  it('gives the reason, the task that stopped last and the container that exited, then what to read and run', async () => {
    const run = await failedRollout([
      task('t0', T0 + 40_000, {
        stoppedReason: 'older',
        containers: [{ name: SVC, exitCode: 1 }],
      }),
      task('t1', T0 + 50_000, {
        stoppedReason: 'Essential container in task exited',
        containers: [
          { name: 'init' },
          { name: 'firelens_log_router', exitCode: 0 },
          {
            name: SVC,
            exitCode: 137,
            reason: 'OutOfMemoryError: Container killed due to memory usage',
          },
        ],
      }),
    ]);
    const error = run.outcome as CliError;
    expect(error).toBeInstanceOf(CliError);
    expect(error.why).toBe(
      `the deployment's rollout FAILED: ${BREAKER}; a stopped task: Essential container in task exited; container ${SVC} exited 137 (OutOfMemoryError: Container killed due to memory usage) (details above)`,
    );
    expect(error.next).toBe(
      `copilot svc logs --name ${SVC} --env ${ENV} --since 30m   (fix the cause, then npx zx scripts/deploy.ts --env ${ENV} --only services --service ${SVC})`,
    );
    expect(run.stderr).toContain(
      `[deploy] FAIL ${SVC}: the deployment is failing: the deployment's rollout FAILED: ${BREAKER}. Not waiting for it.\n`,
    );
    expect(run.stderr).toContain(
      `[deploy]       stack: Service (AWS::ECS::Service): ${circuitBreaker.ResourceStatusReason}\n`,
    );
    // The log lines since svc deploy began, from the stream of Copilot's log group.
    const reads = run.sent.filter((s) => s.command === 'GetLogEventsCommand').map((s) => s.input);
    expect(reads[0]).toMatchObject({
      logGroupName: `/copilot/${APP}-${ENV}-${SVC}`,
      logStreamName: `copilot/${SVC}/t1`,
      startTime: T0,
    });
  });

  it('says only what it knows when the task has no reason, no container or no exit code', async () => {
    const cases: [Task[], string][] = [
      [[task('t1', T0, {})], ''],
      [
        [task('t1', T0, { containers: [{ name: SVC, exitCode: 1 }] })],
        `; container ${SVC} exited 1`,
      ],
      [
        [task('t1', T0, { stoppedReason: 'Scaling activity', containers: [{ name: SVC }] })],
        '; a stopped task: Scaling activity',
      ],
      [[], ''],
    ];
    for (const [tasks, detail] of cases) {
      const error = (await failedRollout(tasks)).outcome as CliError;
      expect(error.why).toBe(
        `the deployment's rollout FAILED: ${BREAKER}${detail} (details above)`,
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// init
// ---------------------------------------------------------------------------------------------

interface Known {
  apps: string[];
  envs: string[];
  services: string[];
  /** The environment stack: none, env init's bootstrap stack, or deployed (it has a VPC). */
  envStack: 'absent' | 'bootstrap' | 'deployed';
}

const ID = {
  account: '123456789012',
  arn: 'arn:aws:iam::123456789012:user/dev',
  region: 'eu-west-1',
};

/** A copilot and an AWS account that know `known`, changed by the commands init runs. */
function account(known: Known) {
  const must: { args: string; options: unknown }[] = [];
  const opened: Record<string, unknown>[] = [];
  const described: unknown[] = [];
  const ls = (app: string, list: string[]) => {
    if (!known.apps.includes(app))
      throw new CliError('copilot env ls failed', `couldn't find an application named ${app}`);
    return [...list];
  };
  const copilot = {
    appNames: async () => [...known.apps],
    envNames: async (app: string) => ls(app, known.envs),
    serviceNames: async (app: string) => ls(app, known.services),
    must: async (args: string[], options: unknown) => {
      must.push({ args: args.join(' '), options });
      const [noun, verb] = args;
      if (noun === 'app') known.apps.push(args[2] as string);
      if (noun === 'env' && verb === 'init') {
        known.envs.push(args[3] as string);
        known.envStack = 'bootstrap';
      }
      if (noun === 'env' && verb === 'deploy') known.envStack = 'deployed';
      if (noun === 'svc') known.services.push(args[3] as string);
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  const cfn = {
    send: async (command: { input: { StackName?: string } }) => {
      described.push(command instanceof DescribeStacksCommand && command.input.StackName);
      const name = command.input.StackName ?? '';
      if (known.envStack === 'absent' || name !== 'bookstore-test') throw missingStack(name);
      const outputs =
        known.envStack === 'deployed' ? ['VpcId', 'ClusterId'] : ['CFNExecutionRoleARN'];
      return {
        Stacks: [
          {
            StackName: name,
            StackStatus: 'UPDATE_COMPLETE',
            Outputs: outputs.map((k) => ({ OutputKey: k, OutputValue: `${k}-1` })),
          },
        ],
      };
    },
  };
  const open = (async (options: Record<string, unknown>) => {
    opened.push(options);
    return { copilot, aws: { cfn }, id: ID };
  }) as unknown as typeof openSession;
  return { open, must, opened, described };
}

const fresh = (): Known => ({ apps: [], envs: [], services: [], envStack: 'absent' });
const done = (): Known => ({
  apps: ['bookstore'],
  envs: ['test'],
  services: ['author-service', 'book-service'],
  envStack: 'deployed',
});

function initOptions(
  over: { dryRun?: boolean; json?: boolean; region?: string; profile?: string } = {},
) {
  return {
    cmd: 'init',
    app: 'bookstore',
    env: 'test',
    services: ['author-service', 'book-service'],
    region: over.region,
    profile: over.profile,
    timeoutMinutes: 30,
    dryRun: over.dryRun ?? false,
    json: over.json ?? false,
  };
}

const STEPS = [
  'app bookstore',
  'env init test',
  'env deploy test',
  'svc init author-service',
  'svc init book-service',
];

/** AWS credentials as env init would find them: none but a config file naming `other`. */
function noNamedCredentials(ws: ScratchFolder) {
  ws.write('aws/config', '[profile other]\nregion = eu-west-1\n');
  vi.stubEnv('AWS_CONFIG_FILE', path.join(ws.root, 'aws', 'config'));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', path.join(ws.root, 'aws', 'credentials'));
  for (const name of [
    'AWS_PROFILE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
  ])
    vi.stubEnv(name, undefined);
}

describe('init', () => {
  it('runs every step on a new account, in order, under one heading each, with the credentials env init needs', async () => {
    const output = captureOutput();
    const a = account(fresh());
    expect(await initialise(initOptions({ profile: 'dev' }), a.open)).toBe(0);
    const commands = [
      'app init bookstore',
      'env init --name test --app bookstore --default-config --profile dev --region eu-west-1',
      'env deploy --name test --app bookstore',
      'svc init --name author-service --app bookstore',
      'svc init --name book-service --app bookstore',
    ];
    expect(a.must).toEqual(
      commands.map((args) => ({ args, options: { stream: true, next: `copilot ${args}` } })),
    );
    expect(a.described).toEqual(['bookstore-test']);
    expect(output.stdout()).toBe(
      'initialised bookstore/test (5 steps done, 0 already done); next: npx zx scripts/deploy.ts --env test\n',
    );
    const headings = output
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('[init] ==> '));
    expect(headings).toEqual([
      '[init] ==> application bookstore',
      '[init] ==> environment test',
      '[init] ==> services',
    ]);
    expect(output.stderr()).toContain('[init]  ok copilot env init will use profile dev\n');
  });

  it('opens its session with docker checked first and the timeout in milliseconds', async () => {
    captureOutput();
    const a = account(done());
    await initialise(initOptions({ region: 'eu-west-1', profile: 'dev' }), a.open);
    expect(a.opened).toEqual([
      expect.objectContaining({
        cmd: 'init',
        region: 'eu-west-1',
        profile: 'dev',
        timeoutMs: 30 * 60_000,
        docker: true,
        dockerFirst: true,
      }),
    ]);
  });

  it('skips what is done, says so, and reports each step as JSON', async () => {
    const output = captureOutput();
    const a = account(done());
    // Credentials env init could not name do not matter once the environment exists.
    noNamedCredentials(scratch());
    expect(await initialise(initOptions({ json: true }), a.open)).toBe(0);
    expect(a.must).toEqual([]);
    expect(output.stdout()).toBe(
      `${JSON.stringify(
        {
          app: 'bookstore',
          env: 'test',
          account: '123456789012',
          steps: STEPS.map((step) => ({ step, outcome: 'skipped' })),
        },
        null,
        2,
      )}\n`,
    );
    for (const step of STEPS)
      expect(output.stderr()).toContain(`[init]  ok ${step}: already done\n`);
    expect(output.stderr()).not.toContain('env init will use');
  });

  it('deploys an environment env init only bootstrapped, or whose stack is gone, and registers the missing service', async () => {
    for (const envStack of ['bootstrap', 'absent'] as const) {
      const output = captureOutput();
      const a = account({ ...done(), services: ['book-service'], envStack });
      await initialise(initOptions(), a.open);
      expect(a.must.map((m) => m.args)).toEqual([
        'env deploy --name test --app bookstore',
        'svc init --name author-service --app bookstore',
      ]);
      expect(output.stdout(), envStack).toBe(
        'initialised bookstore/test (2 steps done, 3 already done); next: npx zx scripts/deploy.ts --env test\n',
      );
      vi.restoreAllMocks();
    }
  });

  it('hands env init temporary credentials, and never prints the secret ones', async () => {
    const output = captureOutput();
    noNamedCredentials(scratch());
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-key');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session-token');
    const a = account({ ...done(), envs: [], envStack: 'absent' });
    await initialise(initOptions(), a.open);
    const envInit = a.must.find((m) => m.args.startsWith('env init'));
    expect(envInit?.args).toBe(
      'env init --name test --app bookstore --default-config --aws-access-key-id AKIAEXAMPLE --aws-secret-access-key secret-key --aws-session-token session-token --region eu-west-1',
    );
    expect(envInit?.options).toEqual({
      stream: true,
      next: 'copilot env init --name test --app bookstore --default-config --aws-access-key-id AKIAEXAMPLE --aws-secret-access-key **** --aws-session-token **** --region eu-west-1',
    });
    expect(output.stderr()).toContain(
      'copilot env init will use the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables',
    );
  });

  it('changes nothing when it cannot name the credentials env init would ask for', async () => {
    captureOutput();
    noNamedCredentials(scratch());
    const a = account(fresh());
    const error = await cliErrorOf(initialise(initOptions(), a.open));
    expect(error.what).toBe('init: cannot tell copilot env init which credentials to use');
    expect(error.exitCode).toBe(2);
    expect(a.must).toEqual([]);
  });
});

describe('init --dry-run', () => {
  const plan = (region: string) => [
    'check copilot, docker and AWS credentials',
    'copilot app init bookstore',
    `copilot env init --name test --app bookstore --default-config --region ${region}`,
    'copilot env deploy --name test --app bookstore',
    'copilot svc init --name author-service --app bookstore',
    'copilot svc init --name book-service --app bookstore',
  ];

  it('prints the numbered steps and where copilot is, and opens nothing', async () => {
    const ws = scratch();
    ws.write('bin/copilot', '#!/bin/sh\n');
    chmodSync(path.join(ws.root, 'bin', 'copilot'), 0o755);
    for (const [PATH, where] of [
      [path.join(ws.root, 'bin'), path.join(ws.root, 'bin', 'copilot')],
      [path.join(ws.root, 'no-such-dir'), 'NOT on PATH'],
    ]) {
      vi.stubEnv('PATH', PATH);
      const output = captureOutput();
      const a = account(fresh());
      expect(await initialise(initOptions({ dryRun: true }), a.open)).toBe(0);
      expect(output.stderr()).toBe(`[init]     dry run: nothing is called. copilot: ${where}\n`);
      expect(output.stdout()).toBe(
        `${plan('<the region the credentials resolve to>')
          .map((p, i) => `${i + 1}. ${p}`)
          .join('\n')}\n`,
      );
      expect(a.opened).toEqual([]);
      vi.restoreAllMocks();
    }
  });

  it('prints the plan as JSON with --json, with the region given', async () => {
    const output = captureOutput();
    const a = account(fresh());
    await initialise(initOptions({ dryRun: true, json: true, region: 'eu-west-1' }), a.open);
    expect(output.stdout()).toBe(
      `${JSON.stringify({ dryRun: true, plan: plan('eu-west-1') }, null, 2)}\n`,
    );
  });
});
