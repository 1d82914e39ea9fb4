// The properties issue 4 demands of addons/http-api.yml, as functions that list what is wrong.
// The tests run them on the real template (expecting no problem) and on mutants of it
// (expecting the one problem the mutation introduces), so no check can pass vacuously.
import { isDeepStrictEqual } from 'node:util';
import type { Service } from '../../scripts/workspace/manifests.ts';
import type { CfnResource, CfnTemplate } from '../../scripts/workspace/template.ts';
import { checkOptions, checkRules } from './option-checks.ts';

/** What the checks need of a Copilot workspace (a subset of loadWorkspace()'s result). */
export interface AddonWorkspace {
  application: string;
  environments: { name: string }[];
  services: Pick<Service, 'name' | 'pathPrefix'>[];
}

type Problems = string[];

/**
 * The exports of Copilot's environment stack `<app>-<env>` once a Backend Service with `http`
 * is deployed (ARCHITECTURE.md, "Copilot facts"). Importing any other name fails the deploy.
 */
export const COPILOT_ENV_EXPORTS = [
  'InternalHTTPListenerArn',
  'InternalLoadBalancerDNS',
  'InternalLoadBalancerSecurityGroup',
  'VpcId',
  'PrivateSubnets',
  'PublicSubnets',
  'EnvironmentSecurityGroup',
] as const;

/** Copilot's internal ALB listens on plain HTTP :80 (no certificate on an internal ALB here). */
export const ALB_LISTENER_PORT = 80;

/** Access-log variables (after `$context.`) that diagnose a request end to end. */
export const REQUIRED_LOG_VARIABLES = [
  'requestId',
  'routeKey',
  'status',
  'responseLatency',
  'integrationStatus',
  'integrationLatency',
  'integrationErrorMessage',
  'error.message',
] as const;

// HTTP APIs cannot wait for an integration longer than this.
const MAX_INTEGRATION_TIMEOUT_MS = 30_000;

type CopilotExport = (typeof COPILOT_ENV_EXPORTS)[number];

export function importOf(name: CopilotExport): unknown {
  return { 'Fn::ImportValue': { 'Fn::Sub': `\${App}-\${Env}-${name}` } };
}

const ref = (name: string) => ({ Ref: name });
const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });

/** `!GetAtt A.B` and `!GetAtt [A, B]` mean the same; compare them in list form. */
function normalise(value: unknown): unknown {
  if (value && typeof value === 'object' && 'Fn::GetAtt' in value) {
    const target = (value as { 'Fn::GetAtt': unknown })['Fn::GetAtt'];
    if (typeof target === 'string') {
      const dot = target.indexOf('.');
      return getAtt(target.slice(0, dot), target.slice(dot + 1));
    }
  }
  return value;
}

const show = (value: unknown) => JSON.stringify(value);

function expectValue(where: string, actual: unknown, expected: unknown): Problems {
  return isDeepStrictEqual(normalise(actual), expected)
    ? []
    : [`${where}: expected ${show(expected)}, got ${show(actual)}`];
}

function expectAbsent(where: string, props: Record<string, unknown>, keys: string[]): Problems {
  return keys.filter((key) => key in props).map((key) => `${where}: must not set ${key}`);
}

function resource(template: CfnTemplate, id: string, type: string): CfnResource | string {
  const found = template.Resources[id];
  if (!found) return `${id}: missing (a ${type})`;
  if (found.Type !== type) return `${id}: expected type ${type}, got ${found.Type}`;
  return found;
}

/** Runs `check` on the resource's properties, or reports why the resource is unusable. */
function withResource(
  template: CfnTemplate,
  id: string,
  type: string,
  check: (props: Record<string, unknown>) => Problems,
): Problems {
  const found = resource(template, id, type);
  return typeof found === 'string' ? [found] : check(found.Properties ?? {});
}

function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

export function checkParameters(template: CfnTemplate): Problems {
  const params = template.Parameters ?? {};
  const problems: Problems = [];
  for (const name of ['App', 'Env']) {
    if (params[name]?.Type !== 'String') problems.push(`Parameters.${name}: missing (a String)`);
  }
  const numbers = ['ThrottlingRateLimit', 'ThrottlingBurstLimit', 'IntegrationTimeoutMillis'];
  for (const name of [...numbers, 'AccessLogRetentionDays']) {
    if (params[name]?.Type !== 'Number') problems.push(`Parameters.${name}: missing (a Number)`);
  }
  // App and Env name the environment whose exports are imported: a default would guess it.
  for (const [name, param] of Object.entries(params)) {
    if (name !== 'App' && name !== 'Env' && !('Default' in param)) {
      problems.push(`Parameters.${name}: needs a default`);
    }
  }
  const timeout = params.IntegrationTimeoutMillis;
  if (timeout && !(Number(timeout.MaxValue) <= MAX_INTEGRATION_TIMEOUT_MS)) {
    problems.push(
      `Parameters.IntegrationTimeoutMillis: MaxValue must be at most ${MAX_INTEGRATION_TIMEOUT_MS}, the HTTP API limit`,
    );
  }
  return problems;
}

