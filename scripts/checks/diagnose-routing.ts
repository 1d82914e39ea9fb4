// Where a request goes once it reaches the ALB: the integration's target and Host, the Copilot
// listener rule that should take each service's path, whether that rule accepts the Host the
// integration sends, and the health of the rule's targets.
// Copilot's Backend Service rules match host-header AND path-pattern (aws/copilot-cli v1.33.2
// workloads/partials/cf/http-listener.yml); a request no rule matches gets the listener's default
// action, an empty target group: 503 (environment/cf.yml DefaultInternalHTTPTargetGroup).

import type { Integration } from '@aws-sdk/client-apigatewayv2';
import {
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { invocation } from '../cli/command.ts';
import type { Service } from '../workspace/manifests.ts';
import { check, type DiagnosticCheck } from './diagnose-verdict.ts';

const REDEPLOY_API = `${invocation('deploy')} --only api`;

/** The integration's URI: a listener ARN, the environment's own. */
function uriCheck(id: string, uri: string, listenerArn: string | undefined): DiagnosticCheck {
  if (!uri.includes(':listener/')) {
    return check(
      `integration ${id} URI`,
      'FAIL',
      `${uri || '(none)'} is not a listener ARN`,
      'a VPC-link integration to an ALB must use the LISTENER ARN (export <app>-<env>-InternalHTTPListenerArn), not the load balancer ARN',
    );
  }
  if (listenerArn && uri !== listenerArn) {
    return check(
      `integration ${id} URI`,
      'WARN',
      `${uri} is not the environment's listener ${listenerArn}`,
      'redeploy the HTTP API stack so it imports the current export',
    );
  }
  return check(`integration ${id} URI`, 'OK', `listener ${uri.split(':listener/')[1] ?? uri}`);
}

/** The integration's target, connection and Host overwrite (not yet compared with the rules). */
export function integrationChecks(
  integrations: Integration[],
  expected: { vpcLinkId: string; listenerArn?: string | undefined },
): DiagnosticCheck[] {
  const proxies = integrations.filter((i) => i.IntegrationType === 'HTTP_PROXY');
  if (proxies.length === 0) {
    return [
      check(
        'integration target',
        'FAIL',
        'the API has no HTTP_PROXY integration',
        `redeploy the HTTP API stack: ${REDEPLOY_API}`,
      ),
    ];
  }
  return proxies.flatMap((i) => {
    const id = i.IntegrationId ?? '?';
    const uri = i.IntegrationUri ?? '';
    const results = [uriCheck(id, uri, expected.listenerArn)];
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
    const host = integrationHost(i);
    results.push(
      host
        ? check(`integration ${id} Host overwrite`, 'OK', `Host: ${host}`)
        : check(
            `integration ${id} Host overwrite`,
            'FAIL',
            'no overwrite:header.host request parameter',
            `Copilot's listener rules match on Host; without the overwrite the Host API Gateway sends is not documented, and a Host no rule accepts gets 503. Redeploy the addon: ${REDEPLOY_API}`,
          ),
    );
    return results;
  });
}

export const integrationHost = (i: Integration): string | undefined =>
  i.RequestParameters?.['overwrite:header.host'] || undefined;

/**
 * An ALB host-header value against a Host: case-insensitive, `*` any run of characters, `?` one
 * (Elastic Load Balancing API reference, HostHeaderConditionConfig Values; Copilot's rules use
 * Values, not RegexValues).
 */
export function hostMatches(pattern: string, host: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(host.replace(/:\d+$/, ''));
}

const conditionValues = (rule: Rule, field: string) =>
  (rule.Conditions ?? [])
    .filter((c) => c.Field === field)
    .map((c) => c.HostHeaderConfig?.Values ?? c.PathPatternConfig?.Values ?? c.Values ?? []);

/** The rule that takes the service's path (Copilot: `/p` and `/p/*`). */
export function ruleFor(rules: Rule[], svc: Service): Rule | undefined {
  return rules.find((r) =>
    conditionValues(r, 'path-pattern').some((values) =>
      values.some((v) => v === svc.pathPrefix || v === `${svc.pathPrefix}/*`),
    ),
  );
}

/** Whether the rule accepts `host`: every host-header condition must have a matching value. */
function ruleAcceptsHost(rule: Rule, host: string): boolean {
  return conditionValues(rule, 'host-header').every((values) =>
    values.some((v) => hostMatches(v, host)),
  );
}

export function hostCheck(svc: Service, rule: Rule | undefined, host: string): DiagnosticCheck {
  const name = `Host reaches ${svc.name}`;
  if (!rule)
    return check(
      name,
      'FAIL',
      `no listener rule forwards ${svc.pathPrefix}`,
      `deploy the service: ${invocation('deploy')} --only services --service ${svc.name}`,
    );
  if (ruleAcceptsHost(rule, host))
    return check(name, 'OK', `the ${svc.pathPrefix} rule accepts Host ${host}`);
  const accepted = conditionValues(rule, 'host-header').flat().join(', ');
  return check(
    name,
    'FAIL',
    `the ${svc.pathPrefix} rule accepts Host ${accepted}, the integration sends ${host}`,
    `requests fall to the listener's default action: 503. The addon sets overwrite:header.host to the export <app>-<env>-InternalLoadBalancerDNS; redeploy it: ${REDEPLOY_API}`,
  );
}

function forwardTargetGroups(rule: Rule): string[] {
  return (rule.Actions ?? []).flatMap((a) => [
    ...(a.TargetGroupArn ? [a.TargetGroupArn] : []),
    ...(a.ForwardConfig?.TargetGroups ?? []).flatMap((t) =>
      t.TargetGroupArn ? [t.TargetGroupArn] : [],
    ),
  ]);
}

export async function targetHealthCheck(
  elb: ElasticLoadBalancingV2Client,
  svc: Service,
  rule: Rule | undefined,
  env: string,
): Promise<DiagnosticCheck> {
  const name = `target health: ${svc.name}`;
  const groups = rule ? forwardTargetGroups(rule) : [];
  if (groups.length === 0) {
    return check(
      name,
      'FAIL',
      `no listener rule forwards ${svc.pathPrefix}`,
      `the service is not deployed: ${invocation('deploy')} --only services --service ${svc.name}`,
    );
  }
  const states: string[] = [];
  for (const tg of groups) {
    const h = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg }));
    for (const d of h.TargetHealthDescriptions ?? [])
      states.push(d.TargetHealth?.State ?? 'unknown');
  }
  return targetHealthVerdict(svc, states, env);
}

