// diagnose against moto_server with real-shaped stacks: the environment and service stacks as the
// fake copilot creates them (environment/cf.yml's outputs, Copilot's listener rules with
// host-header AND path-pattern), and the HTTP API path the addon builds (VPC link with its own
// security group, egress to the ALB's group, the ALB's ingress from it, an HTTP_PROXY
// integration on the listener with the Host overwrite). moto cannot create ApiGatewayV2
// resources through CloudFormation, so they are made with direct calls and the stack
// `<app>-<env>-http-api` carries only their outputs. It passes; then each cause is introduced
// and its check must fail.
import {
  ApiGatewayV2Client,
  CreateApiCommand,
  CreateIntegrationCommand,
  CreateVpcLinkCommand,
  UpdateIntegrationCommand,
} from '@aws-sdk/client-apigatewayv2';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  EC2Client,
  type IpPermission,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnose } from '../../scripts/checks/diagnose-checks.ts';
import { stackNames } from '../../scripts/cloud/aws.ts';
import { stackOutputs } from '../../scripts/cloud/stack-deployer.ts';
import { accessLogGroupName } from '../../scripts/workspace/http-api-settings.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { MOTO, missing, needing } from '../helpers/tools.ts';
import { fakeRunner, initialise } from './fake-run.ts';
import { type Moto, motoClient, outputsStack, runScript, startMoto } from './harness.ts';
import { type RepoCopy, repoCopy } from './repo-copy.ts';

const skipMoto = missing(MOTO);

const ws = loadWorkspace();
const app = ws.application;
const env = ws.environments[0]?.name ?? 'test';
const names = stackNames(app, env);
const accessLogGroup = accessLogGroupName(app, env);

let moto: Moto;
let copy: RepoCopy;
let clients: {
  cfn: CloudFormationClient;
  apigw: ApiGatewayV2Client;
  ec2: EC2Client;
  elb: ElasticLoadBalancingV2Client;
  logs: CloudWatchLogsClient;
};
const topology = { apiId: '', integrationId: '', albSg: '', linkSg: '', dns: '' };
const http80 = (pair: string): IpPermission[] => [
  { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: pair }] },
];

/** What addons/http-api.yml creates, by direct calls (see the header). */
async function httpApi(env: Record<string, string>) {
  const { ec2, apigw } = clients;
  const linkSg = (
    await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'vpc-link',
        Description: 'link',
        VpcId: env.VpcId,
      }),
    )
  ).GroupId as string;
  const albSg = env.InternalLoadBalancerSecurityGroup as string;
  // A new group may send anything anywhere; the addon's group sends only HTTP to the ALB.
  const everything = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];
  await ec2.send(
    new RevokeSecurityGroupEgressCommand({ GroupId: linkSg, IpPermissions: everything }),
  );
  await ec2.send(
    new AuthorizeSecurityGroupEgressCommand({ GroupId: linkSg, IpPermissions: http80(albSg) }),
  );
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({ GroupId: albSg, IpPermissions: http80(linkSg) }),
  );
  const link = await apigw.send(
    new CreateVpcLinkCommand({
      Name: 'link',
      SubnetIds: env.PrivateSubnets?.split(','),
      SecurityGroupIds: [linkSg],
    }),
  );
  const api = await apigw.send(new CreateApiCommand({ Name: names.httpApi, ProtocolType: 'HTTP' }));
  const integration = await apigw.send(
    new CreateIntegrationCommand({
      ApiId: api.ApiId,
      IntegrationType: 'HTTP_PROXY',
      ConnectionType: 'VPC_LINK',
      ConnectionId: link.VpcLinkId,
      IntegrationMethod: 'ANY',
      IntegrationUri: env.InternalHTTPListenerArn,
      PayloadFormatVersion: '1.0',
      RequestParameters: { 'overwrite:header.host': env.InternalLoadBalancerDNSName as string },
    }),
  );
  await outputsStack(moto, names.httpApi, {
    ApiId: api.ApiId as string,
    VpcLinkId: link.VpcLinkId as string,
  });
  await clients.logs.send(
    new CreateLogGroupCommand({
      logGroupName: accessLogGroup,
    }),
  );
  Object.assign(topology, {
    apiId: api.ApiId,
    integrationId: integration.IntegrationId,
    albSg,
    linkSg,
    dns: env.InternalLoadBalancerDNSName,
  });
}

/** Two running tasks per service, registered as ECS would (moto's ECS registers none). */
async function registerTargets(listenerArn: string) {
  const rules =
    (await clients.elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules ?? [];
  for (const [i, rule] of rules.filter((r) => !r.IsDefault).entries()) {
    const tg = rule.Actions?.[0]?.TargetGroupArn;
    const targets = [10, 11].map((n) => ({ Id: `10.0.2.${n + i * 2}`, Port: 3000 }));
    await clients.elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: targets }));
  }
}

