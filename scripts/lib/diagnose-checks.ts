// The causes of a broken HTTP API -> VPC link -> internal ALB path that users hit most, each as
// a check with a verdict and, when it is not OK, what to do about it. Read-only AWS calls only.
import {
  GetIntegrationsCommand,
  GetVpcLinkCommand,
  type GetVpcLinkCommandOutput,
  type Integration,
} from '@aws-sdk/client-apigatewayv2';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsClients } from './aws.ts';
import { ENV_OUTPUT, INTERNAL_ALB_OUTPUTS, stackNames } from './aws.ts';
import type { Service } from './manifests.ts';
import { stackOutputs } from './stack-deployer.ts';

export type Verdict = 'OK' | 'WARN' | 'FAIL';

export interface DiagnosticCheck {
  name: string;
  verdict: Verdict;
  detail: string;
  /** What to do when the verdict is not OK. */
  hint?: string;
}

export interface DiagnoseContext {
  app: string;
  env: string;
  services: Service[];
  /** How far back to look for integration errors in the access logs. */
  logMinutes: number;
  now?: () => number;
}

type Clients = Pick<AwsClients, 'cfn' | 'apigw' | 'ec2' | 'elb' | 'logs'>;

const check = (name: string, verdict: Verdict, detail: string, hint?: string): DiagnosticCheck => ({
  name,
  verdict,
  detail,
  ...(hint && verdict !== 'OK' ? { hint } : {}),
});

// A check that throws reports FAIL with the error instead of ending the whole diagnosis.
async function guarded(
  name: string,
  run: () => Promise<DiagnosticCheck[]>,
): Promise<DiagnosticCheck[]> {
  try {
    return await run();
  } catch (error) {
    const e = error as Error;
    return [
      check(
        name,
        'FAIL',
        `could not check: ${e.name}: ${e.message}`,
        'check credentials, --region and that the stacks exist',
      ),
    ];
  }
}

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
        'send a request through the API: API Gateway re-provisions the link (PENDING, then AVAILABLE within minutes). If it stays INACTIVE, recreate the HTTP API stack: aws cloudformation delete-stack --stack-name <app>-<env>-http-api, then npx zx scripts/deploy.ts --only api',
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

export function integrationChecks(
  integrations: Integration[],
  expected: { vpcLinkId: string; listenerArn?: string | undefined; albDns?: string | undefined },
): DiagnosticCheck[] {
  const proxies = integrations.filter((i) => i.IntegrationType === 'HTTP_PROXY');
  if (proxies.length === 0)
    return [
      check(
        'integration target',
        'FAIL',
        'the API has no HTTP_PROXY integration',
        'redeploy the HTTP API stack: npx zx scripts/deploy.ts --only api',
      ),
    ];
  return proxies.flatMap((i) => {
    const id = i.IntegrationId ?? '?';
    const uri = i.IntegrationUri ?? '';
    const results: DiagnosticCheck[] = [];
    if (!uri.includes(':listener/')) {
      results.push(
        check(
          `integration ${id} URI`,
          'FAIL',
          `${uri || '(none)'} is not a listener ARN`,
          'a VPC-link integration to an ALB must use the LISTENER ARN (export <app>-<env>-InternalHTTPListenerArn), not the load balancer ARN',
        ),
      );
    } else if (expected.listenerArn && uri !== expected.listenerArn) {
      results.push(
        check(
          `integration ${id} URI`,
          'WARN',
          `${uri} is not the environment's listener ${expected.listenerArn}`,
          'redeploy the HTTP API stack so it imports the current export',
        ),
      );
    } else
      results.push(
        check(`integration ${id} URI`, 'OK', `listener ${uri.split(':listener/')[1] ?? uri}`),
      );
    if (i.ConnectionType !== 'VPC_LINK' || i.ConnectionId !== expected.vpcLinkId) {
      results.push(
        check(
          `integration ${id} connection`,
          'FAIL',
          `connection ${i.ConnectionType ?? '?'} ${i.ConnectionId ?? ''}, expected VPC_LINK ${expected.vpcLinkId}`,
          "the integration must go through the stack's VPC link",
        ),
      );
    }
    const host = i.RequestParameters?.['overwrite:header.host'];
    if (!host) {
      results.push(
        check(
          `integration ${id} Host overwrite`,
          'FAIL',
          'no overwrite:header.host request parameter',
          "Copilot's listener rules match on Host; without the overwrite requests fall to the default action: 503. Redeploy the addon",
        ),
      );
    } else if (expected.albDns && host !== expected.albDns) {
      results.push(
        check(
          `integration ${id} Host overwrite`,
          'WARN',
          `Host is set to ${host}, the ALB's DNS name is ${expected.albDns}`,
          'a Host no rule matches gets 503; redeploy the addon so it imports the export <app>-<env>-InternalLoadBalancerDNS',
        ),
      );
    } else results.push(check(`integration ${id} Host overwrite`, 'OK', `Host: ${host}`));
    return results;
  });
}