export function checkIntegration(template: CfnTemplate): Problems {
  return withResource(template, 'AlbIntegration', 'AWS::ApiGatewayV2::Integration', (p) => [
    ...expectValue('AlbIntegration.ApiId', p.ApiId, ref('HttpApi')),
    ...expectValue('AlbIntegration.IntegrationType', p.IntegrationType, 'HTTP_PROXY'),
    ...expectValue('AlbIntegration.IntegrationMethod', p.IntegrationMethod, 'ANY'),
    ...expectValue('AlbIntegration.ConnectionType', p.ConnectionType, 'VPC_LINK'),
    ...expectValue('AlbIntegration.ConnectionId', p.ConnectionId, ref('VpcLink')),
    ...expectValue(
      'AlbIntegration.IntegrationUri',
      p.IntegrationUri,
      importOf('InternalHTTPListenerArn'),
    ),
    ...expectValue('AlbIntegration.PayloadFormatVersion', p.PayloadFormatVersion, '1.0'),
    ...expectValue(
      'AlbIntegration.TimeoutInMillis',
      p.TimeoutInMillis,
      ref('IntegrationTimeoutMillis'),
    ),
    ...expectValue(
      "AlbIntegration.RequestParameters['overwrite:header.host']",
      (p.RequestParameters as Record<string, unknown> | undefined)?.['overwrite:header.host'],
      importOf('InternalLoadBalancerDNS'),
    ),
  ]);
}

export function checkApi(template: CfnTemplate): Problems {
  return withResource(template, 'HttpApi', 'AWS::ApiGatewayV2::Api', (p) =>
    expectValue('HttpApi.ProtocolType', p.ProtocolType, 'HTTP'),
  );
}

export function checkVpcLink(template: CfnTemplate): Problems {
  return withResource(template, 'VpcLink', 'AWS::ApiGatewayV2::VpcLink', (p) => [
    ...expectValue('VpcLink.SubnetIds', p.SubnetIds, {
      'Fn::Split': [',', importOf('PrivateSubnets')],
    }),
    ...expectValue('VpcLink.SecurityGroupIds', p.SecurityGroupIds, [
      getAtt('VpcLinkSecurityGroup', 'GroupId'),
    ]),
  ]);
}

function expectListenerPort(where: string, rule: Record<string, unknown>): Problems {
  return [
    ...expectValue(`${where}.IpProtocol`, rule.IpProtocol, 'tcp'),
    ...expectValue(`${where}.FromPort`, rule.FromPort, ALB_LISTENER_PORT),
    ...expectValue(`${where}.ToPort`, rule.ToPort, ALB_LISTENER_PORT),
  ];
}

function checkVpcLinkEgress(props: Record<string, unknown>): Problems {
  const where = 'VpcLinkSecurityGroup';
  const egress = (props.SecurityGroupEgress ?? []) as Record<string, unknown>[];
  const rule = egress[0];
  // Without an explicit rule, a security group allows all egress.
  if (egress.length !== 1 || !rule) {
    return [
      `${where}.SecurityGroupEgress: expected exactly one rule (to the ALB), got ${egress.length}`,
    ];
  }
  return [
    ...expectValue(`${where}.VpcId`, props.VpcId, importOf('VpcId')),
    ...expectAbsent(where, props, ['SecurityGroupIngress']),
    ...expectListenerPort(`${where}.SecurityGroupEgress[0]`, rule),
    ...expectValue(
      `${where}.SecurityGroupEgress[0].DestinationSecurityGroupId`,
      rule.DestinationSecurityGroupId,
      importOf('InternalLoadBalancerSecurityGroup'),
    ),
    ...expectAbsent(`${where}.SecurityGroupEgress[0]`, rule, [
      'CidrIp',
      'CidrIpv6',
      'DestinationPrefixListId',
    ]),
  ];
}

function checkAlbIngress(props: Record<string, unknown>): Problems {
  const where = 'AlbIngressFromVpcLink';
  return [
    ...expectValue(
      `${where}.GroupId`,
      props.GroupId,
      importOf('InternalLoadBalancerSecurityGroup'),
    ),
    ...expectValue(
      `${where}.SourceSecurityGroupId`,
      props.SourceSecurityGroupId,
      getAtt('VpcLinkSecurityGroup', 'GroupId'),
    ),
    ...expectListenerPort(where, props),
    ...expectAbsent(where, props, [
      'CidrIp',
      'CidrIpv6',
      'SourcePrefixListId',
      'SourceSecurityGroupOwnerId',
    ]),
  ];
}

