// The deploy plan and the teardown, run in this process with a recording copilot and a
// moto-backed CloudFormation, so each decision (which steps, in what order, what is refused and
// what is printed) is asserted where a mutation of it would show. copilot-scripts.slow.test.ts runs
// the same scripts end to end as a user does, under the fake copilot binary.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ListStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CliError } from '../../scripts/cli/command.ts';
import type { AwsClients } from '../../scripts/cloud/aws.ts';
import type { Copilot } from '../../scripts/cloud/copilot.ts';
import {
  type DeployOptions,
  deploy,
  type Openers,
  resolveSteps,
} from '../../scripts/cloud/deploy-plan.ts';
import type { openSession } from '../../scripts/cloud/session.ts';
import { type TeardownOptions, teardown } from '../../scripts/cloud/teardown.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { loadTemplate } from '../../scripts/workspace/template.ts';
import { cliErrorOf as failure } from '../helpers/cli-error.ts';
import { captureOutput } from '../helpers/output.ts';
import { MOTO, missing, needing } from '../helpers/tools.ts';
import { type Moto, motoClient, outputsStack, startMoto } from './harness.ts';
import { renderPackage, type Tamper } from './rendering.ts';

const skipMoto = missing(MOTO);

const TEMPLATE = path.join(repoRoot, 'addons', 'http-api.yml');
// The preview's templates: one directory for this file, removed when it is done.
const RENDER_DIR = mkdtempSync(path.join(os.tmpdir(), 'plan-rendered-'));
afterAll(() => rmSync(RENDER_DIR, { recursive: true, force: true }));
const SERVICES = ['author-service', 'book-service'];

/**
 * What a user's copilot knows, and every command the scripts asked it to run. Its package
 * commands render as Copilot does, in this process (rendering.ts), `tamper` changing the result.
 */