function forwardTargetGroups(rule: Rule): string[] {
  return (rule.Actions ?? []).flatMap((a) => [
    ...(a.TargetGroupArn ? [a.TargetGroupArn] : []),
    ...(a.ForwardConfig?.TargetGroups ?? []).flatMap((t) =>
      t.TargetGroupArn ? [t.TargetGroupArn] : [],
    ),
  ]);
}

export async function diagnose(clients: Clients, ctx: DiagnoseContext): Promise<DiagnosticCheck[]> {
  const names = stackNames(ctx.app, ctx.env);
  const results: DiagnosticCheck[] = [];
  const envOut = (await stackOutputs(clients.cfn, names.env)) ?? {};
  const apiOut = (await stackOutputs(clients.cfn, names.httpApi)) ?? {};
  const listenerArn = envOut[ENV_OUTPUT.listenerArn];
  const albSg = envOut[ENV_OUTPUT.albSecurityGroup];
  const albDns = envOut[ENV_OUTPUT.albDns];
  results.push(
    listenerArn && albSg && albDns
      ? check('environment exports', 'OK', `stack ${names.env} has the internal ALB outputs`)
      : check(
          'environment exports',
          'FAIL',
          `stack ${names.env} lacks ${INTERNAL_ALB_OUTPUTS.filter((k) => !envOut[k]).join(', ')}`,
          'the internal ALB exists only after a Backend Service with http is deployed: npx zx scripts/deploy.ts --only env,services',
        ),
  );
  const apiId = apiOut.ApiId;
  const vpcLinkId = apiOut.VpcLinkId;
  if (!apiId || !vpcLinkId) {
    results.push(
      check(
        'HTTP API stack',
        'FAIL',
        `stack ${names.httpApi} ${Object.keys(apiOut).length ? 'lacks ApiId/VpcLinkId outputs' : 'not found'}`,
        `npx zx scripts/deploy.ts --env ${ctx.env} --only api`,
      ),
    );
  }

  let linkGroups: string[] = [];
  if (vpcLinkId) {
    results.push(
      ...(await guarded('VPC link status', async () => {
        const link = await clients.apigw.send(new GetVpcLinkCommand({ VpcLinkId: vpcLinkId }));
        linkGroups = link.SecurityGroupIds ?? [];
        return [vpcLinkCheck(link)];
      })),
    );
  }
  if (apiId && vpcLinkId) {
    results.push(
      ...(await guarded('integration', async () => {
        const out = await clients.apigw.send(new GetIntegrationsCommand({ ApiId: apiId }));
        return integrationChecks(out.Items ?? [], { vpcLinkId, listenerArn, albDns });
      })),
    );
  }
  if (albSg) {
    results.push(
      ...(await guarded('ALB security group', async () => {
        const out = await clients.ec2.send(
          new DescribeSecurityGroupsCommand({ GroupIds: [albSg] }),
        );
        const admitted = new Set(
          (out.SecurityGroups?.[0]?.IpPermissions ?? [])
            .filter(
              (p) => p.IpProtocol === '-1' || ((p.FromPort ?? 0) <= 80 && (p.ToPort ?? 0) >= 80),
            )
            .flatMap((p) => (p.UserIdGroupPairs ?? []).map((g) => g.GroupId)),
        );
        if (linkGroups.length === 0)
          return [
            check(
              'ALB security group admits the VPC link',
              'WARN',
              "the VPC link's security groups are unknown (see the VPC link check)",
            ),
          ];
        const missing = linkGroups.filter((g) => !admitted.has(g));
        return [
          missing.length === 0
            ? check(
                'ALB security group admits the VPC link',
                'OK',
                `${albSg} allows port 80 from ${linkGroups.join(', ')}`,
              )
            : check(
                'ALB security group admits the VPC link',
                'FAIL',
                `${albSg} has no port-80 ingress from ${missing.join(', ')}`,
                'requests time out at the ALB (API Gateway answers 503/504); redeploy the addon, which adds the AlbIngressFromVpcLink rule',
              ),
        ];
      })),
    );
  }
  if (listenerArn) {
    results.push(
      ...(await guarded('target health', async () => {
        const rules =
          (await clients.elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules ??
          [];
        const out: DiagnosticCheck[] = [];
        for (const svc of ctx.services) {
          const name = `target health: ${svc.name}`;
          const rule = rules.find((r) =>
            (r.Conditions ?? []).some((c) =>
              (c.PathPatternConfig?.Values ?? c.Values ?? []).some(
                (v) => v === svc.pathPrefix || v === `${svc.pathPrefix}/*`,
              ),
            ),
          );
          const groups = rule ? forwardTargetGroups(rule) : [];
          if (groups.length === 0) {
            out.push(
              check(
                name,
                'FAIL',
                `no listener rule forwards ${svc.pathPrefix}`,
                `the service is not deployed: npx zx scripts/deploy.ts --only services --service ${svc.name}`,
              ),
            );
            continue;
          }
          const states: string[] = [];
          for (const tg of groups) {
            const h = await clients.elb.send(
              new DescribeTargetHealthCommand({ TargetGroupArn: tg }),
            );
            for (const d of h.TargetHealthDescriptions ?? [])
              states.push(d.TargetHealth?.State ?? 'unknown');
          }
          const healthy = states.filter((s) => s === 'healthy').length;
          const detail = `${healthy}/${states.length} targets healthy (manifest minimum ${svc.minCount})`;
          if (healthy === 0)
            out.push(
              check(
                name,
                'FAIL',
                detail,
                `no healthy target: the ALB answers 503. copilot svc logs --name ${svc.name} --env ${ctx.env}; check the health check path ${svc.health.path}`,
              ),
            );
          else if (healthy < svc.minCount || healthy < states.length)
            out.push(
              check(name, 'WARN', detail, `copilot svc status --name ${svc.name} --env ${ctx.env}`),
            );
          else out.push(check(name, 'OK', detail));
        }
        return out;
      })),
    );
  }
  results.push(
    ...(await guarded('access logs', async () => {
      const now = ctx.now?.() ?? Date.now();
      const out = await clients.logs.send(
        new FilterLogEventsCommand({
          logGroupName: names.accessLogGroup,
          startTime: now - ctx.logMinutes * 60_000,
          filterPattern:
            '{ ($.integrationErrorMessage != "-") && ($.integrationErrorMessage != "") }',
          limit: 50,
        }),
      );
      const messages = new Map<string, number>();
      for (const e of out.events ?? []) {
        let msg = '?';
        try {
          msg = String(
            (JSON.parse(e.message ?? '{}') as { integrationErrorMessage?: string })
              .integrationErrorMessage ?? '?',
          );
        } catch {
          msg = e.message ?? '?';
        }
        messages.set(msg, (messages.get(msg) ?? 0) + 1);
      }
      if (messages.size === 0)
        return [
          check(
            'recent integration errors',
            'OK',
            `none in ${names.accessLogGroup} in the last ${ctx.logMinutes} min`,
          ),
        ];
      const top = [...messages]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([m, n]) => `${n}x ${m}`);
      return [
        check(
          'recent integration errors',
          'WARN',
          top.join('; '),
          'errors API Gateway met talking to the ALB: see the checks above (VPC link, security group, Host, targets)',
        ),
      ];
    })),
  );
  return results;
}
