// diagnose's checks against mocked AWS answers: a healthy deployment, and one with each of the
// usual faults (INACTIVE link, load-balancer ARN as URI, no Host overwrite, a Host no rule
// accepts, closed security groups, no healthy target, integration errors in the access logs,
// found on any page of the search). diagnose-moto.slow.test.ts runs the same against moto.
import {
  ApiGatewayV2Client,
  GetIntegrationsCommand,
  GetVpcLinkCommand,
  type Integration,
} from '@aws-sdk/client-apigatewayv2';
import {
  CloudFormationClient,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diagnose } from '../../scripts/checks/diagnose-checks.ts';
import { MAX_LOG_PAGES } from '../../scripts/checks/diagnose-logs.ts';
import { invocation } from '../../scripts/cli/command.ts';
import { createClients } from '../../scripts/cloud/aws.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';

const ws = loadWorkspace();
const app = ws.application;
const env = ws.environments[0]?.name ?? 'test';
const LISTENER =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/internal/abc/def';
const LB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/internal/abc';
const DNS = 'internal-bookstore-test-123.us-east-1.elb.amazonaws.com';

const cfn = mockClient(CloudFormationClient);
const apigw = mockClient(ApiGatewayV2Client);
const ec2 = mockClient(EC2Client);
const elb = mockClient(ElasticLoadBalancingV2Client);
const logs = mockClient(CloudWatchLogsClient);
// The mocks replace the clients' send for the whole worker (vitest isolate: false): put it back.
afterAll(() => {
  for (const m of [cfn, apigw, ec2, elb, logs]) m.restore();
});

const albGroup = (from = ['sg-env', 'sg-link']) => ({
  GroupId: 'sg-alb',
  IpPermissions: [
    {
      IpProtocol: 'tcp',
      FromPort: 80,
      ToPort: 80,
      UserIdGroupPairs: from.map((GroupId) => ({ GroupId })),
    },
  ],
});
const linkGroup = (to = ['sg-alb']) => ({
  GroupId: 'sg-link',
  IpPermissionsEgress: [
    {
      IpProtocol: 'tcp',
      FromPort: 80,
      ToPort: 80,
      UserIdGroupPairs: to.map((GroupId) => ({ GroupId })),
    },
  ],
});

const integration = (over: Partial<Integration> = {}): Integration => ({
  IntegrationId: 'int1',
  IntegrationType: 'HTTP_PROXY',
  ConnectionType: 'VPC_LINK',
  ConnectionId: 'vl-1',
  IntegrationUri: LISTENER,
  RequestParameters: { 'overwrite:header.host': DNS },
  ...over,
});

function healthy() {
  cfn.on(DescribeStacksCommand, { StackName: `${app}-${env}` }).resolves({
    Stacks: [
      {
        StackName: `${app}-${env}`,
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'InternalHTTPListenerArn', OutputValue: LISTENER },
          { OutputKey: 'InternalLoadBalancerSecurityGroup', OutputValue: 'sg-alb' },
          { OutputKey: 'InternalLoadBalancerDNSName', OutputValue: DNS },
        ],
      },
    ],
  });
  cfn.on(DescribeStacksCommand, { StackName: `${app}-${env}-http-api` }).resolves({
    Stacks: [
      {
        StackName: `${app}-${env}-http-api`,
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'ApiId', OutputValue: 'api123' },
          { OutputKey: 'VpcLinkId', OutputValue: 'vl-1' },
        ],
      },
    ],
  });
  apigw
    .on(GetVpcLinkCommand)
    .resolves({ VpcLinkId: 'vl-1', VpcLinkStatus: 'AVAILABLE', SecurityGroupIds: ['sg-link'] });
  apigw.on(GetIntegrationsCommand).resolves({ Items: [integration()] });
  ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [albGroup(), linkGroup()] });
  elb.on(DescribeRulesCommand).resolves({
    Rules: ws.services.map((s, i) => ({
      RuleArn: `rule-${i}`,
      Conditions: [
        {
          Field: 'path-pattern',
          PathPatternConfig: { Values: [s.pathPrefix, `${s.pathPrefix}/*`] },
        },
        { Field: 'host-header', Values: [DNS] },
      ],
      Actions: [{ Type: 'forward', TargetGroupArn: `tg-${s.name}` }],
    })),
  });
  elb.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: [
      { TargetHealth: { State: 'healthy' } },
      { TargetHealth: { State: 'healthy' } },
    ],
  });
  logs.on(FilterLogEventsCommand).resolves({ events: [] });
  // The Copilot stacks' custom-resource functions, as deployed with the YAML patches.
  cfn
    .on(DescribeStackResourcesCommand, { StackName: `${app}-${env}` })
    .resolves({ StackResources: [stackResource('VPC', 'AWS::EC2::VPC')] });
  for (const s of ws.services) serviceStack(s.name, { EnvControllerFunction: 'nodejs24.x' });
}

