// addons/http-api.yml cannot be deployed from here, so its properties are proven on the parsed
// template: each check passes on the real file and fails on a mutant that breaks it.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWorkspace, repoRoot } from '../../scripts/workspace/manifests.ts';
import { type CfnTemplate, loadTemplate } from '../../scripts/workspace/template.ts';
import {
  checkAccessLogFormat,
  checkImports,
  checkIntegration,
  checkOutputs,
  checkParameters,
  checkRoutes,
  checkSecurityGroups,
  checkStage,
  checkTemplate,
  checkVpcLink,
  importedValues,
  serviceRouteKeys,
} from './checks.ts';

const template = loadTemplate();
const workspace = loadWorkspace();

function props(t: CfnTemplate, id: string): Record<string, unknown> {
  const found = t.Resources[id];
  if (!found?.Properties) throw new Error(`${id} has no Properties`);
  return found.Properties;
}

function stageProps(t: CfnTemplate, key: 'AccessLogSettings' | 'DefaultRouteSettings') {
  return props(t, 'DefaultStage')[key] as Record<string, unknown>;
}

function mutant(change: (t: CfnTemplate) => void): CfnTemplate {
  const copy = structuredClone(template);
  change(copy);
  return copy;
}

const subImport = (name: string) => ({
  'Fn::ImportValue': { 'Fn::Sub': `\${App}-\${Env}-${name}` },
});

describe('addons/http-api.yml', () => {
  it('has every property issue 4 requires', () => {
    expect(checkTemplate(template, workspace)).toEqual([]);
  });

  it('states its parameters with defaults, App and Env aside', () => {
    expect(checkParameters(template)).toEqual([]);
  });

  it('proxies ANY method over the VPC link to the internal HTTP listener, Host overwritten', () => {
    expect(checkIntegration(template)).toEqual([]);
    expect(props(template, 'AlbIntegration')).toMatchObject({
      IntegrationType: 'HTTP_PROXY',
      ConnectionType: 'VPC_LINK',
      PayloadFormatVersion: '1.0',
      RequestParameters: { 'overwrite:header.host': subImport('InternalLoadBalancerDNS') },
    });
  });

  it("places the VPC link in the environment's private subnets", () => {
    expect(checkVpcLink(template)).toEqual([]);
  });

  it('lets the VPC link reach only the ALB listener, and the ALB admit only the VPC link', () => {
    expect(checkSecurityGroups(template)).toEqual([]);
  });

  it('serves the $default stage, auto-deployed, throttled, with JSON access logs', () => {
    expect(checkStage(template)).toEqual([]);
  });

  it("routes exactly the manifests' http.path prefixes", () => {
    expect(checkRoutes(template, workspace)).toEqual([]);
    const keys = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map((r) => r.Properties?.RouteKey)
      .sort();
    expect(keys).toEqual(workspace.services.flatMap((s) => serviceRouteKeys(s.pathPrefix)).sort());
  });

  it("imports only names Copilot's environment stack exports", () => {
    expect(checkImports(template, workspace)).toEqual([]);
    // Guards against a vacuous pass: the addon does depend on the environment's exports.
    expect(importedValues(template).length).toBeGreaterThanOrEqual(5);
  });

  it('exports the endpoint, API id, VPC link id and one URL per service', () => {
    expect(checkOutputs(template, workspace)).toEqual([]);
  });
});

describe('the access-log format check', () => {
  it('accepts the template format', () => {
    expect(checkAccessLogFormat(stageProps(template, 'AccessLogSettings').Format)).toEqual([]);
  });

  it('rejects a format that is not JSON', () => {
    expect(checkAccessLogFormat('$context.requestId $context.status')).toEqual([
      expect.stringContaining('not JSON'),
    ]);
  });

  it('rejects a multi-line format', () => {
    expect(checkAccessLogFormat('{"requestId":"$context.requestId",\n"x":"y"}')).toEqual([
      expect.stringContaining('single-line'),
    ]);
  });
});

