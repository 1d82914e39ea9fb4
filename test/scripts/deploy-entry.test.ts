// What `npx zx scripts/deploy.ts` makes of its command line, in this process: the deployment it
// names (--app, --env, --region, --profile, --timeout, with the workspace's defaults), the
// services it deploys (--service, in manifest order), the steps (--only, --bastion), the HTTP
// API template and its --parameter values, --settle, --dry-run and --plan-only, --json, the
// smoke step and the secrets the deployed services name, all handed to the plan
// (scripts/cloud/deploy-plan.ts's deploy, a stand-in here: deploy-steps-rules.test.ts and
// plan.test.ts run it); its usage errors (exit code 2) and the exit code the plan returns. The
// script runs its command line when loaded, so each test loads it afresh with its own argv;
// the workspace is the repository's or a test's copy of it. Nothing calls copilot or AWS.
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { deploy as Deploy, DeployOptions } from '../../scripts/cloud/deploy-plan.ts';
import type { workspaceOrExit as WorkspaceOrExit } from '../../scripts/cloud/flags.ts';
import { loadWorkspace, repoRoot, type Workspace } from '../../scripts/workspace/manifests.ts';
import { captureOutput } from '../helpers/output.ts';

const stand = vi.hoisted(() => ({
  deploy: vi.fn<typeof Deploy>(),
  workspaceOrExit: vi.fn<typeof WorkspaceOrExit>(),
}));
/**
 * The stand-ins, registered again for each load: a mocked module is kept across
 * vi.resetModules, and the real exports it spreads (the plan's steps, the deployment's checks)
 * must throw the CliError of the script's own, fresh, scripts/cli/command.ts.
 */
function standIns(): void {
  vi.doMock('../../scripts/cloud/deploy-plan.ts', async (importOriginal) => ({
    ...(await importOriginal<object>()),
    deploy: stand.deploy,
  }));
  vi.doMock('../../scripts/cloud/flags.ts', async (importOriginal) => ({
    ...(await importOriginal<object>()),
    workspaceOrExit: stand.workspaceOrExit,
  }));
}

// Test files share their worker's modules (isolate: false): each run loads the script afresh
// (vi.resetModules) with the stand-ins; the next file gets the real modules back.
afterAll(() => {
  vi.doUnmock('../../scripts/cloud/deploy-plan.ts');
  vi.doUnmock('../../scripts/cloud/flags.ts');
  vi.resetModules();
});

afterEach(() => {
  stand.deploy.mockReset();
  stand.workspaceOrExit.mockReset();
  vi.restoreAllMocks();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** What the plan was given; undefined when the command line was refused first. */
  planned: DeployOptions | undefined;
}

/**
 * `npx zx scripts/deploy.ts ...args`, in this process, on `workspace` (the repository's unless
 * given); the plan returns `code` (0 unless given).
 */
async function deployCmd(
  args: string[],
  o: { workspace?: Workspace; code?: number } = {},
): Promise<Run> {
  const { argv, exitCode } = process;
  stand.workspaceOrExit.mockReturnValue(o.workspace ?? loadWorkspace());
  // A test's own plan (one that fails, say) is kept.
  if (o.code !== undefined || stand.deploy.getMockImplementation() === undefined) {
    stand.deploy.mockResolvedValue(o.code ?? 0);
  }
  const captured = captureOutput();
  process.argv = [argv[0] ?? 'node', '/usr/bin/zx', 'scripts/deploy.ts', ...args];
  try {
    vi.resetModules();
    standIns();
    await import('../../scripts/deploy.ts');
    return {
      code: Number(process.exitCode ?? 0),
      stdout: captured.stdout(),
      stderr: captured.stderr(),
      planned: stand.deploy.mock.calls.at(-1)?.[0],
    };
  } finally {
    process.argv = argv;
    process.exitCode = exitCode;
    stand.deploy.mockClear();
  }
}

/** A refused command line: exit 2, the plan never called, stderr returned. */
async function refused(args: string[], o: { workspace?: Workspace } = {}): Promise<string> {
  const run = await deployCmd(args, o);
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.planned).toBeUndefined();
  return run.stderr;
}

const SERVICES = ['author-service', 'book-service'];

/** The repository's workspace with each service naming an SSM parameter for its `secrets:`. */
function withSecrets(): Workspace {
  const workspace = structuredClone(loadWorkspace());
  for (const service of workspace.services) {
    service.manifest.secrets = {
      DB_PASSWORD: `/copilot/\${COPILOT_APPLICATION_NAME}/\${COPILOT_ENVIRONMENT_NAME}/secrets/${service.name}`,
    };
  }
  return workspace;
}

