// The stack deployer against moto_server: create, no-op re-run, update, a failing template
// whose reason is reported, deletion; and the addon's own network part on top of the fake
// copilot's environment stack (test/fixtures/copilot/fake/env-stack.ts). (moto cannot create
// AWS::ApiGatewayV2::* resources.)
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgress } from '../../scripts/cli/command.ts';
import { deleteStack, deployStack, StackDeployError } from '../../scripts/cloud/stack-deployer.ts';
import { loadTemplate } from '../../scripts/workspace/template.ts';
import { MOTO, missing, needing } from '../helpers/tools.ts';
import { createEnvStackIn, type Moto, startMoto } from './harness.ts';

const skipMoto = missing(MOTO);

let moto: Moto;
let cfn: CloudFormationClient;
const lines: string[] = [];
const log = createProgress('test', (l) => {
  lines.push(l);
});
const backoff = { initialDelayMs: 50, maxDelayMs: 200 };
const parameterTemplate = (extra = {}) =>
  JSON.stringify({
    Parameters: { Value: { Type: 'String' } },
    Resources: {
      First: {
        Type: 'AWS::SSM::Parameter',
        Properties: { Type: 'String', Value: { Ref: 'Value' } },
      },
      ...extra,
    },
  });

const createEnvStack = (app: string, env: string) => createEnvStackIn(cfn, app, env);

beforeAll(async () => {
  if (skipMoto) return;
  moto = await startMoto();
  const config = {
    endpoint: moto.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  cfn = new CloudFormationClient(config);
});
afterAll(async () => {
  await moto?.stop();
});

describe.skipIf(skipMoto)(needing(MOTO, 'deployStack'), () => {
  it("the addon's network resources import the stand-in environment exports", async () => {
    await createEnvStack('bookstore', 'sb');
    const standIn = await cfn.send(new DescribeStacksCommand({ StackName: 'bookstore-sb' }));
    expect(standIn.Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE');
    // Only the resources moto can create: the VPC link's group and the ALB ingress rule.
    const addon = loadTemplate();
    const network = {
      Parameters: { App: addon.Parameters?.App, Env: addon.Parameters?.Env },
      Resources: {
        VpcLinkSecurityGroup: addon.Resources.VpcLinkSecurityGroup,
        AlbIngressFromVpcLink: addon.Resources.AlbIngressFromVpcLink,
      },
    };
    // moto 5.2 resolves no Fn::ImportValue inside a change set (its ChangeSet stack gets no
    // exports), so this part goes through CreateStack: it proves the stand-in's exports satisfy
    // the addon's imports and where the ingress rule lands.
    await cfn.send(
      new CreateStackCommand({
        StackName: 'bookstore-sb-http-api',
        TemplateBody: JSON.stringify(network),
        Parameters: [
          { ParameterKey: 'App', ParameterValue: 'bookstore' },
          { ParameterKey: 'Env', ParameterValue: 'sb' },
        ],
      }),
    );
    const addonStack = await cfn.send(
      new DescribeStacksCommand({ StackName: 'bookstore-sb-http-api' }),
    );
    expect(addonStack.Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE');
    const env = await cfn.send(new DescribeStacksCommand({ StackName: 'bookstore-sb' }));
    const albSg = env.Stacks?.[0]?.Outputs?.find(
      (o) => o.OutputKey === 'InternalLoadBalancerSecurityGroup',
    )?.OutputValue;
    const ec2 = new EC2Client({
      endpoint: moto.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const groups = await ec2.send(
      new DescribeSecurityGroupsCommand({ GroupIds: [albSg as string] }),
    );
    const pairs =
      groups.SecurityGroups?.[0]?.IpPermissions?.flatMap((p) => p.UserIdGroupPairs ?? []) ?? [];
    const resources = await cfn.send(
      new DescribeStackResourcesCommand({ StackName: 'bookstore-sb-http-api' }),
    );
    const linkSg = resources.StackResources?.find(
      (r) => r.LogicalResourceId === 'VpcLinkSecurityGroup',
    )?.PhysicalResourceId;
    // Copilot's own rule (from the environment group) and the addon's (from the VPC link's).
    expect(pairs.map((p) => p.GroupId)).toContain(linkSg);
    expect(pairs).toHaveLength(2);
  });
  it('creates, then treats an identical re-run as "no changes", then updates', async () => {
    const first = await deployStack({
      cfn,
      stackName: 'deployer-a',
      templateBody: parameterTemplate(),
      parameters: { Value: 'one' },
      timeoutMs: 20_000,
      log,
      backoff,
    });
    expect(first.action).toBe('create');
    expect(first.status).toBe('CREATE_COMPLETE');
    expect(first.changes).toEqual([
      expect.objectContaining({ action: 'Add', logicalId: 'First', type: 'AWS::SSM::Parameter' }),
    ]);
    expect(lines.join('')).toMatch(/Add +First \(AWS::SSM::Parameter\)/);

    lines.length = 0;
    const again = await deployStack({
      cfn,
      stackName: 'deployer-a',
      templateBody: parameterTemplate(),
      parameters: { Value: 'one' },
      timeoutMs: 20_000,
      log,
      backoff,
    });
    expect(again.action).toBe('none');
    expect(lines.join('')).toMatch(/deployer-a: no changes/);

    lines.length = 0;
    const second = {
      Second: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: 'two' } },
    };
    const updated = await deployStack({
      cfn,
      stackName: 'deployer-a',
      templateBody: parameterTemplate(second),
      parameters: { Value: 'one' },
      timeoutMs: 20_000,
      log,
      backoff,
    });
    expect(updated.action).toBe('update');
    expect(updated.status).toBe('UPDATE_COMPLETE');
    expect(updated.changes.map((c) => `${c.action} ${c.logicalId}`)).toContain('Add Second');
    // Events are streamed while waiting.
    expect(lines.join('')).toMatch(/UPDATE_IN_PROGRESS|UPDATE_COMPLETE/);
  });

  it("reports the failing resource's reason", async () => {
    const failing = JSON.stringify({
      Resources: {
        Ingress: {
          Type: 'AWS::EC2::SecurityGroupIngress',
          Properties: {
            GroupId: 'sg-0doesnotexist',
            IpProtocol: 'tcp',
            FromPort: 80,
            ToPort: 80,
            CidrIp: '10.0.0.0/8',
          },
        },
      },
    });
    const error = await deployStack({
      cfn,
      stackName: 'deployer-bad',
      templateBody: failing,
      timeoutMs: 20_000,
      log,
      backoff,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackDeployError);
    expect((error as StackDeployError).reasons.join(' ')).toMatch(
      /sg-0doesnotexist.*does not exist/,
    );
  });

  it('deletes a stack and reports absent the second time', async () => {
    await deployStack({
      cfn,
      stackName: 'deployer-del',
      templateBody: parameterTemplate(),
      parameters: { Value: 'x' },
      timeoutMs: 20_000,
      log,
      backoff,
    });
    expect(
      await deleteStack({ cfn, stackName: 'deployer-del', timeoutMs: 20_000, log, backoff }),
    ).toBe('deleted');
    expect(
      await deleteStack({ cfn, stackName: 'deployer-del', timeoutMs: 20_000, log, backoff }),
    ).toBe('absent');
  });
});
