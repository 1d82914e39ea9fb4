// diagnose's checks of the HTTP API's integration and of a service's listener rule and targets,
// each outcome whole (verdict, what was seen, what to do), with no AWS call but a mocked
// DescribeTargetHealth: an integration must be an HTTP_PROXY through the stack's VPC link to the
// environment's listener ARN, with the Host overwrite Copilot's rules need (the addon,
// addons/http-api.yml); Copilot's rule for a service takes `/p` and `/p/*` (aws/copilot-cli
// v1.33.2 workloads/partials/cf/http-listener.yml) and forwards to its target group, directly or
// in a ForwardConfig (ELB API reference, Action).
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  integrationChecks,
  ruleFor,
  targetHealthCheck,
} from '../../scripts/checks/diagnose-routing.ts';
import { invocation } from '../../scripts/cli/command.ts';
import { loadWorkspace, type Service } from '../../scripts/workspace/manifests.ts';

const LISTENER =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/internal-bookstore/50dc6c495c0c9188/f2f7dc8efc522ab2';
const LB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1';
const LINK = 'vpclink-1';
const HOST = 'internal-bookstore-test-1.us-east-1.elb.amazonaws.com';
const REDEPLOY_API = `${invocation('deploy')} --only api`;

const proxy = (over: Record<string, unknown> = {}) => ({
  IntegrationId: 'i1',
  IntegrationType: 'HTTP_PROXY' as const,
  IntegrationUri: LISTENER,
  ConnectionType: 'VPC_LINK' as const,
  ConnectionId: LINK,
  RequestParameters: { 'overwrite:header.host': HOST },
  ...over,
});

describe('the integration', () => {
  it('is OK as the addon makes it: the listener, the link, the Host', () => {
    expect(integrationChecks([proxy()], { vpcLinkId: LINK, listenerArn: LISTENER })).toEqual([
      {
        name: 'integration i1 URI',
        verdict: 'OK',
        detail: 'listener app/internal-bookstore/50dc6c495c0c9188/f2f7dc8efc522ab2',
      },
      { name: 'integration i1 Host overwrite', verdict: 'OK', detail: `Host: ${HOST}` },
    ]);
  });

  it('FAILs when there is no HTTP_PROXY integration at all', () => {
    const expected = [
      {
        name: 'integration target',
        verdict: 'FAIL',
        detail: 'the API has no HTTP_PROXY integration',
        hint: `redeploy the HTTP API stack: ${REDEPLOY_API}`,
      },
    ];
    expect(integrationChecks([], { vpcLinkId: LINK })).toEqual(expected);
    expect(integrationChecks([proxy({ IntegrationType: 'HTTP' })], { vpcLinkId: LINK })).toEqual(
      expected,
    );
  });

  it("FAILs on the load balancer's ARN or none, WARNs on another listener", () => {
    const [lb] = integrationChecks([proxy({ IntegrationUri: LB })], { vpcLinkId: LINK });
    expect(lb).toEqual({
      name: 'integration i1 URI',
      verdict: 'FAIL',
      detail: `${LB} is not a listener ARN`,
      hint: 'a VPC-link integration to an ALB must use the LISTENER ARN (export <app>-<env>-InternalHTTPListenerArn), not the load balancer ARN',
    });
    const [none] = integrationChecks(
      [proxy({ IntegrationUri: undefined, IntegrationId: undefined })],
      {
        vpcLinkId: LINK,
      },
    );
    expect(none).toMatchObject({
      name: 'integration ? URI',
      verdict: 'FAIL',
      detail: '(none) is not a listener ARN',
    });
    const other = `${LISTENER.slice(0, -1)}3`;
    const [stale] = integrationChecks([proxy({ IntegrationUri: other })], {
      vpcLinkId: LINK,
      listenerArn: LISTENER,
    });
    expect(stale).toEqual({
      name: 'integration i1 URI',
      verdict: 'WARN',
      detail: `${other} is not the environment's listener ${LISTENER}`,
      hint: 'redeploy the HTTP API stack so it imports the current export',
    });
    // Without the environment's listener to compare with, any listener ARN is taken.
    expect(
      integrationChecks([proxy({ IntegrationUri: other })], { vpcLinkId: LINK })[0],
    ).toMatchObject({ verdict: 'OK' });
  });

  it("FAILs on a connection other than the stack's VPC link, either way", () => {
    const connection = (over: Record<string, unknown>) =>
      integrationChecks([proxy(over)], { vpcLinkId: LINK }).find((c) =>
        c.name.endsWith('connection'),
      );
    expect(connection({})).toBeUndefined();
    expect(connection({ ConnectionId: 'vpclink-2' })).toEqual({
      name: 'integration i1 connection',
      verdict: 'FAIL',
      detail: `connection VPC_LINK vpclink-2, expected VPC_LINK ${LINK}`,
      hint: "the integration must go through the stack's VPC link",
    });
    expect(connection({ ConnectionType: 'INTERNET', ConnectionId: LINK })?.detail).toBe(
      `connection INTERNET ${LINK}, expected VPC_LINK ${LINK}`,
    );
    expect(connection({ ConnectionType: undefined, ConnectionId: undefined })?.detail).toBe(
      `connection ? , expected VPC_LINK ${LINK}`,
    );
  });

  it('FAILs without the Host overwrite, an empty one included', () => {
    for (const RequestParameters of [undefined, {}, { 'overwrite:header.host': '' }]) {
      const [, host] = integrationChecks([proxy({ RequestParameters })], { vpcLinkId: LINK });
      expect(host).toMatchObject({
        name: 'integration i1 Host overwrite',
        verdict: 'FAIL',
        detail: 'no overwrite:header.host request parameter',
      });
      expect(host?.hint).toContain(REDEPLOY_API);
    }
  });

  it('checks each HTTP_PROXY integration, and only those', () => {
    const names = integrationChecks(
      [
        proxy(),
        proxy({ IntegrationId: 'i2' }),
        proxy({ IntegrationId: 'i3', IntegrationType: 'AWS_PROXY' }),
      ],
      { vpcLinkId: LINK },
    ).map((c) => c.name);
    expect(names).toEqual([
      'integration i1 URI',
      'integration i1 Host overwrite',
      'integration i2 URI',
      'integration i2 Host overwrite',
    ]);
  });
});

