// What diagnose tells a user, whole: each verdict of the security-group, VPC link and
// environment checks with what was seen and the next thing to run (the brief: "what happened:
// why", and the next command). diagnose-verdicts.test.ts walks the verdicts' edges; this file
// pins the words and the commands a user copies, so a hint that loses its command shows.

import type { GetVpcLinkCommandOutput } from '@aws-sdk/client-apigatewayv2';
import { DescribeSecurityGroupsCommand, EC2Client, type IpPermission } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { environmentCheck, vpcLinkCheck } from '../../scripts/checks/diagnose-checks.ts';
import {
  albIngressCheck,
  linkEgressCheck,
  securityGroupChecks,
} from '../../scripts/checks/diagnose-network.ts';
import { invocation } from '../../scripts/cli/command.ts';
import { INTERNAL_ALB_OUTPUTS } from '../../scripts/cloud/aws.ts';

const ALB_SG = 'sg-alb';
const REDEPLOY_API = `${invocation('deploy')} --only api`;
const tcp80 = (over: IpPermission): IpPermission => ({
  IpProtocol: 'tcp',
  FromPort: 80,
  ToPort: 80,
  ...over,
});
/** A GetVpcLink answer, as the SDK returns it. */
const link = (over: Partial<GetVpcLinkCommandOutput>): GetVpcLinkCommandOutput => ({
  $metadata: {},
  VpcLinkId: 'l1',
  ...over,
});
const fromGroup = (id: string) => tcp80({ UserIdGroupPairs: [{ GroupId: id }] });

describe("the ALB's ingress from the VPC link", () => {
  const name = 'ALB security group admits the VPC link';

  it('is OK when every link group is admitted on port 80', () => {
    expect(
      albIngressCheck(ALB_SG, [fromGroup('sg-1'), fromGroup('sg-2')], ['sg-1', 'sg-2']),
    ).toEqual({ name, verdict: 'OK', detail: 'sg-alb allows port 80 from sg-1, sg-2' });
  });

  it('FAILs naming the groups not admitted, with the command that adds the rule', () => {
    expect(albIngressCheck(ALB_SG, [fromGroup('sg-1'), {}], ['sg-1', 'sg-2', 'sg-3'])).toEqual({
      name,
      verdict: 'FAIL',
      detail: 'sg-alb has no port-80 ingress from sg-2, sg-3',
      hint: `requests time out at the ALB (API Gateway answers 503/504); redeploy the addon, which adds the AlbIngressFromVpcLink rule: ${REDEPLOY_API}`,
    });
  });

  it("WARNs when the link's groups are unknown", () => {
    expect(albIngressCheck(ALB_SG, [], [])).toEqual({
      name,
      verdict: 'WARN',
      detail: "the VPC link's security groups are unknown (see the VPC link check)",
    });
  });
});

describe("the VPC link's egress to the ALB", () => {
  const name = 'VPC link security group reaches the ALB';

  it("is OK to the ALB's group, or to anywhere", () => {
    expect(
      linkEgressCheck(ALB_SG, [
        { GroupId: 'sg-1', IpPermissionsEgress: [fromGroup(ALB_SG)] },
        { GroupId: 'sg-2' },
      ]),
    ).toEqual({ name, verdict: 'OK', detail: 'sg-1, sg-2 allows port 80 out to sg-alb' });
    expect(
      linkEgressCheck(ALB_SG, [
        { GroupId: 'sg-1', IpPermissionsEgress: [tcp80({ IpRanges: [{ CidrIp: '0.0.0.0/0' }] })] },
      ]),
    ).toEqual({ name, verdict: 'OK', detail: 'sg-1 allows port 80 out to 0.0.0.0/0' });
  });

  it('WARNs on egress to some addresses only, naming them', () => {
    const egress = [
      tcp80({ IpRanges: [{ CidrIp: '10.0.0.0/24' }, { CidrIp: '10.0.1.0/24' }] }),
      tcp80({ UserIdGroupPairs: [{ GroupId: 'sg-other' }] }),
    ];
    expect(linkEgressCheck(ALB_SG, [{ GroupId: 'sg-1', IpPermissionsEgress: egress }])).toEqual({
      name,
      verdict: 'WARN',
      detail:
        "sg-1 allows port 80 out only to 10.0.0.0/24, 10.0.1.0/24: not checked against the ALB's addresses",
      hint: `the addon's rule is egress to the ALB's group sg-alb; redeploy it: ${REDEPLOY_API}`,
    });
  });

  it('FAILs with no egress to it, the groups named, (none) when there are none', () => {
    const hint = `connections from the VPC link never leave it (API Gateway answers 503 after its timeout); redeploy the addon, whose VpcLinkSecurityGroup allows exactly that: ${REDEPLOY_API}`;
    expect(
      linkEgressCheck(ALB_SG, [
        {
          GroupId: 'sg-1',
          IpPermissionsEgress: [
            tcp80({ FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }),
          ],
        },
      ]),
    ).toEqual({ name, verdict: 'FAIL', detail: 'sg-1 has no port-80 egress to sg-alb', hint });
    expect(linkEgressCheck(ALB_SG, [])).toEqual({
      name,
      verdict: 'FAIL',
      detail: '(none) has no port-80 egress to sg-alb',
      hint,
    });
  });
});