/**
 * The verdict on a service's targets (TargetHealth State, ELB API reference): FAIL with none
 * healthy (the ALB answers 503, or fails open to unhealthy ones); WARN with fewer healthy than
 * the manifest's minimum, or any registered target not healthy (initial, unhealthy, draining,
 * unavailable: part of the service is starting, failing or leaving); OK otherwise.
 */
export function targetHealthVerdict(
  svc: Service,
  states: readonly string[],
  env: string,
): DiagnosticCheck {
  const name = `target health: ${svc.name}`;
  const healthy = states.filter((s) => s === 'healthy').length;
  const others = [...new Set(states.filter((s) => s !== 'healthy'))].sort();
  const detail = `${healthy}/${states.length} targets healthy (manifest minimum ${svc.minCount})${others.length ? `; others ${others.join(', ')}` : ''}`;
  if (healthy === 0) {
    return check(
      name,
      'FAIL',
      detail,
      `no healthy target: the ALB answers 503. copilot svc logs --name ${svc.name} --env ${env}; check the health check path ${svc.health.path}`,
    );
  }
  if (healthy < svc.minCount || healthy < states.length) {
    return check(name, 'WARN', detail, `copilot svc status --name ${svc.name} --env ${env}`);
  }
  return check(name, 'OK', detail);
}
