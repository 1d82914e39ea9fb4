// The addon's options (JWT, CORS, custom domain) as functions that list what is wrong. Each
// option is checked on what CloudFormation would create for a set of parameter values
// (`instantiate`: conditions evaluated, `Fn::If` applied), so a check sees the deployed shape:
// which resources exist and which authorizer each route really gets.
import { isDeepStrictEqual } from 'node:util';
import { instantiate, type TemplateInstance } from '../../scripts/workspace/http-api-settings.ts';
import type { CfnTemplate } from '../../scripts/workspace/template.ts';
import type { AddonWorkspace } from './checks.ts';

type Problems = string[];

const JWT = { JwtIssuer: 'https://issuer.example.com', JwtAudience: 'catalog' };
const CORS = { CorsAllowOrigins: 'https://app.example.com' };
const DOMAIN = {
  DomainName: 'api.example.com',
  CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f',
};

/** The parameter sets every check runs on: each option alone, and the ones that interact. */
export const SCENARIOS: Record<string, Record<string, string>> = {
  defaults: {},
  jwt: JWT,
  cors: CORS,
  'jwt+cors': { ...JWT, ...CORS },
  domain: DOMAIN,
  'domain, endpoint kept': { ...DOMAIN, DefaultEndpoint: 'enabled' },
  'domain+zone': { ...DOMAIN, HostedZoneId: 'Z0123456789ABC' },
};

const DOMAIN_RESOURCES = ['ApiDomainName', 'ApiMapping'];

function routes(instance: TemplateInstance) {
  return Object.entries(instance.resources)
    .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route')
    .map(([id, r]) => ({ id, key: String(r.Properties.RouteKey), props: r.Properties }));
}

/** Every ANY route behind the authorizer when JWT is on; OPTIONS routes only with JWT+CORS. */
function checkAuthorization(
  name: string,
  params: Record<string, string>,
  instance: TemplateInstance,
  workspace: AddonWorkspace,
): Problems {
  const jwt = 'JwtIssuer' in params;
  const problems: Problems = [];
  for (const route of routes(instance)) {
    const authorized =
      route.props.AuthorizationType === 'JWT' &&
      isDeepStrictEqual(route.props.AuthorizerId, { unresolved: 'Ref JwtAuthorizer' });
    const open = route.props.AuthorizationType === 'NONE' && route.props.AuthorizerId === undefined;
    const preflight = route.key.startsWith('OPTIONS ');
    if (preflight && !open) {
      problems.push(
        `${name}: ${route.id} (${route.key}) needs no authorizer: preflights carry no token`,
      );
    } else if (!preflight && jwt && !authorized) {
      problems.push(`${name}: ${route.id} (${route.key}) is not behind the JWT authorizer`);
    } else if (!preflight && !jwt && !open) {
      problems.push(`${name}: ${route.id} (${route.key}) has an authorizer with JWT off`);
    }
  }
  const preflightKeys = routes(instance)
    .filter((r) => r.key.startsWith('OPTIONS '))
    .map((r) => r.key)
    .sort();
  const expected =
    jwt && 'CorsAllowOrigins' in params
      ? workspace.services
          .flatMap((s) => [`OPTIONS ${s.pathPrefix}`, `OPTIONS ${s.pathPrefix}/{proxy+}`])
          .sort()
      : [];
  if (!isDeepStrictEqual(preflightKeys, expected)) {
    problems.push(
      `${name}: OPTIONS routes ${JSON.stringify(preflightKeys)}, expected ${JSON.stringify(expected)}`,
    );
  }
  return problems;
}

/** The domain, its mapping to $default and its alias exist only when asked for, as specified. */
function checkDomain(
  name: string,
  params: Record<string, string>,
  instance: TemplateInstance,
): Problems {
  const { resources } = instance;
  const problems: Problems = [];
  const hasDomain = 'DomainName' in params;
  for (const id of DOMAIN_RESOURCES) {
    if (hasDomain !== id in resources)
      problems.push(`${name}: ${id} ${hasDomain ? 'missing' : 'created without a DomainName'}`);
  }
  if ('HostedZoneId' in params !== 'DomainAliasRecord' in resources) {
    problems.push(
      `${name}: DomainAliasRecord ${'HostedZoneId' in params ? 'missing' : 'created without a HostedZoneId'}`,
    );
  }
  const disabled = hasDomain && params.DefaultEndpoint !== 'enabled';
  // CloudFormation's default is false: the execute-api endpoint stays on.
  if ((resources.HttpApi?.Properties.DisableExecuteApiEndpoint ?? false) !== disabled) {
    problems.push(`${name}: HttpApi.DisableExecuteApiEndpoint should be ${disabled}`);
  }
  if (hasDomain !== instance.outputs.includes('DomainTarget')) {
    problems.push(`${name}: output DomainTarget ${hasDomain ? 'missing' : 'without a domain'}`);
  }
  return [...problems, ...checkDomainShape(name, params, instance)];
}