/** The VPC link may reach the ALB's listener and nothing else; the ALB admits only the link. */
export function checkSecurityGroups(template: CfnTemplate): Problems {
  const extraIngress = resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress')
    .map(([id]) => id)
    .filter((id) => id !== 'AlbIngressFromVpcLink');
  const extraEgress = resourcesOfType(template, 'AWS::EC2::SecurityGroupEgress').map(([id]) => id);
  return [
    ...withResource(
      template,
      'VpcLinkSecurityGroup',
      'AWS::EC2::SecurityGroup',
      checkVpcLinkEgress,
    ),
    ...withResource(
      template,
      'AlbIngressFromVpcLink',
      'AWS::EC2::SecurityGroupIngress',
      checkAlbIngress,
    ),
    ...extraIngress.map((id) => `${id}: an ingress rule beyond AlbIngressFromVpcLink`),
    ...extraEgress.map((id) => `${id}: an egress rule beyond the VPC link's one to the ALB`),
  ];
}

/**
 * The route keys that carry a service's path: `/{proxy+}` does not match the bare prefix, and
 * the OPTIONS pair takes browsers' preflights when CORS and JWT are both on.
 */
export function serviceRouteKeys(pathPrefix: string): string[] {
  const paths = [pathPrefix, `${pathPrefix}/{proxy+}`];
  return [...paths.map((p) => `ANY ${p}`), ...paths.map((p) => `OPTIONS ${p}`)];
}

function checkRouteWiring(id: string, props: Record<string, unknown>): Problems {
  const preflight = String(props.RouteKey).startsWith('OPTIONS ');
  return [
    ...expectValue(`${id}.ApiId`, props.ApiId, ref('HttpApi')),
    ...expectValue(`${id}.Target`, props.Target, { 'Fn::Sub': `integrations/\${AlbIntegration}` }),
    ...expectValue(
      `${id}.AuthorizationType`,
      props.AuthorizationType,
      preflight ? 'NONE' : { 'Fn::If': ['HasJwtAuthorizer', 'JWT', 'NONE'] },
    ),
  ];
}

/** Routes agree with the manifests both ways; nothing else is routed (API Gateway's own 404). */
export function checkRoutes(template: CfnTemplate, workspace: AddonWorkspace): Problems {
  const routes = resourcesOfType(template, 'AWS::ApiGatewayV2::Route');
  const keys = routes.map(([, r]) => String(r.Properties?.RouteKey));
  const owner = new Map(
    workspace.services.flatMap((s) => serviceRouteKeys(s.pathPrefix).map((k) => [k, s.name])),
  );
  const problems = routes.flatMap(([id, r]) => checkRouteWiring(id, r.Properties ?? {}));
  for (const [id, route] of routes) {
    const key = String(route.Properties?.RouteKey);
    if (!owner.has(key)) {
      problems.push(`${id}: route "${key}" belongs to no service in copilot/ (a stray route)`);
    }
    if (keys.indexOf(key) !== keys.lastIndexOf(key))
      problems.push(`${id}: duplicate route "${key}"`);
  }
  for (const [key, service] of owner) {
    if (!keys.includes(key)) problems.push(`${service}: no route "${key}" for its http.path`);
  }
  return problems;
}

function checkAccessLogGroup(template: CfnTemplate, destination: unknown): Problems {
  const target = normalise(destination) as { 'Fn::GetAtt'?: [string, string] } | undefined;
  const [groupId, attribute] = target?.['Fn::GetAtt'] ?? [];
  if (!groupId || attribute !== 'Arn') {
    return [
      `DefaultStage.AccessLogSettings.DestinationArn: expected a log group's Arn, got ${show(destination)}`,
    ];
  }
  return withResource(template, groupId, 'AWS::Logs::LogGroup', (p) =>
    expectValue(`${groupId}.RetentionInDays`, p.RetentionInDays, ref('AccessLogRetentionDays')),
  );
}

/** The log format is one line of JSON whose values include every required `$context` variable. */
export function checkAccessLogFormat(format: unknown): Problems {
  const where = 'DefaultStage.AccessLogSettings.Format';
  if (typeof format !== 'string' || format.includes('\n')) {
    return [`${where}: expected a single-line string, got ${show(format)}`];
  }
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(format) as Record<string, unknown>;
  } catch {
    return [`${where}: not JSON, so the logs cannot be queried by field`];
  }
  const values = new Set(Object.values(fields));
  return REQUIRED_LOG_VARIABLES.filter((v) => !values.has(`$context.${v}`)).map(
    (v) => `${where}: missing $context.${v}`,
  );
}

