// The fake copilot against what aws/copilot-cli v1.33.2 does (each case names the file), run as
// the scripts run it: the executable first on PATH, stdin closed, moto_server as AWS, from a
// copy of this repository as the workspace.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CloudFormationClient,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { lambdaRuntimes } from '../../scripts/cloud/lambda-runtimes.ts';
import { stackOutputs } from '../../scripts/cloud/stack-deployer.ts';
import {
  BACKEND_SERVICE_FUNCTIONS,
  ENVIRONMENT_FUNCTIONS,
} from '../../scripts/workspace/copilot-lambdas.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { parseTemplate } from '../../scripts/workspace/template.ts';
import { MOTO, missing, needing } from '../helpers/tools.ts';
import { fakeRunner, initialise, ok } from './fake-run.ts';
import { type FakeCopilot, type Moto, motoClient, startMoto } from './harness.ts';
import { type RepoCopy, repoCopy } from './repo-copy.ts';

const skipMoto = missing(MOTO);

const ws = loadWorkspace();
const app = ws.application;
const env = ws.environments[0]?.name ?? 'test';
const [first, second] = ws.services.map((s) => s.name) as [string, string];

// environment/cf.yml Outputs for a Copilot-managed VPC with no domain, no imported certificates
// and no CDN: output key -> export name after `${AWS::StackName}-` (none: not exported).
const BASE: Record<string, string | null> = {
  VpcId: 'VpcId',
  PublicSubnets: 'PublicSubnets',
  PrivateSubnets: 'PrivateSubnets',
  InternetGatewayID: 'InternetGatewayID',
  PublicRouteTableID: 'PublicRouteTableID',
  ServiceDiscoveryNamespaceID: 'ServiceDiscoveryNamespaceID',
  EnvironmentSecurityGroup: 'EnvironmentSecurityGroup',
  ClusterId: 'ClusterId',
  EnvironmentManagerRoleARN: 'EnvironmentManagerRoleARN',
  CFNExecutionRoleARN: 'CFNExecutionRoleARN',
  EnabledFeatures: null,
  LastForceDeployID: null,
};
// Condition CreateInternalALB (InternalALBWorkloads not empty) and CreateNATGateways
// (NATWorkloads not empty: the services are placed in private subnets).
const WITH_ALB: Record<string, string | null> = {
  ...BASE,
  PrivateRouteTableIDs: 'PrivateRouteTableIDs',
  InternalLoadBalancerDNSName: 'InternalLoadBalancerDNS',
  InternalLoadBalancerFullName: 'InternalLoadBalancerFullName',
  InternalLoadBalancerHostedZone: 'InternalLoadBalancerCanonicalHostedZoneID',
  InternalWorkloadsHostedZone: 'InternalWorkloadsHostedZoneID',
  InternalWorkloadsHostedZoneName: 'InternalWorkloadsHostedZoneName',
  InternalHTTPListenerArn: 'InternalHTTPListenerArn',
  InternalLoadBalancerSecurityGroup: 'InternalLoadBalancerSecurityGroup',
};

let moto: Moto;
let copy: RepoCopy;
let cfn: CloudFormationClient;
const fakes: FakeCopilot[] = [];

beforeAll(async () => {
  if (skipMoto) return;
  moto = await startMoto();
  copy = repoCopy();
  cfn = motoClient(moto, CloudFormationClient);
});
afterAll(async () => {
  await moto?.stop();
  copy?.cleanup();
  for (const f of fakes) f.cleanup();
});

function newFake() {
  const f = fakeRunner(moto, copy.root);
  fakes.push(f.fake);
  return f;
}

async function initialised() {
  const f = newFake();
  await initialise(f.run);
  return f;
}

async function envStack(): Promise<{ outputs: string[]; exports: Record<string, string | null> }> {
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: `${app}-${env}` })))
    .Stacks?.[0];
  const body =
    (await cfn.send(new GetTemplateCommand({ StackName: `${app}-${env}` }))).TemplateBody ?? '{}';
  const declared = (
    JSON.parse(body) as { Outputs: Record<string, { Export?: { Name: { 'Fn::Sub': string } } }> }
  ).Outputs;
  const exports = Object.fromEntries(
    Object.entries(declared).map(([k, o]) => [
      k,
      o.Export ? o.Export.Name['Fn::Sub'].replace(`\${AWS::StackName}-`, '') : null,
    ]),
  );
  return { outputs: (stack?.Outputs ?? []).map((o) => o.OutputKey ?? '').sort(), exports };
}