const stackResource = (LogicalResourceId: string, ResourceType: string) => ({
  LogicalResourceId,
  ResourceType,
  PhysicalResourceId: `${LogicalResourceId}-1`,
  ResourceStatus: 'CREATE_COMPLETE' as const,
  Timestamp: new Date(),
});

/** A service stack whose functions run these runtimes; `notCreated` are in the template only. */
function serviceStack(svc: string, runtimes: Record<string, string>, notCreated: string[] = []) {
  const StackName = `${app}-${env}-${svc}`;
  cfn.on(DescribeStacksCommand, { StackName }).resolves({
    Stacks: [{ StackName, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() }],
  });
  cfn.on(DescribeStackResourcesCommand, { StackName }).resolves({
    StackResources: Object.keys(runtimes)
      .filter((fn) => !notCreated.includes(fn))
      .map((fn) => stackResource(fn, 'AWS::Lambda::Function')),
  });
  // Copilot sends YAML with short tags; GetTemplate gives it back as sent.
  const functions = Object.entries(runtimes)
    .map(
      ([fn, runtime]) =>
        `  ${fn}:\n    Type: AWS::Lambda::Function\n    Properties:\n      Role: !GetAtt Role.Arn\n      Runtime: ${runtime}\n`,
    )
    .join('');
  cfn.on(GetTemplateCommand, { StackName }).resolves({ TemplateBody: `Resources:\n${functions}` });
}

const run = () =>
  diagnose(createClients({ region: 'us-east-1' }), {
    app,
    env,
    services: ws.services,
    logMinutes: 60,
    now: () => 1_800_000_000_000,
  });
const verdictOf = (checks: Awaited<ReturnType<typeof run>>, name: string) =>
  checks.find((c) => c.name.startsWith(name));

beforeEach(() => {
  for (const m of [cfn, apigw, ec2, elb, logs]) m.reset();
  healthy();
});
afterEach(() => {
  for (const m of [cfn, apigw, ec2, elb, logs]) m.reset();
});