describe("a service's rule and targets", () => {
  const elb = mockClient(ElasticLoadBalancingV2Client);
  afterEach(() => elb.reset());
  afterAll(() => elb.restore());
  const svc = () => loadWorkspace().services[0] as Service;
  const rule = (paths: string[], actions: Rule['Actions']): Rule => ({
    Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: paths } }],
    Actions: actions,
  });

  it("is the rule with the service's path or its /*, among others", () => {
    const s = svc();
    const other = rule(['/other', '/other/*'], []);
    const exact = rule(['/x', s.pathPrefix], []);
    const below = rule([`${s.pathPrefix}/*`], []);
    expect(ruleFor([other, exact], s)).toBe(exact);
    expect(ruleFor([other, below], s)).toBe(below);
    expect(
      ruleFor([other, rule([`${s.pathPrefix}x`, `${s.pathPrefix}/**`], [])], s),
    ).toBeUndefined();
    // Values given in the condition's older Values field count too.
    const legacy: Rule = { Conditions: [{ Field: 'path-pattern', Values: [s.pathPrefix] }] };
    expect(ruleFor([legacy], s)).toBe(legacy);
  });

  it('reads the health of every target group the rule forwards to, in either form', async () => {
    const s = svc();
    elb
      .on(DescribeTargetHealthCommand, { TargetGroupArn: 'tg-a' })
      .resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: 'healthy' } }] })
      .on(DescribeTargetHealthCommand, { TargetGroupArn: 'tg-b' })
      .resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: 'draining' } }, {}] });
    const both = rule(
      [s.pathPrefix],
      [
        { Type: 'forward', TargetGroupArn: 'tg-a' },
        { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: 'tg-b' }, {}] } },
      ],
    );
    const result = await targetHealthCheck(elb as never, s, both, 'test');
    expect(result).toMatchObject({
      name: `target health: ${s.name}`,
      verdict: 'WARN',
      detail: `1/3 targets healthy (manifest minimum ${s.minCount}); others draining, unknown`,
    });
    expect(elb.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input)).toEqual([
      { TargetGroupArn: 'tg-a' },
      { TargetGroupArn: 'tg-b' },
    ]);
  });

  it('FAILs with no rule, or a rule that forwards nowhere, without asking ELB', async () => {
    const s = svc();
    const expected = {
      name: `target health: ${s.name}`,
      verdict: 'FAIL',
      detail: `no listener rule forwards ${s.pathPrefix}`,
      hint: `the service is not deployed: ${invocation('deploy')} --only services --service ${s.name}`,
    };
    expect(await targetHealthCheck(elb as never, s, undefined, 'test')).toEqual(expected);
    expect(
      await targetHealthCheck(
        elb as never,
        s,
        rule([s.pathPrefix], [{ Type: 'fixed-response' }]),
        'test',
      ),
    ).toEqual(expected);
    expect(
      await targetHealthCheck(elb as never, s, rule([s.pathPrefix], undefined), 'test'),
    ).toEqual(expected);
    expect(elb.commandCalls(DescribeTargetHealthCommand)).toEqual([]);
  });
});