describe('a deploy with no flags', () => {
  it('plans every step but the bastion, for every service, on the workspace defaults', async () => {
    const run = await deployCmd([]);
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(stand.workspaceOrExit).toHaveBeenCalledWith('deploy');
    const { smoke, ...planned } = run.planned ?? ({} as DeployOptions);
    expect(planned).toEqual({
      cmd: 'deploy',
      app: 'bookstore',
      env: 'test',
      services: SERVICES,
      region: undefined,
      profile: undefined,
      timeoutMinutes: 30,
      templateFile: path.join(repoRoot, 'addons', 'http-api.yml'),
      apiParameters: {},
      settleMs: 60_000,
      steps: new Set(['env', 'services', 'api', 'smoke']),
      dryRun: false,
      planOnly: false,
      json: false,
      secrets: [],
    });
    expect(smoke).toMatchObject({
      step: 'smoke',
      description: 'smoke test of the PublicEndpoint output of bookstore-test-http-api',
    });
  });

  it('leaves with the exit code the plan returns', async () => {
    expect((await deployCmd([], { code: 3 })).code).toBe(3);
  });

  it('reports a failing plan in its own words, with exit code 1', async () => {
    stand.deploy.mockRejectedValue(new Error('stack bookstore-test is UPDATE_ROLLBACK_FAILED'));
    const run = await deployCmd([]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'deploy failed: stack bookstore-test is UPDATE_ROLLBACK_FAILED\nnext: npx zx scripts/deploy.ts --help\n',
    );
  });
});

describe('--help', () => {
  it("prints the summary, the examples and every flag with the workspace's defaults", async () => {
    const run = await deployCmd(['--help']);
    expect(run.planned).toBeUndefined();
    expect(run.stdout).toBe(
      [
        'usage: npx zx scripts/deploy.ts [flags]',
        '',
        'Deploy the environment, the services (one after the other), the HTTP API stack, then smoke-test.',
        '',
        'Prints the API URL on stdout. Safe to re-run: unchanged stacks are left alone.',
        'Prerequisites: run scripts/init.ts once (app, environment, service registration).',
        'Before any change, Copilot renders each stack the run deploys (copilot env/svc package, into',
        '.cache/rendered/<app>-<env>/): a Lambda runtime Lambda refuses, or YAML patches that did not',
        'apply, stop the run there.',
        '',
        'examples:',
        '  npx zx scripts/deploy.ts --dry-run',
        '  npx zx scripts/deploy.ts --env test --profile my-profile',
        '  npx zx scripts/deploy.ts --only api           # just the HTTP API stack after editing the addon',
        '  npx zx scripts/deploy.ts --parameter JwtIssuer=https://issuer.example.com --parameter JwtAudience=my-api',
        '',
        'flags:',
        '  --app <name>              Copilot application (default: bookstore)',
        '  --env <name>              Copilot environment (default: test)',
        '  --region <region>         AWS region (default: AWS_REGION, then the profile)',
        '  --profile <name>          AWS named profile (default: AWS_PROFILE, then the default chain)',
        '  --only <steps>            Run only these steps, comma-separated: env, services, api, bastion, smoke (default: all but bastion)',
        '  --service <names>         Deploy only these services, comma-separated (default: every manifest)',
        '  --bastion                 Also deploy the SSM bastion stack (addons/bastion.yml)',
        '  --addon-template <file>   HTTP API template (default: addons/http-api.yml)',
        '  --parameter <Name=Value>  Set a parameter of the HTTP API template, e.g. --parameter CorsAllowOrigins=https://app.example.com (repeatable)',
        '  --smoke-url <url>         Smoke-test this URL instead of the stack output PublicEndpoint',
        '  --timeout <minutes>       Bound on each wait (stack, ECS service) (default: 30)',
        '  --settle <seconds>        A service stack with no new event after this long had nothing to change (default: 60)',
        '  --dry-run                 Print the ordered plan, then run its preview alone (copilot env/svc package, read-only); nothing is deployed',
        '  --plan-only               With --dry-run: print the plan and stop, calling neither copilot nor AWS (what CI plans with, before it has credentials)',
        '  --json                    Print the result (API URL, stacks) as JSON on stdout',
        '  -h, --help                Show this help and exit',
        '',
      ].join('\n'),
    );
  });
});

describe('the deployment', () => {
  it('is the one --app, --env, --region, --profile and --timeout name', async () => {
    const run = await deployCmd([
      '--app',
      'shop',
      '--env',
      'test',
      '--region',
      'eu-west-1',
      '--profile',
      'ci',
      '--timeout',
      '5',
    ]);
    expect(run.planned).toMatchObject({
      cmd: 'deploy',
      app: 'shop',
      env: 'test',
      region: 'eu-west-1',
      profile: 'ci',
      timeoutMinutes: 5,
    });
    expect(run.planned?.smoke?.description).toBe(
      'smoke test of the PublicEndpoint output of shop-test-http-api',
    );
  });

  it('refuses an environment the workspace has no manifest for', async () => {
    expect(await refused(['--env', 'prod'])).toBe(
      'deploy: unknown environment "prod": copilot/environments/ has test; a new environment needs copilot/environments/prod/manifest.yml first (README: Another environment)\nnext: npx zx scripts/deploy.ts --env test\n',
    );
  });
});