beforeAll(async () => {
  if (skipMoto) return;
  moto = await startMoto();
  copy = repoCopy();
  clients = {
    cfn: motoClient(moto, CloudFormationClient),
    apigw: motoClient(moto, ApiGatewayV2Client),
    ec2: motoClient(moto, EC2Client),
    elb: motoClient(moto, ElasticLoadBalancingV2Client),
    logs: motoClient(moto, CloudWatchLogsClient),
  };
  const { run, fake } = fakeRunner(moto, copy.root);
  await initialise(run, { deploy: true });
  fake.cleanup();
  const envOut = (await stackOutputs(clients.cfn, names.env)) ?? {};
  await httpApi(envOut);
  await registerTargets(envOut.InternalHTTPListenerArn as string);
}, 120_000);
afterAll(async () => {
  await moto?.stop();
  copy?.cleanup();
});

const run = (over: Partial<typeof clients> = {}) =>
  diagnose({ ...clients, ...over }, { app, env, services: ws.services, logMinutes: 60 });
const failing = async (over: Partial<typeof clients> = {}) =>
  (await run(over)).filter((c) => c.verdict !== 'OK').map((c) => `${c.verdict} ${c.name}`);

describe.skipIf(skipMoto)(
  needing(MOTO, 'diagnose on moto with the real stack shapes'),
  { timeout: 60_000 },
  () => {
    it('passes: diagnose.ts exits 0 with every check OK', async () => {
      const r = await runScript('diagnose', ['--json'], moto.env);
      expect(r.stderr).not.toMatch(/^next:/m);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as { checks: { name: string; verdict: string }[] };
      expect(report.checks.filter((c) => c.verdict !== 'OK')).toEqual([]);
      expect(report.checks.map((c) => c.name)).toContain('VPC link security group reaches the ALB');
      expect(report.checks.filter((c) => c.name.startsWith('Host reaches'))).toHaveLength(
        ws.services.length,
      );
    });

    it('fails the Host check when the overwrite is removed, or names a host no rule accepts', async () => {
      const { apigw } = clients;
      const setHost = (host: string) =>
        apigw.send(
          new UpdateIntegrationCommand({
            ApiId: topology.apiId,
            IntegrationId: topology.integrationId,
            RequestParameters: { 'overwrite:header.host': host },
          }),
        );
      try {
        await setHost('');
        expect(await failing()).toEqual([
          expect.stringMatching(/^FAIL integration .* Host overwrite$/),
        ]);
        await setHost('api.example.com');
        expect(await failing()).toEqual(ws.services.map((s) => `FAIL Host reaches ${s.name}`));
      } finally {
        await setHost(topology.dns);
      }
      expect(await failing()).toEqual([]);
    });

    it("fails when the ALB's ingress from the VPC link is revoked", async () => {
      const rule = { GroupId: topology.albSg, IpPermissions: http80(topology.linkSg) };
      await clients.ec2.send(new RevokeSecurityGroupIngressCommand(rule));
      try {
        expect(await failing()).toEqual(['FAIL ALB security group admits the VPC link']);
      } finally {
        await clients.ec2.send(new AuthorizeSecurityGroupIngressCommand(rule));
      }
    });

    it("fails when the VPC link group's egress to the ALB is removed", async () => {
      const rule = { GroupId: topology.linkSg, IpPermissions: http80(topology.albSg) };
      await clients.ec2.send(new RevokeSecurityGroupEgressCommand(rule));
      try {
        const r = await runScript('diagnose', [], moto.env);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
          /FAIL VPC link security group reaches the ALB: sg-\S+ has no port-80 egress to sg-/,
        );
      } finally {
        await clients.ec2.send(new AuthorizeSecurityGroupEgressCommand(rule));
      }
    });

    it('fails when a target is unhealthy (moto reports every target healthy: health is mocked)', async () => {
      const [svc] = ws.services;
      const elb = motoClient(moto, ElasticLoadBalancingV2Client);
      const mocked = mockClient(elb);
      // Everything else still comes from moto, through a client that is not mocked.
      mocked
        .on(DescribeRulesCommand)
        .callsFake((input) => clients.elb.send(new DescribeRulesCommand(input)));
      mocked.on(DescribeTargetHealthCommand).callsFake(async (input) => {
        const real = await clients.elb.send(new DescribeTargetHealthCommand(input));
        const rules =
          (
            await clients.elb.send(
              new DescribeRulesCommand({
                ListenerArn: (await stackOutputs(clients.cfn, names.env))?.InternalHTTPListenerArn,
              }),
            )
          ).Rules ?? [];
        const mine = rules.find((r) =>
          JSON.stringify(r.Conditions).includes(`"${svc?.pathPrefix}"`),
        );
        if (mine?.Actions?.[0]?.TargetGroupArn !== input.TargetGroupArn) return real;
        return {
          TargetHealthDescriptions: (real.TargetHealthDescriptions ?? []).map((d) => ({
            ...d,
            TargetHealth: { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch' },
          })),
        };
      });
      try {
        expect(await failing({ elb })).toEqual([`FAIL target health: ${svc?.name}`]);
      } finally {
        mocked.restore();
      }
    });
  },
);