describe('both security-group checks, from one call', () => {
  const ec2 = mockClient(EC2Client);
  afterEach(() => ec2.reset());
  afterAll(() => ec2.restore());

  it('asks once for the ALB group and the link groups, each once', async () => {
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        { GroupId: ALB_SG, IpPermissions: [fromGroup('sg-1')] },
        { GroupId: 'sg-1', IpPermissionsEgress: [fromGroup(ALB_SG)] },
      ],
    });
    const checks = await securityGroupChecks(ec2 as never, ALB_SG, ['sg-1', 'sg-1']);
    expect(checks.map((c) => [c.name, c.verdict])).toEqual([
      ['ALB security group admits the VPC link', 'OK'],
      ['VPC link security group reaches the ALB', 'OK'],
    ]);
    expect(ec2.commandCalls(DescribeSecurityGroupsCommand).map((c) => c.args[0].input)).toEqual([
      { GroupIds: [ALB_SG, 'sg-1'] },
    ]);
  });

  it('judges a group EC2 does not return as one with no rules', async () => {
    ec2.on(DescribeSecurityGroupsCommand).resolves({});
    const checks = await securityGroupChecks(ec2 as never, ALB_SG, ['sg-1']);
    expect(checks.map((c) => [c.verdict, c.detail])).toEqual([
      ['FAIL', 'sg-alb has no port-80 ingress from sg-1'],
      ['FAIL', 'sg-1 has no port-80 egress to sg-alb'],
    ]);
  });

  it('checks only the ingress when the link groups are unknown', async () => {
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: ALB_SG }] });
    const checks = await securityGroupChecks(ec2 as never, ALB_SG, []);
    expect(checks.map((c) => c.verdict)).toEqual(['WARN']);
  });
});

describe('the VPC link and the environment', () => {
  it("say the link's state, and what to do when it is not AVAILABLE", () => {
    expect(vpcLinkCheck(link({ VpcLinkStatus: 'AVAILABLE' }))).toEqual({
      name: 'VPC link status',
      verdict: 'OK',
      detail: 'l1 is AVAILABLE',
    });
    for (const VpcLinkStatus of ['PENDING', 'DELETING'] as const) {
      expect(vpcLinkCheck(link({ VpcLinkStatus }))).toEqual({
        name: 'VPC link status',
        verdict: 'WARN',
        detail: `l1 is ${VpcLinkStatus}`,
        hint: 'wait a few minutes; a link that was INACTIVE is being re-provisioned',
      });
    }
    expect(vpcLinkCheck(link({ VpcLinkStatus: 'INACTIVE', VpcLinkStatusMessage: 'idle' }))).toEqual(
      {
        name: 'VPC link status',
        verdict: 'FAIL',
        detail: 'l1 is INACTIVE (idle): unused for 60 days, its network interfaces were removed',
        hint: `send a request through the API: API Gateway re-provisions the link (PENDING, then AVAILABLE within minutes). If it stays INACTIVE, recreate the HTTP API stack: aws cloudformation delete-stack --stack-name <app>-<env>-http-api, then ${REDEPLOY_API}`,
      },
    );
    expect(vpcLinkCheck(link({ VpcLinkStatus: 'FAILED' }))).toMatchObject({
      name: 'VPC link status',
      verdict: 'FAIL',
      detail: 'l1 is FAILED',
    });
  });

  it('names the stack and the ALB outputs it lacks, with the deploy that creates them', () => {
    const all = Object.fromEntries(INTERNAL_ALB_OUTPUTS.map((k) => [k, 'x']));
    expect(environmentCheck('app-test', all)).toEqual({
      name: 'environment exports',
      verdict: 'OK',
      detail: 'stack app-test has the internal ALB outputs',
    });
    const [first, ...rest] = INTERNAL_ALB_OUTPUTS;
    expect(environmentCheck('app-test', { ...all, [first as string]: '' })).toEqual({
      name: 'environment exports',
      verdict: 'FAIL',
      detail: `stack app-test lacks ${first}`,
      hint: `the internal ALB exists only after a Backend Service with http is deployed: ${invocation('deploy')} --only env,services`,
    });
    expect(environmentCheck('app-test', {}).detail).toBe(
      `stack app-test lacks ${[first, ...rest].join(', ')}`,
    );
  });
});