describe.skipIf(skipMoto)(needing(MOTO, 'the fake copilot'), { timeout: 120_000 }, () => {
  it('keeps the environment stack to cf.yml: ALB outputs only while a Backend Service with http is deployed', async () => {
    const f = await initialised();
    const expectStack = async (want: Record<string, string | null>) => {
      const got = await envStack();
      expect(got.outputs).toEqual(Object.keys(want).sort());
      expect(got.exports).toEqual(want);
    };
    await expectStack(BASE);
    expect((await f.run(['svc', 'deploy', '--name', first, '--env', env, '--app', app])).code).toBe(
      0,
    );
    await expectStack(WITH_ALB);
    expect(
      (await f.run(['svc', 'deploy', '--name', second, '--env', env, '--app', app])).code,
    ).toBe(0);
    // env_delete.go validateNoRunningServices: refused while service stacks remain.
    const refused = await f.run(['env', 'delete', '--name', env, '--app', app, '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/✘ service ".*" still exist within the environment/);
    // env.go transformEnvControllerParameters: a redeploy of the environment keeps the ALB.
    await ok(f.run(['env', 'deploy', '--name', env, '--app', app]));
    await expectStack(WITH_ALB);
    expect(
      (await f.run(['svc', 'delete', '--name', first, '--env', env, '--app', app, '--yes'])).code,
    ).toBe(0);
    await expectStack(WITH_ALB);
    expect(
      (await f.run(['svc', 'delete', '--name', second, '--env', env, '--app', app, '--yes'])).code,
    ).toBe(0);
    await expectStack(BASE);
    await ok(f.run(['app', 'delete', '--name', app, '--yes'], {}, os.tmpdir()));
  });

  it('answers like v1.33.2: null listings, app init by argument, re-init, no-change deploys exit 0', async () => {
    const f = newFake();
    // app_init.go: `init [name]`, no --name flag (pflag: unknown flag).
    expect(await f.run(['app', 'init', '--name', app])).toMatchObject({
      code: 1,
      stderr: '✘ unknown flag: --name\n',
    });
    await ok(f.run(['app', 'init', app]));
    // env_list.go, list.go: Go marshals an empty slice as null.
    expect((await f.run(['env', 'ls', '--app', app, '--json'])).stdout).toBe(
      '{"environments":null}\n',
    );
    expect((await f.run(['svc', 'ls', '--app', app, '--json'])).stdout).toBe('{"services":null}\n');
    const init = ['env', 'init', '--name', env, '--app', app, '--default-config'];
    await ok(f.run(init));
    // env_init.go validateDuplicateEnv: an existing environment whose manifest is in the
    // workspace is not an error.
    await ok(f.run(init));
    await ok(f.run(['env', 'deploy', '--name', env, '--app', app]));
    await ok(f.run(['svc', 'init', '--name', first, '--app', app]));
    const deploy = ['svc', 'deploy', '--name', first, '--env', env, '--app', app, '--detach'];
    await ok(f.run(deploy));
    // svc_deploy.go + errors.go errNoInfrastructureChanges: ExitCode() 0.
    const again = await f.run(deploy);
    expect(again).toMatchObject({ code: 0, stderr: expect.stringMatching(/has no changes/) });
    await ok(f.run(['svc', 'delete', '--name', first, '--app', app, '--yes']));
    await ok(f.run(['app', 'delete', '--name', app, '--yes'], {}, os.tmpdir()));
  });

  it('env init asks for credentials unless --profile or temporary credentials are given (env_init.go askEnvSession)', async () => {
    const f = newFake();
    await ok(f.run(['app', 'init', app]));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aws-config-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const config = path.join(dir, 'config');
    writeFileSync(config, '[profile moto]\nregion = us-east-1\n');
    const init = ['env', 'init', '--name', env, '--app', app, '--default-config'];
    // A readable config file: the profile prompt, whatever AWS_PROFILE says (aws/copilot-cli#4049).
    const prompted = await f.run(init, { AWS_CONFIG_FILE: config, AWS_PROFILE: 'moto' });
    expect(prompted.code).toBe(1);
    expect(prompted.stderr).toMatch(/✘ select creds: select credential source: prompt/);
    const both = await f.run([...init, '--profile', 'moto', '--aws-access-key-id', 'AKIA'], {
      AWS_CONFIG_FILE: config,
    });
    expect(both.stderr).toMatch(/cannot specify both --profile and --aws-access-key-id/);
    const temp = ['--aws-access-key-id', 'AKIA', '--aws-secret-access-key', 'secret'];
    await ok(f.run([...init, ...temp], { AWS_CONFIG_FILE: config }));
    await ok(f.run([...init, '--profile', 'moto'], { AWS_CONFIG_FILE: config }));
    // No config file to read: the default credentials (profile.go NewConfig fails, so
    // askEnvSession falls back on sessProvider.Default()).
    await ok(f.run(init, { AWS_CONFIG_FILE: path.join(dir, 'none') }));
  });

  it("app delete deletes copilot/.workspace only when run inside that application's workspace (app_delete.go deleteWs)", async () => {
    const local = repoCopy();
    try {
      const f = newFake();
      const setUp = async () => await ok(f.run(['app', 'init', app], {}, local.root));
      await setUp();
      expect((await f.run(['app', 'delete', '--name', app, '--yes'], {}, os.tmpdir())).code).toBe(
        0,
      );
      expect(local.status()).toBe('');
      await setUp();
      expect(
        (
          await f.run(
            ['app', 'delete', '--name', app, '--yes'],
            {},
            path.join(local.root, 'scripts'),
          )
        ).code,
      ).toBe(0);
      expect(local.status()).toBe(' D copilot/.workspace\n');
    } finally {
      local.cleanup();
    }
  });

  it('packages as Copilot does: its file names, the YAML patches and taskdef_overrides applied, nothing changed', async () => {
    const f = newFake();
    await initialise(f.run);
    const out = path.join(copy.root, 'out');
    const svcArgs = ['svc', 'package', '--name', first, '--env', env, '--app', app];
    await ok(f.run([...svcArgs, '--output-dir', 'out']));
    await ok(f.run(['env', 'package', '--name', env, '--app', app, '--output-dir', 'out']));
    expect(readdirSync(out).sort()).toEqual(
      [
        `${env}.env.params.json`,
        `${env}.env.yml`,
        `${first}-${env}.params.json`,
        `${first}-${env}.stack.yml`,
      ].sort(),
    );
    const stack = parseTemplate(readFileSync(path.join(out, `${first}-${env}.stack.yml`), 'utf8'));
    // patch.go addYAMLPatchDescription; every function the patches name moved to nodejs24.x.
    expect(stack.Description).toBe(
      'CloudFormation template that represents a backend service on Amazon ECS using AWS Copilot with YAML patches.',
    );
    expect(lambdaRuntimes(stack)).toEqual(
      ['EnvControllerFunction', 'RulePriorityFunction', 'DynamicDesiredCountFunction'].map(
        (fn) => ({ fn, runtime: 'nodejs24.x' }),
      ),
    );
    const definitions = stack.Resources.TaskDefinition?.Properties?.ContainerDefinitions;
    const container = (definitions as Record<string, unknown>[] | undefined)?.[0];
    expect(container).toMatchObject({
      StopTimeout: 40,
      LinuxParameters: { InitProcessEnabled: true },
      ReadonlyRootFilesystem: true,
      User: 'node',
    });
    const params = JSON.parse(readFileSync(path.join(out, `${first}-${env}.params.json`), 'utf8'));
    expect(params.Tags).toEqual({
      'copilot-application': app,
      'copilot-environment': env,
      'copilot-service': first,
    });
    expect(params.Parameters).toMatchObject({
      AppName: app,
      EnvName: env,
      WorkloadName: first,
      TaskCount: '2',
    });
    // Without --output-dir the template goes to stdout; package deploys nothing.
    const printed = await ok(f.run(svcArgs));
    expect(parseTemplate(printed.stdout)).toEqual(stack);
    await expect(
      cfn.send(new DescribeStacksCommand({ StackName: `${app}-${env}-${first}` })),
    ).rejects.toThrow(/does not exist/);
    await ok(f.run(['app', 'delete', '--name', app, '--yes'], {}, os.tmpdir()));
  });

  it('renders, for a manifest, exactly the functions the catalog says Copilot renders (two readings of the same source)', async () => {
    const f = newFake();
    await initialise(f.run);
    const out = path.join(copy.root, 'catalog');
    for (const s of ws.services) {
      await ok(
        f.run([
          'svc',
          'package',
          '--name',
          s.name,
          '--env',
          env,
          '--app',
          app,
          '--output-dir',
          'catalog',
        ]),
      );
      const rendered = lambdaRuntimes(
        parseTemplate(readFileSync(path.join(out, `${s.name}-${env}.stack.yml`), 'utf8')),
      );
      const predicted = BACKEND_SERVICE_FUNCTIONS.filter((fn) => fn.rendered?.(s.manifest)).map(
        (fn) => fn.logicalId,
      );
      expect(rendered.map((r) => r.fn)).toEqual(predicted);
    }
    await ok(f.run(['env', 'package', '--name', env, '--app', app, '--output-dir', 'catalog']));
    const envFns = lambdaRuntimes(
      parseTemplate(readFileSync(path.join(out, `${env}.env.yml`), 'utf8')),
    );
    const envManifest = ws.environments[0]?.manifest;
    expect(envFns.map((r) => r.fn)).toEqual(
      ENVIRONMENT_FUNCTIONS.filter((fn) => envManifest && fn.rendered?.(envManifest)).map(
        (fn) => fn.logicalId,
      ),
    );
    await ok(f.run(['app', 'delete', '--name', app, '--yes'], {}, os.tmpdir()));
  });
});

describe.skipIf(skipMoto)(
  needing(MOTO, 'the fake copilot, against manifests of its own'),
  { timeout: 120_000 },
  () => {
    let local: RepoCopy;
    beforeAll(() => {
      local = repoCopy();
    });
    afterAll(() => local?.cleanup());
    const manifest = (svc: string) => path.join(local.root, 'copilot', svc, 'manifest.yml');
    const edit = (svc: string, change: (text: string) => string) =>
      writeFileSync(manifest(svc), change(readFileSync(manifest(svc), 'utf8')));

    it('refuses what Copilot refuses: a failing patch (leaving svc package its empty files), a refused taskdef override, an undeployed environment', async () => {
      const { fake, run } = fakeRunner(moto, local.root);
      fakes.push(fake);
      await ok(run(['app', 'init', app]));
      await ok(run(['env', 'init', '--name', env, '--app', app, '--default-config']));
      const pkg = [
        'svc',
        'package',
        '--name',
        first,
        '--env',
        env,
        '--app',
        app,
        '--output-dir',
        'out',
      ];
      // svc_deploy.go validateWorkloadManifestCompatibilityWithEnv.
      expect((await run(pkg)).stderr).toBe(
        `✘ cannot deploy a service to an undeployed environment. Please run "copilot env deploy --name ${env}" to deploy the environment first\n`,
      );
      await ok(run(['env', 'deploy', '--name', env, '--app', app]));
      await ok(run(['svc', 'init', '--name', first, '--app', app]));
      const patches = path.join(local.root, 'copilot', first, 'overrides', 'cfn.patches.yml');
      const kept = readFileSync(patches, 'utf8');
      onTestFinished(() => writeFileSync(patches, kept));
      writeFileSync(
        patches,
        `${kept}- op: replace\n  path: /Resources/Nope/Properties/Runtime\n  value: nodejs24.x\n`,
      );
      const failed = await run(pkg);
      expect([failed.code, failed.stderr]).toEqual([
        1,
        `✘ generate workload ${first} template against environment ${env}: override template: unable to apply the "replace" patch at index 3: key "/Resources": "Nope" not found in map\n`,
      ]);
      // svc_package.go setOutputFileWriters creates both files before anything is rendered.
      expect(readFileSync(path.join(local.root, 'out', `${first}-${env}.stack.yml`), 'utf8')).toBe(
        '',
      );
      const deployed = await run(['svc', 'deploy', '--name', first, '--env', env, '--app', app]);
      expect(deployed.stderr).toMatch(
        /^✘ deploy service \S+ to environment \S+: override template: unable to apply/,
      );
      writeFileSync(patches, kept);
      edit(first, (t) => `${t}  - path: Family\n    value: other\n`);
      const refused = await run(pkg);
      expect(refused.stderr).toBe(
        `✘ validate manifest against environment "${env}": validate "taskdef_overrides[4]": "Family" cannot be overridden with a custom value\n`,
      );
      edit(first, (t) => t.replace('  - path: Family\n    value: other\n', ''));
      await ok(run(['app', 'delete', '--name', app, '--yes'], {}, os.tmpdir()));
    });

    it('deploys what Copilot always renders: the 60 s grace period by default, the task definition overrides, the desired count the service scaled to', async () => {
      const { fake, run } = fakeRunner(moto, local.root);
      fakes.push(fake);
      edit(first, (t) => t.replace(/\n {4}grace_period: \S+/, ''));
      await initialise(run, { deploy: true });
      const stackName = `${app}-${env}-${first}`;
      const deployedTemplate = async () =>
        JSON.parse(
          (await cfn.send(new GetTemplateCommand({ StackName: stackName }))).TemplateBody ?? '{}',
        );
      const template = await deployedTemplate();
      // stack/transformers.go convertGracePeriod: manifest.DefaultHealthCheckGracePeriod.
      expect(template.Resources.Service.Properties.HealthCheckGracePeriodSeconds).toBe(60);
      expect(template.Resources.TaskDefinition.Properties.ContainerDefinitions[0]).toMatchObject({
        StopTimeout: 40,
        LinuxParameters: { InitProcessEnabled: true },
        ReadonlyRootFilesystem: true,
        User: 'node',
      });
      // desired-count-delegation.js: a redeploy keeps the count the service runs at, not the
      // minimum. The service's DesiredCount is DynamicDesiredCountAction's (backend/cf.yml with
      // autoscaling); in moto, the stand-in parameter the fake computes as the handler would (moto
      // itself keeps a service's count on a stack update, so the count alone would prove nothing).
      expect(template.Resources.Service.Properties.DesiredCount).toEqual({
        Ref: 'DynamicDesiredCount',
      });
      const desired = async () =>
        (
          await cfn.send(new DescribeStacksCommand({ StackName: stackName }))
        ).Stacks?.[0]?.Parameters?.find((p) => p.ParameterKey === 'DynamicDesiredCount')
          ?.ParameterValue;
      expect(await desired()).toBe('2');
      const ecs = motoClient(moto, ECSClient);
      const cluster = (await stackOutputs(cfn, `${app}-${env}`))?.ClusterId;
      const resources = await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }));
      const service = resources.StackResources?.find(
        (r) => r.ResourceType === 'AWS::ECS::Service',
      )?.PhysicalResourceId;
      await ecs.send(new UpdateServiceCommand({ cluster, service, desiredCount: 3 }));
      edit(first, (t) => t.replace('LOG_LEVEL: info', 'LOG_LEVEL: warn'));
      await ok(run(['svc', 'deploy', '--name', first, '--env', env, '--app', app]));
      const after = await ecs.send(
        new DescribeServicesCommand({ cluster, services: [service ?? ''] }),
      );
      expect(after.services?.[0]?.desiredCount).toBe(3);
      expect(await desired()).toBe('3');
      ecs.destroy();
      await ok(run(['app', 'delete', '--name', app, '--yes'], {}, os.tmpdir()));
    });

    it('asks env init for a region its session lacks: temporary credentials read AWS_REGION only', async () => {
      const { fake, run } = fakeRunner(moto, local.root);
      fakes.push(fake);
      await ok(run(['app', 'init', app]));
      const init = ['env', 'init', '--name', env, '--app', app, '--default-config'];
      const temp = ['--aws-access-key-id', 'AKIA', '--aws-secret-access-key', 'secret'];
      const regionless = { AWS_REGION: '', AWS_DEFAULT_REGION: 'us-east-1' };
      expect((await run([...init, ...temp], regionless)).stderr).toMatch(
        /✘ get environment region: prompt/,
      );
      // A default session (no config file) reads AWS_DEFAULT_REGION too.
      await ok(run(init, regionless));
      await ok(run([...init, ...temp, '--region', 'us-east-1'], regionless));
      await ok(run(['app', 'delete', '--name', app, '--yes'], {}, os.tmpdir()));
    });
  },
);