export function checkStage(template: CfnTemplate): Problems {
  return withResource(template, 'DefaultStage', 'AWS::ApiGatewayV2::Stage', (p) => {
    const throttling = (p.DefaultRouteSettings ?? {}) as Record<string, unknown>;
    const logs = (p.AccessLogSettings ?? {}) as Record<string, unknown>;
    return [
      ...expectValue('DefaultStage.ApiId', p.ApiId, ref('HttpApi')),
      // A named stage would prefix its name to the path the services see.
      ...expectValue('DefaultStage.StageName', p.StageName, '$default'),
      ...expectValue('DefaultStage.AutoDeploy', p.AutoDeploy, true),
      ...expectValue(
        'DefaultStage.DefaultRouteSettings.ThrottlingRateLimit',
        throttling.ThrottlingRateLimit,
        ref('ThrottlingRateLimit'),
      ),
      ...expectValue(
        'DefaultStage.DefaultRouteSettings.ThrottlingBurstLimit',
        throttling.ThrottlingBurstLimit,
        ref('ThrottlingBurstLimit'),
      ),
      ...checkAccessLogGroup(template, logs.DestinationArn),
      ...checkAccessLogFormat(logs.Format),
    ];
  });
}

/** Every `Fn::ImportValue` anywhere in the template. */
export function importedValues(node: unknown): unknown[] {
  if (Array.isArray(node)) return node.flatMap(importedValues);
  if (!node || typeof node !== 'object') return [];
  const own =
    'Fn::ImportValue' in node ? [(node as Record<string, unknown>)['Fn::ImportValue']] : [];
  return [...own, ...Object.values(node).flatMap(importedValues)];
}

/** Every imported name, resolved for each environment, is one Copilot exports. */
export function checkImports(template: CfnTemplate, workspace: AddonWorkspace): Problems {
  const allowed = (env: string) =>
    new Set(COPILOT_ENV_EXPORTS.map((name) => `${workspace.application}-${env}-${name}`));
  return importedValues(template).flatMap((imported): Problems => {
    const pattern = (imported as { 'Fn::Sub'?: unknown } | null)?.['Fn::Sub'];
    if (typeof pattern !== 'string') {
      return [`Fn::ImportValue ${show(imported)}: expected !Sub "\${App}-\${Env}-<export>"`];
    }
    return workspace.environments.flatMap(({ name: env }) => {
      const resolved = pattern
        .replaceAll(`\${App}`, workspace.application)
        .replaceAll(`\${Env}`, env);
      return allowed(env).has(resolved)
        ? []
        : [`Fn::ImportValue ${resolved}: not an export of Copilot's environment stack`];
    });
  });
}

function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, c: string) => c.toUpperCase());
}

/** The output key the scripts read a service's public URL from: book-service -> BookServiceUrl. */
export function serviceUrlOutput(serviceName: string): string {
  return `${pascalCase(serviceName)}Url`;
}

function checkOutput(template: CfnTemplate, key: string, value: unknown): Problems {
  const output = template.Outputs?.[key];
  if (!output) return [`Outputs.${key}: missing`];
  return [
    ...expectValue(`Outputs.${key}.Value`, output.Value, value),
    ...expectValue(`Outputs.${key}.Export.Name`, output.Export?.Name, {
      'Fn::Sub': `\${AWS::StackName}-${key}`,
    }),
  ];
}

export function checkOutputs(template: CfnTemplate, workspace: AddonWorkspace): Problems {
  const serviceOutputs = new Set(workspace.services.map((s) => serviceUrlOutput(s.name)));
  const strayUrls = Object.keys(template.Outputs ?? {}).filter(
    (key) => key.endsWith('Url') && !serviceOutputs.has(key),
  );
  return [
    ...checkOutput(template, 'ApiEndpoint', getAtt('HttpApi', 'ApiEndpoint')),
    ...checkOutput(template, 'ApiId', ref('HttpApi')),
    ...checkOutput(template, 'VpcLinkId', ref('VpcLink')),
    ...workspace.services.flatMap((s) =>
      checkOutput(template, serviceUrlOutput(s.name), {
        'Fn::Sub': `\${HttpApi.ApiEndpoint}${s.pathPrefix}`,
      }),
    ),
    ...strayUrls.map((key) => `Outputs.${key}: a URL for no service in copilot/`),
  ];
}

/** Every problem with the template, given the workspace it serves. Empty means it is sound. */
export function checkTemplate(template: CfnTemplate, workspace: AddonWorkspace): Problems {
  return [
    ...checkParameters(template),
    ...checkApi(template),
    ...checkIntegration(template),
    ...checkVpcLink(template),
    ...checkSecurityGroups(template),
    ...checkRoutes(template, workspace),
    ...checkStage(template),
    ...checkImports(template, workspace),
    ...checkOutputs(template, workspace),
    ...checkOptions(template, workspace),
    ...checkRules(template),
  ];
}