describe('diagnose', () => {
  it('is all OK on a healthy deployment', async () => {
    const checks = await run();
    expect(checks.filter((c) => c.verdict !== 'OK')).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual([
      'environment exports',
      'VPC link status',
      'integration int1 URI',
      'integration int1 Host overwrite',
      'ALB security group admits the VPC link',
      'VPC link security group reaches the ALB',
      ...ws.services.flatMap((s) => [`Host reaches ${s.name}`, `target health: ${s.name}`]),
      'recent integration errors',
      `Lambda runtimes of ${app}-${env}`,
      ...ws.services.map((s) => `Lambda runtimes of ${app}-${env}-${s.name}`),
    ]);
    expect(verdictOf(checks, `Lambda runtimes of ${app}-${env}-`)?.detail).toBe(
      'EnvControllerFunction nodejs24.x',
    );
    const filter = logs.commandCalls(FilterLogEventsCommand)[0]?.args[0].input;
    expect(filter?.logGroupName).toBe(`/aws/apigateway/${app}-${env}-http-api`);
    expect(filter?.startTime).toBe(1_800_000_000_000 - 3_600_000);
  });

  it('finds each of the usual faults, with a hint', async () => {
    apigw
      .on(GetVpcLinkCommand)
      .resolves({ VpcLinkId: 'vl-1', VpcLinkStatus: 'INACTIVE', SecurityGroupIds: ['sg-link'] });
    apigw
      .on(GetIntegrationsCommand)
      .resolves({ Items: [integration({ IntegrationUri: LB, RequestParameters: {} })] });
    ec2
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [albGroup(['sg-env']), linkGroup([])] });
    elb
      .on(DescribeTargetHealthCommand, { TargetGroupArn: `tg-${ws.services[0]?.name}` })
      .resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: 'unhealthy' } }] });
    logs.on(FilterLogEventsCommand).resolves({
      events: [
        {
          message: JSON.stringify({ status: '503', integrationErrorMessage: 'Unable to connect' }),
        },
        {
          message: JSON.stringify({ status: '503', integrationErrorMessage: 'Unable to connect' }),
        },
      ],
    });
    const checks = await run();
    expect(verdictOf(checks, 'VPC link status')).toMatchObject({
      verdict: 'FAIL',
      detail: expect.stringMatching(/INACTIVE.*60 days/),
      hint: expect.stringMatching(/re-provisions/),
    });
    expect(verdictOf(checks, 'integration int1 URI')).toMatchObject({
      verdict: 'FAIL',
      detail: expect.stringMatching(/is not a listener ARN/),
    });
    expect(verdictOf(checks, 'integration int1 Host overwrite')).toMatchObject({
      verdict: 'FAIL',
      hint: expect.stringMatching(/503/),
    });
    expect(verdictOf(checks, 'ALB security group')).toMatchObject({
      verdict: 'FAIL',
      detail: 'sg-alb has no port-80 ingress from sg-link',
    });
    expect(verdictOf(checks, 'VPC link security group')).toMatchObject({
      verdict: 'FAIL',
      detail: 'sg-link has no port-80 egress to sg-alb',
    });
    // No Host is sent at all: nothing to compare with the rules.
    expect(checks.filter((c) => c.name.startsWith('Host reaches'))).toEqual([]);
    expect(verdictOf(checks, `target health: ${ws.services[0]?.name}`)).toMatchObject({
      verdict: 'FAIL',
      detail: expect.stringMatching(/^0\/1 targets healthy/),
    });
    expect(verdictOf(checks, `target health: ${ws.services[1]?.name}`)?.verdict).toBe('OK');
    expect(verdictOf(checks, 'recent integration errors')).toMatchObject({
      verdict: 'WARN',
      detail: '2x Unable to connect',
    });
  });

  it('fails the Host check of every service whose rule does not accept the Host sent', async () => {
    const host = { 'overwrite:header.host': 'api.example.com' };
    apigw
      .on(GetIntegrationsCommand)
      .resolves({ Items: [integration({ RequestParameters: host })] });
    const checks = await run();
    expect(verdictOf(checks, 'integration int1 Host overwrite')?.verdict).toBe('OK');
    for (const svc of ws.services) {
      expect(verdictOf(checks, `Host reaches ${svc.name}`)).toMatchObject({
        verdict: 'FAIL',
        detail: `the ${svc.pathPrefix} rule accepts Host ${DNS}, the integration sends api.example.com`,
        hint: expect.stringMatching(/default action: 503/),
      });
    }
  });

  it('finds integration errors past empty pages, and says when it stopped before the end', async () => {
    const error = { message: JSON.stringify({ integrationErrorMessage: 'Timeout' }) };
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [], nextToken: 't1' })
      .resolvesOnce({ events: [], nextToken: 't2' })
      .resolves({ events: [error] });
    expect(verdictOf(await run(), 'recent integration errors')).toMatchObject({
      verdict: 'WARN',
      detail: '1x Timeout',
    });
    const tokens = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input.nextToken);
    expect(tokens).toEqual([undefined, 't1', 't2']);

    logs.reset();
    logs.on(FilterLogEventsCommand).resolves({ events: [], nextToken: 'more' });
    expect(verdictOf(await run(), 'recent integration errors')).toMatchObject({
      verdict: 'WARN',
      detail: expect.stringMatching(/first 20 pages .* not a full search/),
    });
    expect(logs.commandCalls(FilterLogEventsCommand)).toHaveLength(MAX_LOG_PAGES);
  });

  it('turns an API error into a FAIL of that check instead of aborting', async () => {
    apigw
      .on(GetVpcLinkCommand)
      .rejects(
        Object.assign(new Error('Invalid VPC link identifier'), { name: 'NotFoundException' }),
      );
    const checks = await run();
    expect(verdictOf(checks, 'VPC link status')).toMatchObject({
      verdict: 'FAIL',
      detail: expect.stringMatching(/NotFoundException: Invalid VPC link/),
    });
    expect(verdictOf(checks, 'recent integration errors')?.verdict).toBe('OK');
  });

  it("asks about the stacks' own resources, and names the check whose call failed", async () => {
    await run();
    const inputs = (calls: { args: [{ input: unknown }] }[]) => calls.map((c) => c.args[0].input);
    expect(inputs(apigw.commandCalls(GetVpcLinkCommand))).toEqual([{ VpcLinkId: 'vl-1' }]);
    expect(inputs(apigw.commandCalls(GetIntegrationsCommand))).toEqual([{ ApiId: 'api123' }]);
    expect(inputs(ec2.commandCalls(DescribeSecurityGroupsCommand))).toEqual([
      { GroupIds: ['sg-alb', 'sg-link'] },
    ]);
    expect(inputs(elb.commandCalls(DescribeRulesCommand))).toEqual([{ ListenerArn: LISTENER }]);
    const failing = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    for (const m of [apigw, ec2, elb, logs]) m.reset();
    cfn.on(DescribeStackResourcesCommand).rejects(failing);
    apigw.onAnyCommand().rejects(failing);
    ec2.onAnyCommand().rejects(failing);
    elb.onAnyCommand().rejects(failing);
    logs.onAnyCommand().rejects(failing);
    const failed = (await run()).filter((c) => c.detail.includes('AccessDeniedException'));
    expect(failed.map((c) => c.name)).toEqual([
      'VPC link status',
      'integration',
      'security groups',
      'listener rules',
      'access logs',
      'Lambda runtimes',
    ]);
  });

  it('names the HTTP API stack that lacks its outputs, or is not there', async () => {
    cfn.on(DescribeStacksCommand, { StackName: `${app}-${env}-http-api` }).resolves({
      Stacks: [
        {
          StackName: `${app}-${env}-http-api`,
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [{ OutputKey: 'ApiId', OutputValue: 'api123' }],
        },
      ],
    });
    const checks = await run();
    expect(verdictOf(checks, 'HTTP API stack')).toEqual({
      name: 'HTTP API stack',
      verdict: 'FAIL',
      detail: `stack ${app}-${env}-http-api lacks ApiId/VpcLinkId outputs`,
      hint: `${invocation('deploy')} --env ${env} --only api`,
    });
    // No VPC link id: neither the link nor the integration is asked about.
    expect(apigw.commandCalls(GetVpcLinkCommand)).toEqual([]);
    expect(apigw.commandCalls(GetIntegrationsCommand)).toEqual([]);
  });

  it('says what to deploy when the stacks are missing', async () => {
    cfn.reset();
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id x does not exist'), { name: 'ValidationError' }),
      );
    const checks = await run();
    expect(verdictOf(checks, 'environment exports')?.verdict).toBe('FAIL');
    expect(verdictOf(checks, 'HTTP API stack')).toMatchObject({
      verdict: 'FAIL',
      hint: expect.stringMatching(/deploy\.ts --env .* --only api/),
    });
  });

  it('lists the deployed functions with their runtimes, and warns about one CloudFormation can no longer update', async () => {
    const [svc] = ws.services.map((x) => x.name) as [string];
    // 1_800_000_000_000 ms is 2027-01-15: nodejs20.x's updates are blocked, nodejs22.x is in its
    // last 180 days before its create block; a function never created is not judged.
    serviceStack(
      svc,
      {
        EnvControllerFunction: 'nodejs20.x',
        RulePriorityFunction: 'nodejs22.x',
        DynamicDesiredCountFunction: 'nodejs20.x',
      },
      ['DynamicDesiredCountFunction'],
    );
    const checks = await run();
    const found = verdictOf(checks, `Lambda runtimes of ${app}-${env}-${svc}`);
    expect(found).toEqual({
      name: `Lambda runtimes of ${app}-${env}-${svc}`,
      verdict: 'WARN',
      detail:
        'EnvControllerFunction nodejs20.x, RulePriorityFunction nodejs22.x; EnvControllerFunction nodejs20.x: Lambda refuses to create or update functions on it since 2026-09-30 (create since 2026-08-31); RulePriorityFunction nodejs22.x: function create blocked from 2027-06-01, update from 2027-07-01, within 180 days of 2027-01-15: CloudFormation can no longer update EnvControllerFunction',
      hint: `set nodejs24.x for EnvControllerFunction, RulePriorityFunction in copilot/${svc}/overrides/cfn.patches.yml (npm run check:runtimes), then npx zx scripts/deploy.ts --env ${env} --only services --service ${svc}`,
    });
    expect(verdictOf(checks, `Lambda runtimes of ${app}-${env}`)).toMatchObject({
      verdict: 'OK',
      detail: 'no Lambda function deployed',
    });
  });
});
