// diagnose's checks at their edges, against mocked AWS: an HTTP API stack missing or lacking
// outputs (nothing is asked or judged about what it would name), a VPC link without security
// groups; the access-log search's hints and the messages it counts (JSON or not); the Host and
// target-health checks' details and hints, in a stable order.
import {
  ApiGatewayV2Client,
  GetIntegrationsCommand,
  GetVpcLinkCommand,
} from '@aws-sdk/client-apigatewayv2';
import {
  CloudFormationClient,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { diagnose } from '../../scripts/checks/diagnose-checks.ts';
import { accessLogCheck } from '../../scripts/checks/diagnose-logs.ts';
import {
  hostCheck,
  targetHealthCheck,
  targetHealthVerdict,
} from '../../scripts/checks/diagnose-routing.ts';
import type { DiagnosticCheck } from '../../scripts/checks/diagnose-verdict.ts';
import { invocation } from '../../scripts/cli/command.ts';
import { createClients } from '../../scripts/cloud/aws.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';

const cfn = mockClient(CloudFormationClient);
const apigw = mockClient(ApiGatewayV2Client);
const ec2 = mockClient(EC2Client);
const elb = mockClient(ElasticLoadBalancingV2Client);
const logs = mockClient(CloudWatchLogsClient);
const mocks = [cfn, apigw, ec2, elb, logs];
// The mocks replace the clients' send for the whole worker (vitest isolate: false): put it back.
afterAll(() => {
  for (const m of mocks) m.restore();
});
afterEach(() => {
  for (const m of mocks) m.reset();
});

const ws = loadWorkspace();
const [svc] = ws.services as [(typeof ws.services)[number]];
const ENV = 'bookstore-test';
const API = 'bookstore-test-http-api';
const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:1:listener/app/internal/abc/def';

const stack = (StackName: string, outputs: Record<string, string>) => ({
  Stacks: [
    {
      StackName,
      StackStatus: 'CREATE_COMPLETE' as const,
      CreationTime: new Date(),
      Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({
        OutputKey,
        OutputValue,
      })),
    },
  ],
});

/** A deployed environment with its ALB; the HTTP API stack with `apiOutputs`, or none. */
function deployment(apiOutputs: Record<string, string> | undefined) {
  const missing = (name: string) =>
    Object.assign(new Error(`Stack with id ${name} does not exist`), { name: 'ValidationError' });
  cfn.on(DescribeStacksCommand).callsFake(async ({ StackName }: { StackName: string }) => {
    if (StackName === ENV) {
      return stack(ENV, {
        InternalHTTPListenerArn: LISTENER,
        InternalLoadBalancerSecurityGroup: 'sg-alb',
        InternalLoadBalancerDNSName: 'internal-x.elb.amazonaws.com',
      });
    }
    if (StackName === API && apiOutputs) return stack(API, apiOutputs);
    throw missing(StackName);
  });
  cfn.on(DescribeStackResourcesCommand).resolves({ StackResources: [] });
  ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-alb' }] });
  elb.on(DescribeRulesCommand).resolves({ Rules: [] });
  logs.on(FilterLogEventsCommand).resolves({ events: [] });
}

const run = () =>
  diagnose(createClients({ region: 'us-east-1' }), {
    app: 'bookstore',
    env: 'test',
    services: ws.services,
    logMinutes: 60,
    now: () => 1_800_000_000_000,
  });

const named = (checks: DiagnosticCheck[], name: string) => checks.filter((c) => c.name === name);