function checkDomainShape(
  name: string,
  params: Record<string, string>,
  { resources }: TemplateInstance,
): Problems {
  const expect = (id: string, actual: unknown, wanted: unknown) =>
    isDeepStrictEqual(actual, wanted)
      ? []
      : [`${name}: ${id} is ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`];
  // Only where the scenario asks for them: a stray one is reported by checkDomain.
  const domain = 'DomainName' in params ? resources.ApiDomainName?.Properties : undefined;
  const mapping = 'DomainName' in params ? resources.ApiMapping?.Properties : undefined;
  const alias = 'HostedZoneId' in params ? resources.DomainAliasRecord?.Properties : undefined;
  return [
    ...(domain
      ? expect('ApiDomainName', domain, {
          DomainName: params.DomainName,
          DomainNameConfigurations: [
            {
              CertificateArn: params.CertificateArn,
              EndpointType: 'REGIONAL',
              SecurityPolicy: 'TLS_1_2',
            },
          ],
        })
      : []),
    ...(mapping
      ? expect('ApiMapping', mapping, {
          ApiId: { unresolved: 'Ref HttpApi' },
          DomainName: { unresolved: 'Ref ApiDomainName' },
          Stage: { unresolved: 'Ref DefaultStage' },
        })
      : []),
    ...(alias
      ? expect('DomainAliasRecord', alias, {
          HostedZoneId: params.HostedZoneId,
          Name: params.DomainName,
          Type: 'A',
          AliasTarget: {
            DNSName: { unresolved: 'Fn::GetAtt ApiDomainName.RegionalDomainName' },
            HostedZoneId: { unresolved: 'Fn::GetAtt ApiDomainName.RegionalHostedZoneId' },
            EvaluateTargetHealth: false,
          },
        })
      : []),
  ];
}

/** Every option in every scenario; empty means each option does what the README says. */
export function checkOptions(template: CfnTemplate, workspace: AddonWorkspace): Problems {
  return Object.entries(SCENARIOS).flatMap(([name, params]) => {
    const instance = instantiate(template, { App: 'bookstore', Env: 'test', ...params });
    return [
      ...checkAuthorization(name, params, instance, workspace),
      ...checkDomain(name, params, instance),
    ];
  });
}

/** Parameter sets CloudFormation must refuse before creating anything, and why. */
export const REFUSED: [string, Record<string, string>, string][] = [
  [
    'a domain without a certificate',
    { DomainName: DOMAIN.DomainName },
    'CertificateArn is required',
  ],
  [
    'a hosted zone without a domain',
    { HostedZoneId: 'Z0123456789ABC' },
    'HostedZoneId is used only with DomainName',
  ],
  [
    'the endpoint disabled without a domain',
    { DefaultEndpoint: 'disabled' },
    'nothing can reach the API',
  ],
  ['a JWT issuer without an audience', { JwtIssuer: JWT.JwtIssuer }, 'JwtAudience must list'],
];

/** Each refused set is refused for its reason; each scenario passes every rule. */
export function checkRules(template: CfnTemplate): Problems {
  const base = { App: 'bookstore', Env: 'test' };
  const refusals = REFUSED.flatMap(([name, params, reason]) => {
    const { violations } = instantiate(template, { ...base, ...params });
    return violations.some((v) => v.includes(reason)) ? [] : [`${name}: not refused (${reason})`];
  });
  const wrongful = Object.entries(SCENARIOS).flatMap(([name, params]) =>
    instantiate(template, { ...base, ...params }).violations.map((v) => `${name}: refused: ${v}`),
  );
  return [...refusals, ...wrongful];
}
