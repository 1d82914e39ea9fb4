// The causes of a broken HTTP API -> VPC link -> internal ALB path that users hit most, each as
// a check with a verdict and, when it is not OK, what to do about it. Read-only AWS calls only.
// The checks live by subject: diagnose-routing.ts (integration, Host against the listener
// rules, targets), diagnose-network.ts (security groups), diagnose-logs.ts (access logs),
// diagnose-runtimes.ts (the Lambda runtimes of the deployed Copilot stacks).

import {
  GetIntegrationsCommand,
  GetVpcLinkCommand,
  type GetVpcLinkCommandOutput,
} from '@aws-sdk/client-apigatewayv2';
import { DescribeRulesCommand, type Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { invocation } from '../cli/command.ts';
import type { AwsClients } from '../cloud/aws.ts';
import { ENV_OUTPUT, INTERNAL_ALB_OUTPUTS, stackNames } from '../cloud/aws.ts';
import { isoDay } from '../cloud/lambda-runtimes.ts';
import { stackOutputs } from '../cloud/stack-deployer.ts';
import { accessLogGroupName } from '../workspace/http-api-settings.ts';
import type { Service } from '../workspace/manifests.ts';
import { accessLogCheck } from './diagnose-logs.ts';
import { securityGroupChecks } from './diagnose-network.ts';
import {
  hostCheck,
  integrationChecks,
  integrationHost,
  ruleFor,
  targetHealthCheck,
} from './diagnose-routing.ts';
import { runtimeChecks } from './diagnose-runtimes.ts';
import { check, type DiagnosticCheck, guarded } from './diagnose-verdict.ts';

export { integrationChecks } from './diagnose-routing.ts';
export type { DiagnosticCheck, Verdict } from './diagnose-verdict.ts';

interface DiagnoseContext {
  app: string;
  env: string;
  services: Service[];
  /** How far back to look for integration errors in the access logs. */
  logMinutes: number;
  now?: () => number;
}

type Clients = Pick<AwsClients, 'cfn' | 'apigw' | 'ec2' | 'elb' | 'logs'>;

export function vpcLinkCheck(link: GetVpcLinkCommandOutput): DiagnosticCheck {
  const status = link.VpcLinkStatus ?? 'UNKNOWN';
  const detail = `${link.VpcLinkId} is ${status}${link.VpcLinkStatusMessage ? ` (${link.VpcLinkStatusMessage})` : ''}`;
  switch (status) {
    case 'AVAILABLE':
      return check('VPC link status', 'OK', detail);
    case 'PENDING':
    case 'DELETING':
      return check(
        'VPC link status',
        'WARN',
        detail,
        'wait a few minutes; a link that was INACTIVE is being re-provisioned',
      );
    case 'INACTIVE':
      return check(
        'VPC link status',
        'FAIL',
        `${detail}: unused for 60 days, its network interfaces were removed`,
        `send a request through the API: API Gateway re-provisions the link (PENDING, then AVAILABLE within minutes). If it stays INACTIVE, recreate the HTTP API stack: aws cloudformation delete-stack --stack-name <app>-<env>-http-api, then ${invocation('deploy')} --only api`,
      );
    default:
      return check(
        'VPC link status',
        'FAIL',
        detail,
        'the subnets or security group of the link are wrong: check the env exports PrivateSubnets and the VPC link security group, then redeploy with --only api',
      );
  }
}

/** The VPC link and the integration; what they say feeds the security-group and Host checks. */
async function gatewayChecks(
  clients: Clients,
  ids: {
    apiId: string | undefined;
    vpcLinkId: string | undefined;
    listenerArn: string | undefined;
  },
) {
  const { apiId, vpcLinkId } = ids;
  const results: DiagnosticCheck[] = [];
  let linkGroups: string[] = [];
  let hosts: string[] = [];
  if (!vpcLinkId) return { results, linkGroups, hosts };
  results.push(
    ...(await guarded('VPC link status', async () => {
      const link = await clients.apigw.send(new GetVpcLinkCommand({ VpcLinkId: vpcLinkId }));
      linkGroups = link.SecurityGroupIds ?? [];
      return [vpcLinkCheck(link)];
    })),
  );
  if (apiId) {
    results.push(
      ...(await guarded('integration', async () => {
        const items =
          (await clients.apigw.send(new GetIntegrationsCommand({ ApiId: apiId }))).Items ?? [];
        hosts = items.flatMap((i) => integrationHost(i) ?? []);
        return integrationChecks(items, { vpcLinkId, listenerArn: ids.listenerArn });
      })),
    );
  }
  return { results, linkGroups, hosts };
}

export async function diagnose(clients: Clients, ctx: DiagnoseContext): Promise<DiagnosticCheck[]> {
  const names = stackNames(ctx.app, ctx.env);
  const envOut = (await stackOutputs(clients.cfn, names.env)) ?? {};
  const apiOut = (await stackOutputs(clients.cfn, names.httpApi)) ?? {};
  const alb = {
    listenerArn: envOut[ENV_OUTPUT.listenerArn],
    sg: envOut[ENV_OUTPUT.albSecurityGroup],
  };
  const results = [environmentCheck(names.env, envOut)];
  const { ApiId: apiId, VpcLinkId: vpcLinkId } = apiOut;
  if (!apiId || !vpcLinkId) {
    results.push(
      check(
        'HTTP API stack',
        'FAIL',
        `stack ${names.httpApi} ${Object.keys(apiOut).length ? 'lacks ApiId/VpcLinkId outputs' : 'not found'}`,
        `${invocation('deploy')} --env ${ctx.env} --only api`,
      ),
    );
  }
  const gateway = await gatewayChecks(clients, { apiId, vpcLinkId, listenerArn: alb.listenerArn });
  results.push(...gateway.results);
  const { linkGroups, hosts } = gateway;
  const { sg } = alb;
  if (sg)
    results.push(
      ...(await guarded('security groups', () => securityGroupChecks(clients.ec2, sg, linkGroups))),
    );
  const { listenerArn } = alb;
  if (listenerArn) {
    results.push(
      ...(await guarded('listener rules', async () => {
        const rules =
          (await clients.elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules ??
          [];
        return serviceChecks(clients, ctx, rules, [...new Set(hosts)]);
      })),
    );
  }
  const now = ctx.now?.() ?? Date.now();
  const window = { startTime: now - ctx.logMinutes * 60_000, minutes: ctx.logMinutes };
  results.push(
    ...(await guarded('access logs', async () => [
      await accessLogCheck(clients.logs, accessLogGroupName(ctx.app, ctx.env), window),
    ])),
  );
  results.push(
    ...(await guarded('Lambda runtimes', () =>
      runtimeChecks(clients.cfn, { ...ctx, today: isoDay(now) }),
    )),
  );
  return results;
}

export function environmentCheck(stack: string, envOut: Record<string, string>): DiagnosticCheck {
  const missing = INTERNAL_ALB_OUTPUTS.filter((k) => !envOut[k]);
  return missing.length === 0
    ? check('environment exports', 'OK', `stack ${stack} has the internal ALB outputs`)
    : check(
        'environment exports',
        'FAIL',
        `stack ${stack} lacks ${missing.join(', ')}`,
        `the internal ALB exists only after a Backend Service with http is deployed: ${invocation('deploy')} --only env,services`,
      );
}

/** Per service: the Host each integration sends against its rule, then its targets' health. */
async function serviceChecks(
  clients: Clients,
  ctx: DiagnoseContext,
  rules: Rule[],
  hosts: string[],
): Promise<DiagnosticCheck[]> {
  const out: DiagnosticCheck[] = [];
  for (const svc of ctx.services) {
    const rule = ruleFor(rules, svc);
    for (const host of hosts) out.push(hostCheck(svc, rule, host));
    out.push(await targetHealthCheck(clients.elb, svc, rule, ctx.env));
  }
  return out;
}