// Each mutation breaks one property; the checks must report exactly the expected problems.
const mutations: [string, (t: CfnTemplate) => void, string[]][] = [
  [
    'integration type',
    (t) => {
      props(t, 'AlbIntegration').IntegrationType = 'HTTP';
    },
    ['AlbIntegration.IntegrationType: expected "HTTP_PROXY"'],
  ],
  [
    'connection type',
    (t) => {
      props(t, 'AlbIntegration').ConnectionType = 'INTERNET';
    },
    ['AlbIntegration.ConnectionType: expected "VPC_LINK"'],
  ],
  [
    'the load balancer ARN instead of the listener ARN',
    (t) => {
      props(t, 'AlbIntegration').IntegrationUri = subImport('InternalLoadBalancerArn');
    },
    [
      'AlbIntegration.IntegrationUri: expected',
      'Fn::ImportValue bookstore-test-InternalLoadBalancerArn: not an export',
    ],
  ],
  [
    'payload format version',
    (t) => {
      props(t, 'AlbIntegration').PayloadFormatVersion = '2.0';
    },
    ['AlbIntegration.PayloadFormatVersion: expected "1.0"'],
  ],
  [
    'the Host overwrite removed',
    (t) => {
      delete props(t, 'AlbIntegration').RequestParameters;
    },
    ["AlbIntegration.RequestParameters['overwrite:header.host']: expected"],
  ],
  [
    'an implicit integration timeout',
    (t) => {
      delete props(t, 'AlbIntegration').TimeoutInMillis;
    },
    ['AlbIntegration.TimeoutInMillis: expected {"Ref":"IntegrationTimeoutMillis"}'],
  ],
  [
    'a timeout above the HTTP API limit',
    (t) => {
      const timeout = t.Parameters?.IntegrationTimeoutMillis;
      if (timeout) timeout.MaxValue = 60000;
    },
    ['Parameters.IntegrationTimeoutMillis: MaxValue must be at most 30000'],
  ],
  [
    'a named stage',
    (t) => {
      props(t, 'DefaultStage').StageName = 'prod';
    },
    ['DefaultStage.StageName: expected "$default"'],
  ],
  [
    'auto-deploy off',
    (t) => {
      props(t, 'DefaultStage').AutoDeploy = false;
    },
    ['DefaultStage.AutoDeploy: expected true'],
  ],
  [
    'an access-log field dropped',
    (t) => {
      const logs = stageProps(t, 'AccessLogSettings');
      logs.Format = String(logs.Format).replace('$context.integrationErrorMessage', '-');
    },
    ['DefaultStage.AccessLogSettings.Format: missing $context.integrationErrorMessage'],
  ],
  [
    'access logs off',
    (t) => {
      delete props(t, 'DefaultStage').AccessLogSettings;
    },
    [
      "DefaultStage.AccessLogSettings.DestinationArn: expected a log group's Arn",
      'DefaultStage.AccessLogSettings.Format: expected a single-line string',
    ],
  ],
  [
    'throttling hard-coded instead of the parameter',
    (t) => {
      stageProps(t, 'DefaultRouteSettings').ThrottlingRateLimit = 10000;
    },
    [
      'DefaultStage.DefaultRouteSettings.ThrottlingRateLimit: expected {"Ref":"ThrottlingRateLimit"}',
    ],
  ],
  [
    'the ALB opened to the VPC CIDR instead of the VPC link',
    (t) => {
      const ingress = props(t, 'AlbIngressFromVpcLink');
      delete ingress.SourceSecurityGroupId;
      ingress.CidrIp = '10.0.0.0/16';
    },
    [
      'AlbIngressFromVpcLink.SourceSecurityGroupId: expected',
      'AlbIngressFromVpcLink: must not set CidrIp',
    ],
  ],
  [
    'a second ingress rule on the ALB',
    (t) => {
      t.Resources.AlbIngressFromAnywhere = structuredClone(
        t.Resources.AlbIngressFromVpcLink,
      ) as never;
    },
    ['AlbIngressFromAnywhere: an ingress rule beyond AlbIngressFromVpcLink'],
  ],
  [
    'VPC link egress to anywhere',
    (t) => {
      const [rule] = props(t, 'VpcLinkSecurityGroup').SecurityGroupEgress as Record<
        string,
        unknown
      >[];
      if (rule) rule.CidrIp = '0.0.0.0/0';
    },
    ['VpcLinkSecurityGroup.SecurityGroupEgress[0]: must not set CidrIp'],
  ],
  [
    'VPC link egress on another port',
    (t) => {
      const [rule] = props(t, 'VpcLinkSecurityGroup').SecurityGroupEgress as Record<
        string,
        unknown
      >[];
      if (rule) rule.ToPort = 443;
    },
    ['VpcLinkSecurityGroup.SecurityGroupEgress[0].ToPort: expected 80'],
  ],
  [
    'the VPC link in the public subnets',
    (t) => {
      props(t, 'VpcLink').SubnetIds = { 'Fn::Split': [',', subImport('PublicSubnets')] };
    },
    ['VpcLink.SubnetIds: expected'],
  ],
  [
    'a route removed',
    (t) => {
      delete t.Resources.BookServiceProxyRoute;
    },
    ['book-service: no route "ANY /api/books/{proxy+}"'],
  ],
  [
    'a stray route',
    (t) => {
      const route = structuredClone(t.Resources.BookServiceRoute);
      if (route?.Properties) route.Properties.RouteKey = 'ANY /api/publishers';
      if (route) t.Resources.PublisherServiceRoute = route;
    },
    ['PublisherServiceRoute: route "ANY /api/publishers" belongs to no service'],
  ],
  [
    'a catch-all route that would send unknown paths to the ALB (503) instead of a 404',
    (t) => {
      const route = structuredClone(t.Resources.BookServiceRoute);
      if (route?.Properties) route.Properties.RouteKey = '$default';
      if (route) t.Resources.CatchAllRoute = route;
    },
    ['CatchAllRoute: route "$default" belongs to no service'],
  ],
  [
    'a route that skips the JWT authorizer when it is on',
    (t) => {
      props(t, 'AuthorServiceRoute').AuthorizationType = 'NONE';
    },
    [
      'AuthorServiceRoute.AuthorizationType: expected',
      'jwt: AuthorServiceRoute (ANY /api/authors) is not behind the JWT authorizer',
      'jwt+cors: AuthorServiceRoute (ANY /api/authors) is not behind the JWT authorizer',
    ],
  ],
  [
    'a preflight route deployed whatever the options',
    (t) => {
      const route = t.Resources.BookServicePreflightRoute;
      if (route) delete route.Condition;
    },
    [
      'defaults: OPTIONS routes ["OPTIONS /api/books"], expected []',
      'jwt: OPTIONS routes ["OPTIONS /api/books"], expected []',
      'cors: OPTIONS routes ["OPTIONS /api/books"], expected []',
      'domain: OPTIONS routes ["OPTIONS /api/books"], expected []',
      'domain, endpoint kept: OPTIONS routes ["OPTIONS /api/books"], expected []',
      'domain+zone: OPTIONS routes ["OPTIONS /api/books"], expected []',
    ],
  ],
  [
    'preflight routes for JWT alone (CORS off)',
    (t) => {
      for (const id of ['BookServicePreflightRoute', 'BookServicePreflightProxyRoute']) {
        const route = t.Resources[id];
        if (route) route.Condition = 'HasJwtAuthorizer';
      }
    },
    ['jwt: OPTIONS routes ["OPTIONS /api/books","OPTIONS /api/books/{proxy+}"], expected []'],
  ],
  [
    'a preflight route behind the authorizer',
    (t) => {
      props(t, 'AuthorServicePreflightProxyRoute').AuthorizationType = {
        'Fn::If': ['HasJwtAuthorizer', 'JWT', 'NONE'],
      };
      props(t, 'AuthorServicePreflightProxyRoute').AuthorizerId = { Ref: 'JwtAuthorizer' };
    },
    [
      'AuthorServicePreflightProxyRoute.AuthorizationType: expected "NONE"',
      'jwt+cors: AuthorServicePreflightProxyRoute (OPTIONS /api/authors/{proxy+}) needs no authorizer',
    ],
  ],
  [
    'an unauthenticated ANY route disguised as a preflight route',
    (t) => {
      props(t, 'BookServicePreflightProxyRoute').RouteKey = 'ANY /api/books/{proxy+}';
    },
    [
      'BookServicePreflightProxyRoute.AuthorizationType: expected {"Fn::If"',
      'duplicate route "ANY /api/books/{proxy+}"',
      'duplicate route "ANY /api/books/{proxy+}"',
      'book-service: no route "OPTIONS /api/books/{proxy+}"',
      'jwt+cors: BookServicePreflightProxyRoute (ANY /api/books/{proxy+}) is not behind the JWT authorizer',
      'jwt+cors: OPTIONS routes ["OPTIONS /api/authors","OPTIONS /api/authors/{proxy+}","OPTIONS /api/books"]',
    ],
  ],
  [
    'the custom domain created without a DomainName',
    (t) => {
      const domain = t.Resources.ApiDomainName;
      if (domain) delete domain.Condition;
    },
    [
      'defaults: ApiDomainName created without a DomainName',
      'jwt: ApiDomainName created without a DomainName',
      'cors: ApiDomainName created without a DomainName',
      'jwt+cors: ApiDomainName created without a DomainName',
    ],
  ],
  [
    'the alias record created for any domain',
    (t) => {
      const alias = t.Resources.DomainAliasRecord;
      if (alias) alias.Condition = 'HasDomain';
    },
    [
      'domain: DomainAliasRecord created without a HostedZoneId',
      'domain, endpoint kept: DomainAliasRecord created without a HostedZoneId',
    ],
  ],
  [
    'the certificate rule dropped',
    (t) => {
      delete (t.Rules as Record<string, unknown>).CertificateWithDomain;
    },
    ['a domain without a certificate: not refused (CertificateArn is required)'],
  ],
  [
    'a rule that refuses a valid option',
    (t) => {
      const rules = t.Rules as Record<string, { RuleCondition: unknown }>;
      if (rules.DomainForHostedZone)
        rules.DomainForHostedZone.RuleCondition = { 'Fn::Equals': ['a', 'a'] };
    },
    [
      'defaults: refused: HostedZoneId is used only with DomainName',
      'jwt: refused: HostedZoneId is used only with DomainName',
      'cors: refused: HostedZoneId is used only with DomainName',
      'jwt+cors: refused: HostedZoneId is used only with DomainName',
    ],
  ],
  [
    'an old TLS policy on the domain',
    (t) => {
      const [config] = props(t, 'ApiDomainName').DomainNameConfigurations as Record<
        string,
        unknown
      >[];
      if (config) config.SecurityPolicy = 'TLS_1_0';
    },
    [
      'domain: ApiDomainName is',
      'domain, endpoint kept: ApiDomainName is',
      'domain+zone: ApiDomainName is',
    ],
  ],
  [
    'the domain mapped to a named stage',
    (t) => {
      props(t, 'ApiMapping').Stage = 'prod';
    },
    ['domain: ApiMapping is', 'domain, endpoint kept: ApiMapping is', 'domain+zone: ApiMapping is'],
  ],
  [
    'the execute-api endpoint left on behind a domain',
    (t) => {
      delete props(t, 'HttpApi').DisableExecuteApiEndpoint;
    },
    [
      'domain: HttpApi.DisableExecuteApiEndpoint should be true',
      'domain+zone: HttpApi.DisableExecuteApiEndpoint should be true',
    ],
  ],
  [
    'the execute-api endpoint always off',
    (t) => {
      props(t, 'HttpApi').DisableExecuteApiEndpoint = true;
    },
    [
      'defaults: HttpApi.DisableExecuteApiEndpoint should be false',
      'jwt: HttpApi.DisableExecuteApiEndpoint should be false',
      'cors: HttpApi.DisableExecuteApiEndpoint should be false',
      'jwt+cors: HttpApi.DisableExecuteApiEndpoint should be false',
      'domain, endpoint kept: HttpApi.DisableExecuteApiEndpoint should be false',
    ],
  ],
  [
    'an import Copilot does not export',
    (t) => {
      props(t, 'VpcLinkSecurityGroup').VpcId = subImport('Vpc');
    },
    ['VpcLinkSecurityGroup.VpcId: expected', 'Fn::ImportValue bookstore-test-Vpc: not an export'],
  ],
  [
    'an output no longer exported',
    (t) => {
      const output = t.Outputs?.VpcLinkId;
      if (output) delete output.Export;
    },
    ['Outputs.VpcLinkId.Export.Name: expected'],
  ],
];

