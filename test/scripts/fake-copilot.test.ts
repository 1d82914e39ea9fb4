// The fake copilot against what aws/copilot-cli v1.33.2 does (each case names the file), run as
// the scripts run it: the executable first on PATH, stdin closed, moto_server as AWS, from a
// copy of this repository as the workspace.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { fakeRunner, initialise, ok } from './fake-run.ts';
import { type FakeCopilot, type Moto, motoClient, startMoto } from './harness.ts';
import { type RepoCopy, repoCopy } from './repo-copy.ts';

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

describe('the fake copilot', { timeout: 120_000 }, () => {
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
});