describe('diagnose without a whole HTTP API stack', () => {
  it('says the stack is not found, and judges no link, integration or Host it would name', async () => {
    deployment(undefined);
    const checks = await run();
    expect(named(checks, 'HTTP API stack')).toEqual([
      {
        name: 'HTTP API stack',
        verdict: 'FAIL',
        detail: `stack ${API} not found`,
        hint: `${invocation('deploy')} --env test --only api`,
      },
    ]);
    // The link's groups are unknown, not some group missing from the ALB's rules.
    expect(named(checks, 'ALB security group admits the VPC link')).toMatchObject([
      { verdict: 'WARN' },
    ]);
    expect(checks.filter((c) => c.name.startsWith('Host reaches'))).toEqual([]);
  });

  it('asks for no integration without an ApiId output', async () => {
    deployment({ VpcLinkId: 'vl-1' });
    apigw.on(GetVpcLinkCommand).resolves({ VpcLinkId: 'vl-1', VpcLinkStatus: 'AVAILABLE' });
    const checks = await run();
    expect(named(checks, 'HTTP API stack')[0]?.detail).toBe(
      `stack ${API} lacks ApiId/VpcLinkId outputs`,
    );
    expect(checks.filter((c) => c.name.startsWith('integration'))).toEqual([]);
    expect(apigw.commandCalls(GetIntegrationsCommand)).toEqual([]);
  });

  it('takes a VPC link without security groups as groups unknown', async () => {
    deployment({ ApiId: 'api1', VpcLinkId: 'vl-1' });
    apigw.on(GetVpcLinkCommand).resolves({ VpcLinkId: 'vl-1', VpcLinkStatus: 'AVAILABLE' });
    apigw.on(GetIntegrationsCommand).resolves({ Items: [] });
    const checks = await run();
    expect(named(checks, 'ALB security group admits the VPC link')).toEqual([
      {
        name: 'ALB security group admits the VPC link',
        verdict: 'WARN',
        detail: "the VPC link's security groups are unknown (see the VPC link check)",
      },
    ]);
  });
});

describe("diagnose's access-log search", () => {
  const window = { startTime: 1_000, minutes: 60 };
  const search = () => accessLogCheck(new CloudWatchLogsClient({}), '/aws/apigateway/x', window);

  it('counts each message, JSON or not, and points at the checks above', async () => {
    logs.on(FilterLogEventsCommand).resolves({
      events: [
        { message: '{"integrationErrorMessage":"timeout"}' },
        { message: 'not json' },
        { message: '{"integrationErrorMessage":"timeout"}' },
        { message: '{"status":"503"}' },
      ],
    });
    expect(await search()).toEqual({
      name: 'recent integration errors',
      verdict: 'WARN',
      detail: '2x timeout; 1x not json; 1x ?',
      hint: 'errors API Gateway met talking to the ALB: see the checks above (VPC link, security groups, Host, targets)',
    });
  });

  it('is OK on a page without events', async () => {
    logs.on(FilterLogEventsCommand).resolves({});
    expect((await search()).verdict).toBe('OK');
  });

  it('says to search a shorter window when it stopped before the end', async () => {
    logs.on(FilterLogEventsCommand).resolves({ events: [], nextToken: 'more' });
    expect((await search()).hint).toBe(
      `search a shorter window: ${invocation('diagnose')} --since 10`,
    );
  });
});

describe("diagnose's Host and target checks", () => {
  const rule = {
    Conditions: [
      { Field: 'path-pattern', PathPatternConfig: { Values: [`${svc.pathPrefix}/*`] } },
      { Field: 'host-header', HostHeaderConfig: { Values: ['internal-*.elb.amazonaws.com'] } },
    ],
    Actions: [{ Type: 'forward' as const, TargetGroupArn: 'tg-1' }],
  };

  it('say which rule accepts the Host, or what to deploy without one', () => {
    const host = 'internal-x.elb.amazonaws.com';
    expect(hostCheck(svc, rule, host).detail).toBe(
      `the ${svc.pathPrefix} rule accepts Host ${host}`,
    );
    expect(hostCheck(svc, undefined, host).hint).toBe(
      `deploy the service: ${invocation('deploy')} --only services --service ${svc.name}`,
    );
  });

  it('count the targets, naming the other states once each, in a stable order', () => {
    const healthy = Array.from({ length: svc.minCount }, () => 'healthy');
    expect(targetHealthVerdict(svc, healthy, 'test').detail).toBe(
      `${svc.minCount}/${svc.minCount} targets healthy (manifest minimum ${svc.minCount})`,
    );
    const mixed = ['unhealthy', 'healthy', 'draining', 'unhealthy'];
    expect(targetHealthVerdict(svc, mixed, 'test').detail).toBe(
      `1/4 targets healthy (manifest minimum ${svc.minCount}); others draining, unhealthy`,
    );
  });

  it('find no target in a group whose health lists none', async () => {
    elb.on(DescribeTargetHealthCommand).resolves({});
    const found = await targetHealthCheck(new ElasticLoadBalancingV2Client({}), svc, rule, 'test');
    expect(found.detail).toBe(`0/0 targets healthy (manifest minimum ${svc.minCount})`);
  });
});