describe('the template checks catch a mutation of', () => {
  it.each(mutations)('%s', (_name, change, expected) => {
    const problems = checkTemplate(mutant(change), workspace);
    expect(problems).toEqual(expected.map((text) => expect.stringContaining(text)));
  });
});

describe('route/manifest agreement with another workspace', () => {
  const fixtureRoot = path.join(repoRoot, 'test', 'fixtures', 'addon', 'extra-service');

  it('reports the service without routes and the routes without a service', () => {
    const other = loadWorkspace(fixtureRoot);
    expect(checkRoutes(template, other).sort()).toEqual([
      'AuthorServicePreflightProxyRoute: route "OPTIONS /api/authors/{proxy+}" belongs to no service in copilot/ (a stray route)',
      'AuthorServicePreflightRoute: route "OPTIONS /api/authors" belongs to no service in copilot/ (a stray route)',
      'AuthorServiceProxyRoute: route "ANY /api/authors/{proxy+}" belongs to no service in copilot/ (a stray route)',
      'AuthorServiceRoute: route "ANY /api/authors" belongs to no service in copilot/ (a stray route)',
      'publisher-service: no route "ANY /api/publishers" for its http.path',
      'publisher-service: no route "ANY /api/publishers/{proxy+}" for its http.path',
      'publisher-service: no route "OPTIONS /api/publishers" for its http.path',
      'publisher-service: no route "OPTIONS /api/publishers/{proxy+}" for its http.path',
    ]);
    expect(checkOutputs(template, other)).toEqual([
      'Outputs.PublisherServiceUrl: missing',
      'Outputs.AuthorServiceUrl: a URL for no service in copilot/',
    ]);
  });
});