function recordingCopilot(known: {
  apps?: string[];
  envs?: string[];
  services?: string[];
  /** Called with each command's arguments, as it runs. */
  onRun?: (args: string[]) => void;
  tamper?: Tamper;
}) {
  const calls: { args: string; cwd?: string }[] = [];
  const options: Record<string, unknown>[] = [];
  const copilot = {
    appNames: async () => known.apps ?? [],
    envNames: async () => known.envs ?? [],
    serviceNames: async () => known.services ?? [],
    run: async (args: string[]) => {
      calls.push({ args: args.join(' ') });
      known.onRun?.(args);
      return renderPackage(repoRoot, args, known.tamper);
    },
    must: async (args: string[], given: Record<string, unknown> & { cwd?: string } = {}) => {
      calls.push({ args: args.join(' '), ...(given.cwd ? { cwd: given.cwd } : {}) });
      const { cwd: _, ...rest } = given;
      options.push(rest);
      known.onRun?.(args);
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  return { copilot: copilot as unknown as Copilot, calls, options };
}

const KNOWN = { apps: ['bookstore'], envs: ['test'], services: SERVICES };

/** Openers that hand out the doubles, and count how often each was asked. */
function sessionOf(copilot: Copilot, aws: Partial<AwsClients> = {}) {
  const opened: unknown[] = [];
  const copilotOnly: unknown[] = [];
  const open: Openers = {
    session: (async (options: unknown) => {
      opened.push(options);
      return { copilot, aws: aws as AwsClients, id: { account: '1', arn: 'arn', region: 'r' } };
    }) as typeof openSession,
    copilot: async (options: unknown) => {
      copilotOnly.push(options);
      return copilot;
    },
  };
  return { open, opened, copilotOnly };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

function deployOptions(overrides: Partial<DeployOptions> = {}): DeployOptions {
  return {
    cmd: 'deploy',
    app: 'bookstore',
    env: 'test',
    services: SERVICES,
    region: undefined,
    profile: undefined,
    timeoutMinutes: 30,
    templateFile: TEMPLATE,
    apiParameters: {},
    settleMs: 0,
    steps: resolveSteps('deploy', undefined, false),
    dryRun: true,
    json: false,
    smoke: { step: 'smoke', description: 'smoke checks', run: async () => {} },
    renderDir: RENDER_DIR,
    today: '2026-12-06',
    ...overrides,
  };
}

describe('deploy steps', () => {
  it('are every step but the bastion by default, all five with it, in the one order', () => {
    expect([...resolveSteps('deploy', undefined, false)]).toEqual([
      'env',
      'services',
      'api',
      'smoke',
    ]);
    expect([...resolveSteps('deploy', '', true)]).toEqual([
      'env',
      'services',
      'api',
      'bastion',
      'smoke',
    ]);
    expect([...resolveSteps('deploy', 'api, env', false)]).toEqual(['api', 'env']);
  });

  it('refuses an unknown step, naming it and the known ones', () => {
    const error = (() => {
      try {
        resolveSteps('deploy', 'api,apis,dns', false);
      } catch (e) {
        return e as CliError;
      }
    })();
    expect(error).toBeInstanceOf(CliError);
    expect(error?.what).toBe('deploy: invalid --only');
    expect(error?.why).toBe(
      'unknown step(s) apis, dns; steps are env, services, api, bastion, smoke',
    );
    expect(error?.exitCode).toBe(2);
    expect(error?.next).toMatch(/deploy(\.ts)? --help$/);
  });
});

describe('deploy --dry-run', () => {
  it('prints the whole plan in order, then runs the preview alone with copilot alone', async () => {
    const output = captureOutput();
    const { copilot, calls } = recordingCopilot(KNOWN);
    const { open, opened, copilotOnly } = sessionOf(copilot);
    expect(await deploy(deployOptions(), open)).toBe(0);
    // No session (no STS, no Docker): copilot's read-only commands only.
    expect(opened).toEqual([]);
    expect(copilotOnly).toHaveLength(1);
    const lines = output.stdout().split('\n');
    expect(lines[0]).toMatch(
      /^1\. \[preview\] render with copilot env package --name test, copilot svc package --name author-service, copilot svc package --name book-service \(--app bookstore --output-dir .*\); refuse a Lambda runtime Lambda refuses and YAML patches that did not apply$/,
    );
    expect(lines.slice(1)).toEqual([
      '2. [env] copilot env deploy --name test --app bookstore',
      '3. [services] copilot svc deploy --name author-service --env test --app bookstore --detach; wait for stack bookstore-test-author-service and its ECS service (steady state, <= 30 min)',
      '4. [services] copilot svc deploy --name book-service --env test --app bookstore --detach; wait for stack bookstore-test-book-service and its ECS service (steady state, <= 30 min)',
      '5. [api] stack bookstore-test-http-api from addons/http-api.yml (App=bookstore, Env=test) via a change set',
      '6. [smoke] smoke checks',
      '',
    ]);
    expect(calls.map((c) => c.args)).toEqual([
      `env package --name test --app bookstore --output-dir ${RENDER_DIR}`,
      `svc package --name author-service --env test --app bookstore --output-dir ${RENDER_DIR}`,
      `svc package --name book-service --env test --app bookstore --output-dir ${RENDER_DIR}`,
    ]);
    // Copilot's file names, kept for the user to read; every function on the patched runtime.
    expect(output.stderr()).toContain(
      'ok bookstore-test-book-service: ' +
        `${path.relative(repoRoot, path.join(RENDER_DIR, 'book-service-test.stack.yml'))}; Lambda: EnvControllerFunction nodejs24.x, RulePriorityFunction nodejs24.x, DynamicDesiredCountFunction nodejs24.x`,
    );
    expect(output.stderr()).toContain('ok bookstore-test: ');
    expect(existsSync(path.join(RENDER_DIR, 'test.env.yml'))).toBe(true);
  });

  it('puts the steps asked for in the one order, the bastion with its IAM stack', async () => {
    const output = captureOutput();
    const steps = resolveSteps('deploy', 'bastion,smoke,api', false);
    await deploy(deployOptions({ steps, apiParameters: { ThrottlingRateLimit: '50' } }));
    expect(output.stdout()).toBe(
      [
        '1. [api] stack bookstore-test-http-api from addons/http-api.yml (ThrottlingRateLimit=50, App=bookstore, Env=test) via a change set',
        '2. [bastion] stack bookstore-test-bastion from addons/bastion.yml (App=bookstore, Env=test) via a change set',
        '3. [smoke] smoke checks',
        '',
      ].join('\n'),
    );
  });

  it('prints the plan and what the preview rendered as JSON with --json', async () => {
    const output = captureOutput();
    const { open } = sessionOf(recordingCopilot(KNOWN).copilot);
    await deploy(deployOptions({ json: true, steps: new Set(['env'] as const) }), open);
    const report = JSON.parse(output.stdout());
    expect(report.plan.map((s: { step: string }) => s.step)).toEqual(['preview', 'env']);
    expect(report.plan[1]).toEqual({
      step: 'env',
      description: 'copilot env deploy --name test --app bookstore',
    });
    expect(report.preview).toEqual([
      {
        stack: 'bookstore-test',
        file: path.relative(repoRoot, path.join(RENDER_DIR, 'test.env.yml')),
        functions: [
          'CertificateValidationFunction',
          'CustomDomainFunction',
          'DNSDelegationFunction',
        ].map((fn) => ({ fn, runtime: 'nodejs24.x', state: 'ok' })),
        findings: [],
      },
    ]);
  });

  it('checks --parameter against the template first: names, then its Rules', async () => {
    captureOutput();
    const unknown = await failure(deploy(deployOptions({ apiParameters: { Nope: '1' } })));
    expect(unknown.what).toBe('deploy: invalid --parameter');
    expect(unknown.why).toMatch(/^addons\/http-api\.yml has no parameter Nope; it has /);
    expect(unknown.exitCode).toBe(2);
    const broken = await failure(
      deploy(
        deployOptions({
          apiParameters: { JwtIssuer: 'https://issuer.example.com', HostedZoneId: 'Z1' },
        }),
      ),
    );
    expect(broken.what).toBe('deploy: invalid --parameter');
    expect(broken.why).toBe(
      'JwtAudience must list at least one audience when JwtIssuer is set.; HostedZoneId is used only with DomainName.',
    );
    expect(broken.exitCode).toBe(2);
    const disallowed = await failure(
      deploy(deployOptions({ apiParameters: { DefaultEndpoint: 'maybe' } })),
    );
    expect(disallowed.why).toBe(
      'parameter DefaultEndpoint: "maybe" is not one of auto, enabled, disabled',
    );
    const plain = await failure(
      deploy(deployOptions({ apiParameters: { JwtIssuer: 'http://issuer.example.com' } })),
    );
    expect(plain.why).toBe(
      'parameter JwtIssuer: "http://issuer.example.com" is not an https:// issuer URL, or empty for public routes',
    );
    // Not checked when the HTTP API stack is not among the steps.
    const steps = new Set(['smoke'] as const);
    expect(await deploy(deployOptions({ steps, apiParameters: { Nope: '1' } }))).toBe(0);
  });
});

describe('deploy, the checks before the plan', () => {
  it('says where copilot is in a dry run without a preview, or that it is not on PATH', async () => {
    const fakeBin = path.join(repoRoot, 'test', 'fixtures', 'copilot');
    for (const [PATH, where] of [
      [fakeBin, path.join(fakeBin, 'copilot')],
      [path.join(repoRoot, 'no-such-dir'), 'NOT on PATH'],
    ]) {
      vi.stubEnv('PATH', PATH);
      const output = captureOutput();
      await deploy(deployOptions({ steps: new Set(['smoke'] as const) }));
      expect(output.stderr()).toBe(`[deploy]     dry run: nothing is called. copilot: ${where}\n`);
      vi.restoreAllMocks();
    }
  });

  it('names every unknown parameter and every one the template has, then the next command', async () => {
    captureOutput();
    const error = await failure(
      deploy(deployOptions({ apiParameters: { Other: 'x', Nope: '1' } })),
    );
    const declared = Object.keys(loadTemplate(TEMPLATE).Parameters ?? {}).filter(
      (p) => p !== 'App' && p !== 'Env',
    );
    expect(error.why).toBe(
      `addons/http-api.yml has no parameter Other, Nope; it has ${declared.join(', ')}`,
    );
    expect(error.next).toMatch(/deploy(\.ts)? --help$/);
  });

  it('says App and Env, which the template declares, come from --app and --env', async () => {
    captureOutput();
    for (const [apiParameters, named] of [
      [{ App: 'other', Nope: '1' }, 'App'],
      [{ Env: 'prod' }, 'Env'],
      [{ Env: 'prod', App: 'other' }, 'App, Env'],
    ] as const) {
      const error = await failure(deploy(deployOptions({ apiParameters })));
      expect(error.what).toBe('deploy: invalid --parameter');
      expect(error.why).toBe(
        `--parameter ${named}: App and Env are not parameters to set; they come from --app and --env`,
      );
      expect(error.exitCode).toBe(2);
    }
  });

  it('says which template it cannot read, and what checks templates', async () => {
    captureOutput();
    const templateFile = path.join(repoRoot, 'addons', 'no-such-template.yml');
    const error = await failure(deploy(deployOptions({ templateFile, apiParameters: { A: '1' } })));
    expect(error.what).toBe('deploy: cannot read addons/no-such-template.yml');
    expect(error.next).toBe('npm run validate:templates');
  });

  // An empty --addon-template was "deploy failed: Cannot read properties of null (reading
  // 'Parameters')", and a YAML error carried the parser's multi-line frame of the text.
  it('says in one line why a template file is no template: empty, a list, not YAML', async () => {
    captureOutput();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plan-template-'));
    try {
      for (const [text, why] of [
        ['', 'is not a CloudFormation template: expected a mapping with Resources'],
        ['- 1\n', 'is not a CloudFormation template: expected a mapping with Resources'],
        ['A: 1\nA: 2\n', 'is not valid YAML: Map keys must be unique at line 2, column 1'],
      ]) {
        const templateFile = path.join(dir, 'api.yml');
        writeFileSync(templateFile, text as string);
        const error = await failure(deploy(deployOptions({ templateFile })));
        expect([error.what, error.why]).toEqual([`deploy: cannot read ${templateFile}`, why]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a number outside the template's range", async () => {
    captureOutput();
    const error = await failure(
      deploy(deployOptions({ apiParameters: { ThrottlingRateLimit: '0' } })),
    );
    expect(error.why).toBe(
      "parameter ThrottlingRateLimit: 0 is outside the template's range 1..inf",
    );
  });

  it('lists every value the template refuses, not only the first', async () => {
    captureOutput();
    const error = await failure(
      deploy(deployOptions({ apiParameters: { JwtIssuer: 'http://x', DefaultEndpoint: 'maybe' } })),
    );
    expect(error.why).toBe(
      'parameter JwtIssuer: "http://x" is not an https:// issuer URL, or empty for public routes; parameter DefaultEndpoint: "maybe" is not one of auto, enabled, disabled',
    );
  });
});

describe('deploy, for real, against doubles', () => {
  it('stops before any change when copilot lacks the application, environment or a service', async () => {
    captureOutput();
    const cases: [Parameters<typeof recordingCopilot>[0], string][] = [
      [{}, 'application bookstore not found in Copilot; nothing was changed'],
      [
        { apps: ['bookstore'], envs: ['prod'], services: SERVICES },
        'environment test not found in Copilot; nothing was changed',
      ],
      [
        { apps: ['bookstore'], envs: ['test'], services: ['book-service'] },
        'service author-service not found in Copilot; nothing was changed',
      ],
      [
        { apps: ['bookstore'], envs: ['test'], services: [] },
        'service author-service, service book-service not found in Copilot; nothing was changed',
      ],
    ];
    for (const [known, why] of cases) {
      const { copilot, calls } = recordingCopilot(known);
      const { open, opened } = sessionOf(copilot);
      const error = await failure(deploy(deployOptions({ dryRun: false }), open));
      // Services are among the steps: images will be built, so Docker is checked too.
      expect(opened[0]).toMatchObject({ docker: true });
      expect(error.what).toBe('deploy: not initialised');
      expect(error.why).toBe(why);
      expect(error.next).toMatch(/init(\.ts)? --env test$/);
      expect(calls).toEqual([]);
    }
  });

  it('runs the planned steps in order, numbered as the dry run numbers them', async () => {
    const output = captureOutput();
    const { copilot, calls, options } = recordingCopilot({
      apps: ['bookstore'],
      envs: ['test'],
      services: SERVICES,
    });
    const ran: string[] = [];
    const smoke = {
      step: 'smoke' as const,
      description: 'smoke',
      run: async () => void ran.push('smoke'),
    };
    const steps = new Set(['env', 'smoke'] as const);
    const { open, opened } = sessionOf(copilot, { cfn: new CloudFormationClient({}) });
    const cfnMock = mockClient(CloudFormationClient);
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    expect(await deploy(deployOptions({ dryRun: false, json: true, steps, smoke }), open)).toBe(0);
    cfnMock.restore();
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ docker: false, timeoutMs: 30 * 60_000 });
    expect(calls).toEqual([
      { args: `env package --name test --app bookstore --output-dir ${RENDER_DIR}` },
      { args: 'env deploy --name test --app bookstore' },
    ]);
    expect(options).toEqual([
      {
        stream: true,
        timeoutMs: 30 * 60_000,
        next: 'copilot env deploy --name test --app bookstore',
      },
    ]);
    expect(ran).toEqual(['smoke']);
    expect(output.stderr()).toContain(
      '[deploy] ==> [1/3] [preview] render with copilot env package',
    );
    expect(output.stderr()).toContain('[deploy] ==> [2/3] [env] copilot env deploy --name test');
    expect(output.stderr()).toContain('[deploy] ==> [3/3] [smoke] smoke');
    expect(JSON.parse(output.stdout())).toMatchObject({
      app: 'bookstore',
      env: 'test',
      stacks: { 'bookstore-test': 'deployed' },
      preview: [{ stack: 'bookstore-test', findings: [] }],
    });
  });
});

describe('deploy, when Lambda refuses a runtime anyway', () => {
  // aws/copilot-cli#4940: CloudFormation's event on the function carries Lambda's refusal.
  const refusal = (fn: string) => ({
    EventId: fn,
    LogicalResourceId: fn,
    ResourceType: 'AWS::Lambda::Function',
    ResourceStatus: 'CREATE_FAILED' as const,
    Timestamp: new Date(),
    ResourceStatusReason:
      'Resource handler returned message: "The runtime parameter of nodejs20.x is no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime (nodejs24.x) while creating or updating functions."',
  });

  it('names the environment function and prints its patch when env deploy fails on it', async () => {
    const output = captureOutput();
    const { copilot } = recordingCopilot({
      ...KNOWN,
      onRun: (args) => {
        if (args[1] === 'deploy') throw new CliError('copilot env deploy failed', 'stack failed');
      },
    });
    let polls = 0;
    const cfnMock = mockClient(CloudFormationClient);
    cfnMock.on(DescribeStackEventsCommand).callsFake(async () => ({
      StackEvents: polls++ === 0 ? [] : [refusal('DNSDelegationFunction')],
    }));
    const steps = new Set(['env'] as const);
    const { open } = sessionOf(copilot, { cfn: new CloudFormationClient({}) });
    const error = await failure(deploy(deployOptions({ dryRun: false, steps }), open));
    cfnMock.restore();
    expect(error.what).toBe(
      "deploy: stack bookstore-test failed: Lambda refused a function's runtime",
    );
    expect(error.why).toMatch(
      /^DNSDelegationFunction runs nodejs20\.x, which Lambda no longer accepts/,
    );
    expect(error.next).toBe(
      'copilot/environments/overrides/cfn.patches.yml: set nodejs24.x (npm run check:runtimes), then npx zx scripts/deploy.ts --env test --only env',
    );
    expect(output.stderr()).toContain('path: /Resources/DNSDelegationFunction/Properties/Runtime');
  });

  it('lets any other env deploy failure through as it is', async () => {
    captureOutput();
    const { copilot } = recordingCopilot({
      ...KNOWN,
      onRun: (args) => {
        if (args[1] === 'deploy') throw new CliError('copilot env deploy failed', 'no permission');
      },
    });
    const cfnMock = mockClient(CloudFormationClient);
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    const { open } = sessionOf(copilot, { cfn: new CloudFormationClient({}) });
    const error = await failure(
      deploy(deployOptions({ dryRun: false, steps: new Set(['env'] as const) }), open),
    );
    cfnMock.restore();
    expect([error.what, error.why]).toEqual(['copilot env deploy failed', 'no permission']);
  });
});

describe('deploy of the environment or the services alone', () => {
  it('checks first that copilot knows the application', async () => {
    captureOutput();
    for (const only of ['env', 'services'] as const) {
      const { copilot, calls } = recordingCopilot({});
      const steps = new Set([only]);
      const error = await failure(
        deploy(deployOptions({ dryRun: false, steps }), sessionOf(copilot).open),
      );
      expect(error.why, only).toBe(
        'application bookstore not found in Copilot; nothing was changed',
      );
      expect(calls).toEqual([]);
    }
  });
});

describe('deploy of the later steps only', () => {
  it('needs nothing from copilot, and prints no JSON unless asked', async () => {
    const output = captureOutput();
    const { copilot, calls } = recordingCopilot({});
    const smoke = { step: 'smoke' as const, description: 'smoke', run: async () => {} };
    const steps = new Set(['smoke'] as const);
    const run = deploy(deployOptions({ dryRun: false, steps, smoke }), sessionOf(copilot).open);
    expect(await run).toBe(0);
    expect(calls).toEqual([]);
    expect(output.stdout()).toBe('');
  });
});

describe.skipIf(skipMoto)(needing(MOTO, 'destroy'), () => {
  let moto: Moto;
  let cfn: CloudFormationClient;
  beforeAll(async () => {
    moto = await startMoto();
    cfn = motoClient(moto, CloudFormationClient);
  }, 30_000);
  afterAll(async () => {
    await moto?.stop();
  });

  function teardownOptions(overrides: Partial<TeardownOptions> = {}): TeardownOptions {
    return {
      cmd: 'destroy',
      app: 'bookstore',
      env: 'test',
      services: SERVICES,
      region: undefined,
      profile: undefined,
      timeoutMinutes: 1,
      keepApp: false,
      yes: true,
      json: false,
      ...overrides,
    };
  }

  const liveStacks = async () =>
    ((await cfn.send(new ListStacksCommand({}))).StackSummaries ?? [])
      .filter((s) => s.StackStatus !== 'DELETE_COMPLETE')
      .map((s) => s.StackName)
      .sort();

  it('without --yes prints what it would delete, in order, and refuses', async () => {
    const output = captureOutput();
    const { open, opened } = sessionOf(recordingCopilot({}).copilot);
    const error = await failure(teardown(teardownOptions({ yes: false }), open.session));
    expect(error.what).toBe('destroy: refusing to delete without --yes');
    expect(error.why).toBe('nothing was deleted');
    expect(error.next).toMatch(/destroy(\.ts)? --env test --yes$/);
    expect(error.exitCode).toBe(2);
    expect(opened).toEqual([]);
    expect(output.stdout()).toBe(
      [
        'would delete, in this order:',
        '  1. CloudFormation stack bookstore-test-http-api',
        '  2. CloudFormation stack bookstore-test-bastion (if present)',
        '  3. copilot svc delete --name book-service --env test --app bookstore --yes',
        '  4. copilot svc delete --name author-service --env test --app bookstore --yes',
        '  5. copilot env delete --name test --app bookstore --yes',
        '  6. copilot app delete --name bookstore --yes',
        '',
      ].join('\n'),
    );
    const keep = captureOutput();
    await failure(teardown(teardownOptions({ yes: false, keepApp: true }), open.session));
    expect(keep.stdout().trimEnd().split('\n').at(-1)).toBe(
      '  5. copilot env delete --name test --app bookstore --yes',
    );
  });

  it('deletes the addon stacks, then the services in reverse order, the environment, the app', async () => {
    await outputsStack(moto, 'bookstore-test-http-api', { PublicEndpoint: 'https://x' });
    await outputsStack(moto, 'bookstore-test-keep', { Other: 'y' });
    const output = captureOutput();
    const { copilot, calls, options } = recordingCopilot({
      apps: ['bookstore'],
      envs: ['test'],
      services: SERVICES,
    });
    const workspaceFile = path.join(repoRoot, 'copilot', '.workspace');
    const before = readFileSync(workspaceFile, 'utf8');
    const { open, opened } = sessionOf(copilot, { cfn });
    expect(await teardown(teardownOptions(), open.session)).toBe(0);
    expect(opened).toEqual([expect.objectContaining({ timeoutMs: 60_000, docker: false })]);
    expect(options.map((o) => [o.stream, o.timeoutMs, o.next])).toEqual([
      [true, 60_000, 'copilot svc delete --name book-service --env test --app bookstore'],
      [true, 60_000, 'copilot svc delete --name author-service --env test --app bookstore'],
      [true, 60_000, 'copilot env delete --name test --app bookstore'],
      [
        true,
        60_000,
        'copilot app delete --name bookstore   (from a directory outside this repository)',
      ],
    ]);
    const progress = output.stderr().split('\n');
    expect(progress.filter((l) => l.startsWith('[destroy] ==> '))).toEqual([
      '[destroy] ==> stack bookstore-test-http-api',
      '[destroy] ==> stack bookstore-test-bastion',
      '[destroy] ==> service book-service in test',
      '[destroy] ==> service author-service in test',
      '[destroy] ==> environment test',
      '[destroy] ==> application bookstore',
    ]);
    expect(progress).toContain('[destroy]  ok bookstore-test-bastion: not present');
    expect(output.stderr()).not.toContain('WARN');
    expect(progress).not.toContain('[destroy]  ok bookstore-test-http-api: not present');
    expect(await liveStacks()).toEqual(['bookstore-test-keep']);
    expect(calls.map((c) => c.args)).toEqual([
      'svc delete --name book-service --env test --app bookstore --yes',
      'svc delete --name author-service --env test --app bookstore --yes',
      'env delete --name test --app bookstore --yes',
      'app delete --name bookstore --yes',
    ]);
    // app delete runs outside the repository, which keeps its workspace file.
    const appDelete = calls.at(-1)?.cwd ?? '';
    expect(path.relative(repoRoot, appDelete).startsWith('..')).toBe(true);
    expect(path.basename(appDelete)).toMatch(/^copilot-app-delete-/);
    expect(existsSync(appDelete)).toBe(false);
    expect(readFileSync(workspaceFile, 'utf8')).toBe(before);
    expect(output.stdout()).toBe(
      'destroyed: bookstore-test-http-api, service book-service, service author-service, environment test, application bookstore\n',
    );
  });

  it('deletes only what exists: unregistered services, a missing environment, --keep-app', async () => {
    captureOutput();
    const partial = recordingCopilot({
      apps: ['bookstore'],
      envs: ['test'],
      services: ['book-service'],
    });
    await teardown(
      teardownOptions({ keepApp: true }),
      sessionOf(partial.copilot, { cfn }).open.session,
    );
    expect(partial.calls.map((c) => c.args)).toEqual([
      'svc delete --name book-service --env test --app bookstore --yes',
      'env delete --name test --app bookstore --yes',
    ]);
    const noEnv = recordingCopilot({ apps: ['bookstore'], envs: ['prod'], services: SERVICES });
    await teardown(teardownOptions(), sessionOf(noEnv.copilot, { cfn }).open.session);
    expect(noEnv.calls.map((c) => c.args)).toEqual(['app delete --name bookstore --yes']);
    const output = captureOutput();
    const none = recordingCopilot({});
    await teardown(teardownOptions({ json: true }), sessionOf(none.copilot, { cfn }).open.session);
    expect(none.calls).toEqual([]);
    expect(JSON.parse(output.stdout())).toEqual({
      app: 'bookstore',
      env: 'test',
      deleted: [
        { what: 'bookstore-test-http-api', result: 'absent' },
        { what: 'bookstore-test-bastion', result: 'absent' },
      ],
    });
  });

  it('puts copilot/.workspace back should app delete remove it anyway, and says so', async () => {
    const output = captureOutput();
    const workspaceFile = path.join(repoRoot, 'copilot', '.workspace');
    const before = readFileSync(workspaceFile, 'utf8');
    const { copilot } = recordingCopilot({
      apps: ['bookstore'],
      onRun: (args) => {
        if (args[0] === 'app') rmSync(workspaceFile);
      },
    });
    try {
      await teardown(teardownOptions(), sessionOf(copilot, { cfn }).open.session);
      expect(existsSync(workspaceFile)).toBe(true);
      expect(output.stderr()).toContain(
        '[destroy] WARN copilot deleted copilot/.workspace: restored it\n',
      );
    } finally {
      if (!existsSync(workspaceFile)) writeFileSync(workspaceFile, before);
    }
    expect(readFileSync(workspaceFile, 'utf8')).toBe(before);
    expect(output.stderr()).toContain('[destroy]  ok environment test does not exist\n');
  });

  it("stops with the stack's failure reason when a deletion fails, before any copilot command", async () => {
    captureOutput();
    const failing = mockClient(CloudFormationClient);
    const stack = {
      StackName: 'bookstore-test-http-api',
      StackId: 'id-1',
      CreationTime: new Date(),
    };
    failing
      .on(DescribeStacksCommand)
      .resolvesOnce({ Stacks: [{ ...stack, StackStatus: 'CREATE_COMPLETE' }] })
      .resolves({
        Stacks: [{ ...stack, StackStatus: 'DELETE_FAILED', StackStatusReason: 'export in use' }],
      });
    failing.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    failing.on(DeleteStackCommand).resolves({});
    try {
      const { copilot, calls } = recordingCopilot({ apps: ['bookstore'], envs: ['test'] });
      const client = new CloudFormationClient({ region: 'us-east-1' });
      const error = await failure(
        teardown(teardownOptions(), sessionOf(copilot, { cfn: client }).open.session),
      );
      expect(error.what).toBe('destroy: deleting bookstore-test-http-api failed (DELETE_FAILED)');
      expect(error.why).toBe('export in use');
      expect(error.next).toBe(
        'aws cloudformation describe-stack-events --stack-name bookstore-test-http-api   (then re-run destroy)',
      );
      expect(calls).toEqual([]);
    } finally {
      failing.restore();
    }
  });

  it('lets any other error through as it is', async () => {
    captureOutput();
    const denied = mockClient(CloudFormationClient);
    denied
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' }));
    try {
      const { copilot } = recordingCopilot({});
      const client = new CloudFormationClient({ region: 'us-east-1' });
      const error = await teardown(
        teardownOptions(),
        sessionOf(copilot, { cfn: client }).open.session,
      ).then(
        () => undefined,
        (e: Error) => e,
      );
      expect([error?.name, error?.message]).toEqual(['AccessDeniedException', 'not allowed']);
    } finally {
      denied.restore();
    }
  });

  it('says so when there was nothing left to delete', async () => {
    const output = captureOutput();
    await teardown(
      teardownOptions(),
      sessionOf(recordingCopilot({}).copilot, { cfn }).open.session,
    );
    expect(output.stdout()).toBe('destroyed: nothing (already gone)\n');
    expect(output.stderr()).toContain(
      '[destroy]  ok application bookstore does not exist: nothing left to delete\n',
    );
  });
});