describe('--service', () => {
  it('deploys the services named, in manifest order whatever the order given', async () => {
    expect((await deployCmd(['--service', 'book-service'])).planned?.services).toEqual([
      'book-service',
    ]);
    expect(
      (await deployCmd(['--service', ' book-service, author-service,'])).planned?.services,
    ).toEqual(SERVICES);
    expect((await deployCmd(['--service', ','])).planned?.services).toEqual(SERVICES);
  });

  it('refuses a service with no manifest, naming the ones there are', async () => {
    expect(await refused(['--service', 'book-service,books,authors'])).toBe(
      'deploy: invalid --service: no manifest for books, authors; services are author-service, book-service\nnext: npx zx scripts/deploy.ts --help\n',
    );
  });

  it('checks the secrets of the services it deploys only, named for this deployment', async () => {
    const secret = (service: string) => ({
      service,
      variable: 'DB_PASSWORD',
      store: 'ssm',
      id: `/copilot/bookstore/test/secrets/${service}`,
      named: `/copilot/bookstore/test/secrets/${service}`,
    });
    const all = await deployCmd([], { workspace: withSecrets() });
    expect(all.planned?.secrets).toEqual([secret('author-service'), secret('book-service')]);
    const one = await deployCmd(['--service', 'book-service'], { workspace: withSecrets() });
    expect(one.planned?.secrets).toEqual([secret('book-service')]);
  });
});

describe('the steps', () => {
  it('are those --only names, the bastion too with --bastion', async () => {
    expect((await deployCmd(['--only', 'api,smoke'])).planned?.steps).toEqual(
      new Set(['api', 'smoke']),
    );
    expect((await deployCmd(['--bastion'])).planned?.steps).toEqual(
      new Set(['env', 'services', 'api', 'bastion', 'smoke']),
    );
  });

  it('refuses a step that does not exist', async () => {
    expect(await refused(['--only', 'api,dns'])).toBe(
      'deploy: invalid --only: unknown step(s) dns; steps are env, services, api, bastion, smoke\nnext: npx zx scripts/deploy.ts --help\n',
    );
  });
});

describe('the HTTP API template', () => {
  it('is --addon-template, read from the repository root wherever the command runs', async () => {
    expect((await deployCmd(['--addon-template', 'addons/other.yml'])).planned?.templateFile).toBe(
      path.join(repoRoot, 'addons', 'other.yml'),
    );
    expect((await deployCmd(['--addon-template', '/t/api.yml'])).planned?.templateFile).toBe(
      '/t/api.yml',
    );
  });

  it('gets each --parameter Name=Value, the value kept whole', async () => {
    const run = await deployCmd([
      '--parameter',
      'JwtIssuer=https://issuer.example.com',
      '--parameter',
      'CorsAllowOrigins=https://a.example.com,https://b.example.com?x=1',
    ]);
    expect(run.planned?.apiParameters).toEqual({
      JwtIssuer: 'https://issuer.example.com',
      CorsAllowOrigins: 'https://a.example.com,https://b.example.com?x=1',
    });
  });

  it('refuses a --parameter that is not Name=Value', async () => {
    expect(await refused(['--parameter', 'JwtIssuer'])).toBe(
      'deploy: invalid --parameter: --parameter "JwtIssuer" must look like Name=Value\nnext: npx zx scripts/deploy.ts --help\n',
    );
  });
});

describe('the other flags', () => {
  it('passes --settle in milliseconds, and --dry-run, --plan-only and --json as given', async () => {
    const run = await deployCmd(['--settle', '2.5', '--dry-run', '--plan-only', '--json']);
    expect(run.planned).toMatchObject({
      settleMs: 2500,
      dryRun: true,
      planOnly: true,
      json: true,
    });
    expect((await deployCmd(['--dry-run'])).planned).toMatchObject({
      dryRun: true,
      planOnly: false,
    });
  });

  it('refuses --plan-only without --dry-run: a deploy always previews first', async () => {
    expect(await refused(['--plan-only'])).toBe(
      'deploy: invalid --plan-only: --plan-only only goes with --dry-run (a deploy always previews first)\nnext: npx zx scripts/deploy.ts --dry-run --plan-only\n',
    );
  });

  it('smoke-tests --smoke-url instead of the stack output', async () => {
    const run = await deployCmd(['--smoke-url', 'https://api.example.com']);
    expect(run.planned?.smoke?.description).toBe('smoke test of https://api.example.com');
  });
});
