// The workspace's CloudFormation evaluator (scripts/workspace/http-api-settings.ts): parameters
// and their constraints as CloudFormation checks them before it creates anything (walked from
// both sides: every allowed value, and the near misses a person would type: another case, a
// number written differently, a prefix or suffix of a pattern's match, an empty value), the
// intrinsic functions and conditions the addon uses, Rules, and what the local API reads from a
// template: routes in API Gateway's order, the JWT authorizer, the integration's mappings.
import { describe, expect, it } from 'vitest';
import {
  constraintViolations,
  httpApiSettingsOf,
  instantiate,
  matchRoute,
  readHttpApiSettings,
  TemplateSettingsError,
} from '../../scripts/workspace/http-api-settings.ts';
import { type CfnTemplate, loadTemplate } from '../../scripts/workspace/template.ts';

// Read in each test, never when the file loads: code run outside any test is "static" to
// Stryker, which then runs every test for each of its mutants (vitest.mutate.config.ts).
const template = (): CfnTemplate => loadTemplate();

/** A resource's properties, to change them in a copy of the template. */
function props(t: CfnTemplate, id: string): Record<string, unknown> {
  const found = t.Resources[id]?.Properties;
  if (found === undefined) throw new Error(`${id} has no Properties`);
  return found;
}
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
];

/** The parameter overrides the deploy would send, refused or not. */
const refused = (overrides: Record<string, string | number>) =>
  constraintViolations(template(), overrides);

describe('AllowedValues', () => {
  it('takes every value of a numeric list, written as the deploy passes it (a string)', () => {
    expect(template().Parameters?.AccessLogRetentionDays?.AllowedValues).toEqual(RETENTION_DAYS);
    for (const days of RETENTION_DAYS) {
      expect({ days, refused: refused({ AccessLogRetentionDays: String(days) }) }).toEqual({
        days,
        refused: [],
      });
      expect(refused({ AccessLogRetentionDays: days })).toEqual([]);
    }
  });

  it('refuses a number off the list, or the same number written otherwise', () => {
    for (const days of [
      '364',
      '366',
      '0',
      '-365',
      '3650',
      '365.0',
      '0365',
      '+365',
      '365 ',
      '',
      'x',
    ]) {
      expect({ days, refused: refused({ AccessLogRetentionDays: days }) }).toEqual({
        days,
        refused: [
          `parameter AccessLogRetentionDays: "${days}" is not one of ${RETENTION_DAYS.join(', ')}`,
        ],
      });
    }
  });

  it('compares strings exactly: another case or a prefix is another value', () => {
    for (const value of ['auto', 'enabled', 'disabled']) {
      expect(refused({ DefaultEndpoint: value })).toEqual([]);
    }
    for (const value of ['Auto', 'AUTO', 'enable', 'disabled ', 'autoo', '']) {
      expect(refused({ DefaultEndpoint: value })).toEqual([
        `parameter DefaultEndpoint: "${value}" is not one of auto, enabled, disabled`,
      ]);
    }
  });
});

describe('AllowedPattern', () => {
  it('must match the whole value, and says so in the ConstraintDescription', () => {
    expect(refused({ JwtIssuer: 'https://issuer.example.com' })).toEqual([]);
    expect(refused({ JwtIssuer: '' })).toEqual([]);
    for (const issuer of [
      'http://issuer.example.com',
      ' https://x',
      'xhttps://x',
      'https://',
      'HTTPS://x',
    ]) {
      expect(refused({ JwtIssuer: issuer })).toEqual([
        `parameter JwtIssuer: "${issuer}" is not an https:// issuer URL, or empty for public routes`,
      ]);
    }
  });

  it('anchors a pattern that is not anchored itself', () => {
    const t: CfnTemplate = {
      Resources: {},
      Parameters: { Name: { Type: 'String', AllowedPattern: '[a-z]+' } },
    };
    expect(constraintViolations(t, { Name: 'abc' })).toEqual([]);
    expect(constraintViolations(t, { Name: 'abc1' })).toEqual([
      'parameter Name: "abc1" does not match [a-z]+',
    ]);
    expect(constraintViolations(t, { Name: '1abc' })).toHaveLength(1);
    // An alternation is anchored as a whole.
    const either: CfnTemplate = {
      Resources: {},
      Parameters: { Name: { Type: 'String', AllowedPattern: 'a|b' } },
    };
    expect(constraintViolations(either, { Name: 'ab' })).toHaveLength(1);
    expect(constraintViolations(either, { Name: 'b' })).toEqual([]);
  });

  it('checks each value of a CommaDelimitedList, trimmed as CloudFormation splits it', () => {
    const t: CfnTemplate = {
      Resources: {},
      Parameters: {
        Zones: {
          Type: 'CommaDelimitedList',
          AllowedPattern: '[a-z]+-\\d',
          AllowedValues: undefined,
        },
        Sizes: { Type: 'CommaDelimitedList', AllowedValues: ['s', 'm'] },
      },
    };
    expect(constraintViolations(t, { Zones: 'eu-1, us-2' })).toEqual([]);
    expect(constraintViolations(t, { Zones: 'eu-1,US-2,x' })).toEqual([
      'parameter Zones: "US-2" does not match [a-z]+-\\d',
      'parameter Zones: "x" does not match [a-z]+-\\d',
    ]);
    expect(constraintViolations(t, { Sizes: 's,m' })).toEqual([]);
    expect(constraintViolations(t, { Sizes: 's,l' })).toEqual([
      'parameter Sizes: "l" is not one of s, m',
    ]);
  });

  it('leaves parameters the template does not declare to the name check', () => {
    expect(refused({ Nope: 'x' })).toEqual([]);
    expect(
      refused({ CertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/ab-12' }),
    ).toEqual([]);
    expect(refused({ HostedZoneId: 'z123' })).toEqual([
      'parameter HostedZoneId: "z123" is not a Route 53 hosted zone id (Z...), or empty',
    ]);
  });
});

describe('a Number parameter', () => {
  const settings = (value: string | number) =>
    readHttpApiSettings({ parameters: { IntegrationTimeoutMillis: value } }).integrationTimeoutMs;

  it('takes an integer or a float in decimal, within MinValue and MaxValue inclusive', () => {
    expect(settings('50')).toBe(50);
    expect(settings('30000')).toBe(30_000);
    expect(settings(1_000)).toBe(1_000);
    expect(settings('1.5e3')).toBe(1_500);
    expect(settings('+100')).toBe(100);
    expect(settings('100.')).toBe(100);
  });

  it('refuses one below or above the range, naming it', () => {
    expect(() => settings('49')).toThrow(
      "parameter IntegrationTimeoutMillis: 49 is outside the template's range 50..30000",
    );
    expect(() => settings('30001')).toThrow(/30001 is outside the template's range 50\.\.30000/);
    const t: CfnTemplate = {
      Resources: {},
      Parameters: {
        N: { Type: 'Number', Default: 5, MaxValue: 10 },
        M: { Type: 'Number', MinValue: 1 },
      },
    };
    expect(() => instantiate(t, { N: '11' })).toThrow(
      "N: 11 is outside the template's range -inf..10",
    );
    expect(() => instantiate(t, { M: '0' })).toThrow("M: 0 is outside the template's range 1..inf");
  });

  it('refuses what is not a number, however JavaScript would read it', () => {
    for (const value of [
      '',
      ' ',
      ' 100',
      '100 ',
      '0x64',
      '1_000',
      'Infinity',
      '1e',
      'abc',
      '1,000',
      '--1',
    ]) {
      expect(() => settings(value)).toThrow(
        new TemplateSettingsError(`parameter IntegrationTimeoutMillis: "${value}" is not a number`),
      );
    }
  });
});

describe('parameters', () => {
  it('take their defaults, and refuse an override the template does not declare', () => {
    expect(readHttpApiSettings().parameters).toMatchObject({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
      IntegrationTimeoutMillis: 30_000,
      JwtAudience: [''],
      DefaultEndpoint: 'auto',
    });
    expect(() => readHttpApiSettings({ parameters: { Throttling: 1 } })).toThrow(
      /parameter override Throttling: the template declares no such parameter \(it has App, Env, /,
    );
  });

  it('need a value when they have no default, but only when a value is used', () => {
    const t: CfnTemplate = {
      Parameters: { Name: { Type: 'String' } },
      Resources: { A: { Type: 'X', Properties: { N: { Ref: 'Name' } } } },
    };
    expect(instantiate(t, { Name: 'n' }).resources.A?.Properties).toEqual({ N: 'n' });
    // Without one, the Ref is left for a deployment to resolve.
    expect(instantiate(t).resources.A?.Properties).toEqual({ N: { unresolved: 'Ref Name' } });
  });

  it('split a CommaDelimitedList on commas, trimmed; an empty one is one empty string', () => {
    const origins = (value: string) =>
      readHttpApiSettings({ parameters: { CorsAllowOrigins: value } }).cors?.AllowOrigins;
    expect(origins('https://a.example, https://b.example')).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
    expect(origins('')).toBeUndefined();
    expect(readHttpApiSettings({ parameters: { CorsAllowOrigins: '' } }).cors).toBeNull();
  });
});

describe('the intrinsic functions and conditions', () => {
  const evaluate = (value: unknown, parameters: CfnTemplate['Parameters'] = {}, overrides = {}) =>
    instantiate(
      { Parameters: parameters, Resources: { R: { Type: 'T', Properties: { V: value } } } },
      overrides,
    ).resources.R?.Properties.V;
  const p = {
    A: { Type: 'String', Default: 'a' },
    L: { Type: 'CommaDelimitedList', Default: 'x,y' },
  };

  it('resolve Ref, Fn::Sub, Fn::Join, Fn::Equals, Fn::Not, Fn::And, Fn::Or and Fn::If', () => {
    expect(evaluate({ Ref: 'A' }, p)).toBe('a');
    expect(evaluate({ 'Fn::Sub': 'x-${A}-${A}' }, p)).toBe('x-a-a');
    expect(evaluate({ 'Fn::Join': ['+', { Ref: 'L' }] }, p)).toBe('x+y');
    expect(evaluate({ 'Fn::Join': ['', ['a', { Ref: 'A' }]] }, p)).toBe('aa');
    expect(evaluate({ 'Fn::Equals': [{ Ref: 'A' }, 'a'] }, p)).toBe(true);
    expect(evaluate({ 'Fn::Equals': [1, '1'] }, p)).toBe(true);
    expect(evaluate({ 'Fn::Equals': ['a', 'A'] }, p)).toBe(false);
    expect(evaluate({ 'Fn::Not': [true] })).toBe(false);
    expect(evaluate({ 'Fn::Not': ['false'] })).toBe(true);
    expect(evaluate({ 'Fn::And': [true, 'true'] })).toBe(true);
    expect(evaluate({ 'Fn::And': [true, false] })).toBe(false);
    expect(evaluate({ 'Fn::Or': [false, 'true'] })).toBe(true);
    expect(evaluate({ 'Fn::Or': [false, 'yes'] })).toBe(false);
    expect(evaluate({ 'Fn::Contains': [{ Ref: 'L' }, 'y'] }, p)).toBe(true);
    expect(evaluate({ 'Fn::Contains': [{ Ref: 'L' }, 'z'] }, p)).toBe(false);
  });

  it('leave what only a deployment knows unresolved, naming it', () => {
    expect(evaluate({ 'Fn::ImportValue': { 'Fn::Sub': '${A}-Vpc' } }, p)).toEqual({
      unresolved: 'Fn::ImportValue "a-Vpc"',
    });
    expect(evaluate({ 'Fn::GetAtt': ['Group', 'Arn'] })).toEqual({
      unresolved: 'Fn::GetAtt Group.Arn',
    });
    expect(evaluate({ Ref: 'AWS::Region' })).toEqual({ unresolved: 'Ref AWS::Region' });
    expect(evaluate({ 'Fn::Sub': '${AWS::Region}-x' })).toEqual({ unresolved: '${AWS::Region}' });
    expect(evaluate({ 'Fn::Sub': '${L}' }, p)).toEqual({ unresolved: '${L}' });
    expect(evaluate({ 'Fn::Sub': ['${X}', { X: 'y' }] })).toEqual({
      unresolved: 'Fn::Sub with a variable map',
    });
    expect(evaluate({ 'Fn::Join': [',', { Ref: 'A' }] }, p)).toEqual({
      unresolved: 'Fn::Join over a non-list',
    });
    expect(evaluate({ 'Fn::Join': [',', [{ Ref: 'B' }]] })).toEqual({ unresolved: 'Ref B' });
    expect(evaluate({ 'Fn::Contains': ['a', 'a'] })).toEqual({
      unresolved: 'Fn::Contains over a non-list',
    });
    expect(evaluate({ 'Fn::Select': [0, ['a']] })).toEqual({ unresolved: 'Fn::Select' });
    expect(evaluate({ 'Fn::Equals': [{ Ref: 'B' }, 'a'] })).toEqual({ unresolved: 'Ref B' });
    expect(evaluate({ 'Fn::Equals': ['a', { Ref: 'C' }] })).toEqual({ unresolved: 'Ref C' });
  });

  it('drop AWS::NoValue from objects and lists, and leave plain values and nested objects as they are', () => {
    const noValue = { Ref: 'AWS::NoValue' };
    expect(evaluate({ a: noValue, b: [1, noValue, { c: noValue }], d: null, e: 'x' })).toEqual({
      b: [1, {}],
      d: null,
      e: 'x',
    });
    expect(evaluate({ Key: { Ref: 'A' } }, p)).toEqual({ Key: 'a' });
  });

  it('evaluate each condition once, and refuse one that is undefined or depends on an import', () => {
    const t: CfnTemplate = {
      Parameters: { A: { Type: 'String', Default: 'on' } },
      Conditions: {
        On: { 'Fn::Equals': [{ Ref: 'A' }, 'on'] },
        Off: { 'Fn::Not': [{ Condition: 'On' }] },
        Imported: { 'Fn::Equals': [{ 'Fn::ImportValue': 'x' }, 'y'] },
      },
      Resources: {
        Always: { Type: 'T' },
        WhenOn: { Type: 'T', Condition: 'On', Properties: { V: { 'Fn::If': ['Off', 1, 2] } } },
        WhenOff: { Type: 'T', Condition: 'Off' },
      },
      Outputs: { O: { Value: 1, Condition: 'Off' }, P: { Value: 2 } },
    };
    const on = instantiate(t);
    expect(Object.keys(on.resources)).toEqual(['Always', 'WhenOn']);
    expect(on.resources.WhenOn?.Properties).toEqual({ V: 2 });
    expect(on.resources.Always?.Properties).toEqual({});
    expect(on.outputs).toEqual(['P']);
    const off = instantiate(t, { A: 'off' });
    expect(Object.keys(off.resources)).toEqual(['Always', 'WhenOff']);
    expect(off.outputs).toEqual(['O', 'P']);
    const broken = structuredClone(t);
    (broken.Resources.Always as { Condition?: string }).Condition = 'Missing';
    expect(() => instantiate(broken)).toThrow(
      new TemplateSettingsError('condition Missing is not defined'),
    );
    (broken.Resources.Always as { Condition?: string }).Condition = 'Imported';
    expect(() => instantiate(broken)).toThrow(
      'a condition depends on Fn::ImportValue "x", unknown locally',
    );
  });
});

describe('Rules', () => {
  const violations = (overrides: Record<string, string>) =>
    instantiate(template(), { App: 'app', Env: 'test', ...overrides }).violations;

  it("refuse what the template's assertions refuse, with their descriptions", () => {
    expect(violations({})).toEqual([]);
    expect(violations({ JwtIssuer: 'https://issuer.example.com' })).toEqual([
      'JwtAudience must list at least one audience when JwtIssuer is set.',
    ]);
    expect(violations({ JwtIssuer: 'https://issuer.example.com', JwtAudience: 'api' })).toEqual([]);
    expect(
      violations({ JwtIssuer: 'https://issuer.example.com', JwtAudience: 'api,' }),
    ).toHaveLength(1);
    expect(violations({ DomainName: 'api.example.com' })).toEqual([
      'CertificateArn is required when DomainName is set.',
    ]);
    expect(violations({ HostedZoneId: 'Z1' })).toEqual([
      'HostedZoneId is used only with DomainName.',
    ]);
    expect(violations({ DefaultEndpoint: 'disabled' })).toEqual([
      'DefaultEndpoint disabled needs a DomainName, or nothing can reach the API.',
    ]);
  });

  it('apply only when their condition holds, and name the rule when an assertion has no description', () => {
    const t: CfnTemplate = {
      Parameters: { A: { Type: 'String', Default: 'x' } },
      Resources: {},
      Rules: {
        Checked: { Assertions: [{ Assert: { 'Fn::Equals': [{ Ref: 'A' }, 'y'] } }] },
        Skipped: {
          RuleCondition: { 'Fn::Equals': [{ Ref: 'A' }, 'z'] },
          Assertions: [{ Assert: false, AssertDescription: 'never' }],
        },
      },
    };
    expect(instantiate(t).violations).toEqual(['rule Checked fails']);
    expect(instantiate(t, { A: 'y' }).violations).toEqual([]);
    expect(instantiate(t, { A: 'z' }).violations).toEqual(['rule Checked fails', 'never']);
  });
});

describe('routes', () => {
  const settings = readHttpApiSettings();
  const route = (method: string, path: string) =>
    matchRoute(settings.routes, method, path)?.routeKey;

  it("take a service's prefix, and paths below it, for any method", () => {
    expect(route('GET', '/api/books')).toBe('ANY /api/books');
    expect(route('DELETE', '/api/books/1')).toBe('ANY /api/books/{proxy+}');
    expect(route('GET', '/api/books/1/2/3')).toBe('ANY /api/books/{proxy+}');
    expect(route('PATCH', '/api/authors/x.json')).toBe('ANY /api/authors/{proxy+}');
  });

  it('take no near miss of a prefix: another case, a suffix, a trailing slash alone', () => {
    for (const path of [
      '/api/booksx',
      '/api/book',
      '/API/BOOKS',
      '/api/Books/1',
      '/api',
      '/',
      '/api/books/',
      '//api/books',
      '/x/api/books',
    ]) {
      expect({ path, route: route('GET', path) }).toEqual({ path, route: undefined });
    }
  });

  it('prefer a full match to a greedy one, the longer greedy prefix, the exact method to ANY', () => {
    const t = structuredClone(template());
    const add = (id: string, routeKey: string) => {
      t.Resources[id] = {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: { RouteKey: routeKey, Target: { 'Fn::Sub': 'integrations/${AlbIntegration}' } },
      };
    };
    add('Exact', 'GET /api/books/{id}');
    add('Paper', 'ANY /api/books/paper/{proxy+}');
    add('Options', 'OPTIONS /api/books/{proxy+}');
    add('Default', '$default');
    const routes = httpApiSettingsOf(t, 'test.yml').routes;
    const pick = (method: string, path: string) => matchRoute(routes, method, path)?.routeKey;
    expect(pick('GET', '/api/books/1')).toBe('GET /api/books/{id}');
    expect(pick('POST', '/api/books/1')).toBe('ANY /api/books/{proxy+}');
    expect(pick('GET', '/api/books/1/2')).toBe('ANY /api/books/{proxy+}');
    expect(pick('GET', '/api/books/paper/1')).toBe('ANY /api/books/paper/{proxy+}');
    expect(pick('OPTIONS', '/api/books/1/2')).toBe('OPTIONS /api/books/{proxy+}');
    expect(pick('GET', '/anything/else')).toBe('$default');
    expect(routes.at(-1)?.routeKey).toBe('$default');
    expect(routes[0]?.routeKey).toBe('ANY /api/authors');
    // A variable takes one whole segment; literal dots are dots.
    const dotted = structuredClone(template());
    dotted.Resources.BookServiceRoute = {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: {
        RouteKey: 'GET /v1.0/{id}',
        Target: { 'Fn::Sub': 'integrations/${AlbIntegration}' },
      },
    };
    const v = httpApiSettingsOf(dotted, 'test.yml').routes;
    expect(matchRoute(v, 'GET', '/v1.0/x')?.routeKey).toBe('GET /v1.0/{id}');
    expect(matchRoute(v, 'GET', '/v1x0/x')).toBeUndefined();
    expect(matchRoute(v, 'GET', '/v1.0/x/y')).toBeUndefined();
    expect(matchRoute(v, 'get', '/v1.0/x')).toBeUndefined();
  });

  it("carry the stage's throttling, or none when the stage sets none", () => {
    const throttled = readHttpApiSettings({
      parameters: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 },
    });
    for (const r of throttled.routes) expect(r.throttling).toEqual({ rateLimit: 7, burstLimit: 9 });
    const t = structuredClone(template());
    const stage = props(t, 'DefaultStage');
    stage.DefaultRouteSettings = undefined;
    stage.RouteSettings = { 'ANY /api/books': { ThrottlingBurstLimit: '3' } };
    const routes = httpApiSettingsOf(t, 'test.yml').routes;
    expect(routes.find((r) => r.routeKey === 'ANY /api/books')?.throttling).toEqual({
      rateLimit: Number.POSITIVE_INFINITY,
      burstLimit: 3,
    });
    expect(routes.find((r) => r.routeKey === 'ANY /api/authors')?.throttling.rateLimit).toBe(
      Number.POSITIVE_INFINITY,
    );
    stage.RouteSettings = { 'ANY /api/books': { ThrottlingBurstLimit: 'x' } };
    expect(() => httpApiSettingsOf(t, 'test.yml')).toThrow(
      'BookServiceRoute (ANY /api/books) throttling: cannot be resolved to a number locally ("x")',
    );
    stage.RouteSettings = {
      'ANY /api/books': { ThrottlingBurstLimit: { 'Fn::ImportValue': 'b' } },
    };
    expect(() => httpApiSettingsOf(t, 'test.yml')).toThrow(
      /cannot be resolved to a number locally \(Fn::ImportValue "b"\)/,
    );
  });

  it('are refused when they target another integration, have no string key, or there are none', () => {
    const other = structuredClone(template());
    props(other, 'BookServiceRoute').Target = 'integrations/abc';
    expect(() => httpApiSettingsOf(other, 't')).toThrow(
      'BookServiceRoute: targets "integrations/abc"; the local API emulates only the ALB integration AlbIntegration',
    );
    const joined = structuredClone(template());
    props(joined, 'BookServiceRoute').Target = {
      'Fn::Join': ['/', ['integrations', { Ref: 'AlbIntegration' }]],
    };
    expect(httpApiSettingsOf(joined, 't').routes).toHaveLength(4);
    const keyless = structuredClone(template());
    props(keyless, 'BookServiceRoute').RouteKey = ['x'];
    expect(() => httpApiSettingsOf(keyless, 't')).toThrow(
      'BookServiceRoute: RouteKey must resolve to a string',
    );
    const none = structuredClone(template());
    for (const [id, r] of Object.entries(none.Resources))
      if (r.Type === 'AWS::ApiGatewayV2::Route') delete none.Resources[id];
    expect(() => httpApiSettingsOf(none, 't')).toThrow('the template defines no route');
  });
});

describe('the JWT authorizer', () => {
  it('is read from the template when JwtIssuer is set: issuer, audiences, identity header', () => {
    const s = readHttpApiSettings({
      parameters: { JwtIssuer: 'https://issuer.example.com', JwtAudience: 'a, ,b' },
    });
    const authorizers = new Set(s.routes.map((r) => JSON.stringify(r.authorizer)));
    expect([...authorizers].map((a) => JSON.parse(a))).toEqual([
      {
        logicalId: 'JwtAuthorizer',
        issuer: 'https://issuer.example.com',
        audience: ['a', 'b'],
        identityHeader: 'authorization',
      },
    ]);
    expect(readHttpApiSettings().routes.every((r) => r.authorizer === null)).toBe(true);
  });

  it('is refused when it is not a JWT authorizer the local API can run', () => {
    const t = structuredClone(template());
    const route = props(t, 'BookServiceRoute');
    route.AuthorizationType = 'AWS_IAM';
    expect(() => httpApiSettingsOf(t, 't')).toThrow(
      'BookServiceRoute: AuthorizationType AWS_IAM; the local stack emulates JWT authorizers only',
    );
    route.AuthorizationType = 'JWT';
    route.AuthorizerId = 'abc';
    expect(() => httpApiSettingsOf(t, 't')).toThrow(
      /BookServiceRoute: AuthorizerId "abc" names no authorizer/,
    );
    route.AuthorizerId = { Ref: 'HttpApi' };
    expect(() => httpApiSettingsOf(t, 't')).toThrow(/names no authorizer/);
    route.AuthorizerId = { Ref: 'JwtAuthorizer' };
    const authorizer = t.Resources.JwtAuthorizer as {
      Condition?: string;
      Properties: Record<string, unknown>;
    };
    delete authorizer.Condition;
    authorizer.Properties.IdentitySource = ['$request.querystring.token'];
    expect(() => httpApiSettingsOf(t, 't', { JwtIssuer: 'https://i.example' })).toThrow(
      'BookServiceRoute: JwtAuthorizer is not a JWT authorizer on a request header with an issuer; the local stack emulates JWT authorizers only',
    );
  });
});

describe("the integration's request parameters", () => {
  const withParameters = (parameters: Record<string, unknown>) => {
    const t = structuredClone(template());
    props(t, 'AlbIntegration').RequestParameters = parameters;
    return httpApiSettingsOf(t, 't');
  };
  const alb = { 'Fn::ImportValue': { 'Fn::Sub': '${App}-${Env}-InternalLoadBalancerDNS' } };

  it("overwrite Host with the ALB's name, kept apart from the other mappings", () => {
    const s = readHttpApiSettings();
    expect(s.hostOverwritten).toBe(true);
    expect(s.headerMappings).toEqual([]);
    expect(withParameters({}).hostOverwritten).toBe(false);
    expect(withParameters({ 'append:header.host': alb }).hostOverwritten).toBe(false);
    expect(withParameters({ 'overwrite:header.Host': 'static.example' }).hostOverwritten).toBe(
      false,
    );
  });

  it('map headers by name, lower case, with a static value, the ALB name, or none', () => {
    const s = withParameters({
      'overwrite:header.X-Env': 'test',
      'append:header.x-alb': alb,
      'remove:header.X-Secret': "''",
      'overwrite:path': '$request.path',
    });
    expect(s.headerMappings).toEqual([
      { action: 'overwrite', header: 'x-env', value: { kind: 'static', text: 'test' } },
      { action: 'append', header: 'x-alb', value: { kind: 'albDnsName' } },
      { action: 'remove', header: 'x-secret', value: { kind: 'none' } },
    ]);
  });

  it('refuse a mapping the local API cannot apply', () => {
    expect(() => withParameters({ 'overwrite:header.x': '$request.header.y' })).toThrow(
      'integration RequestParameters overwrite:header.x: "$request.header.y" is not emulated locally',
    );
    expect(() => withParameters({ 'overwrite:path': '/x' })).toThrow(
      'integration RequestParameters overwrite:path: not emulated locally',
    );
    expect(() => withParameters({ 'append:querystring.a': 'b' })).toThrow(
      /querystring\.a: not emulated/,
    );
    expect(() => withParameters({ 'overwrite:header.x': { 'Fn::ImportValue': 'Other' } })).toThrow(
      /is not emulated locally/,
    );
    expect(() =>
      withParameters({ 'overwrite:header.x': { 'Fn::GetAtt': ['InternalLoadBalancerDNS', 'x'] } }),
    ).toThrow(/is not emulated locally/);
  });
});

describe('the settings of the real template', () => {
  it('have the HTTP API quotas and the integration timeout', () => {
    const s = readHttpApiSettings();
    expect(s.payloadLimitBytes).toBe(10 * 1024 * 1024);
    expect(s.integrationTimeoutMs).toBe(30_000);
    expect(s.stageName).toBe('$default');
    expect(s.cors).toBeNull();
    expect(s.accessLogFormat).toMatch(/^\{"requestId":"\$context\.requestId",/);
    expect(s.templateFile).toBe('addons/http-api.yml');
  });

  it('take the integration timeout default when the template sets none', () => {
    const t = structuredClone(template());
    delete props(t, 'AlbIntegration').TimeoutInMillis;
    expect(httpApiSettingsOf(t, 't').integrationTimeoutMs).toBe(30_000);
  });

  it('read CORS as the template configures it', () => {
    expect(
      readHttpApiSettings({ parameters: { CorsAllowOrigins: 'https://a.example' } }).cors,
    ).toEqual({
      AllowOrigins: ['https://a.example'],
      AllowMethods: ['GET', 'HEAD', 'OPTIONS'],
      AllowHeaders: ['authorization', 'content-type', 'x-request-id'],
      ExposeHeaders: ['x-request-id'],
      MaxAge: 600,
    });
  });

  it('are refused for a template the local API cannot run', () => {
    const two = structuredClone(template());
    two.Resources.Second = structuredClone(template().Resources.AlbIntegration as never);
    expect(() => httpApiSettingsOf(two, 't')).toThrow(
      'expected exactly one VPC_LINK integration (the internal ALB), found 2',
    );
    const none = structuredClone(template());
    delete none.Resources.AlbIntegration;
    expect(() => httpApiSettingsOf(none, 't')).toThrow(/found 0/);
    const http = structuredClone(template());
    props(http, 'AlbIntegration').IntegrationType = 'HTTP';
    expect(() => httpApiSettingsOf(http, 't')).toThrow(
      'AlbIntegration: only HTTP_PROXY is emulated locally',
    );
    const named = structuredClone(template());
    props(named, 'DefaultStage').StageName = 'prod';
    expect(() => httpApiSettingsOf(named, 't')).toThrow(
      'no $default stage: the local API emulates only $default',
    );
    const format = structuredClone(template());
    (
      props(format, 'DefaultStage') as { AccessLogSettings: { Format: unknown } }
    ).AccessLogSettings.Format = {
      'Fn::ImportValue': 'x',
    };
    expect(() => httpApiSettingsOf(format, 't')).toThrow(
      'AccessLogSettings.Format must resolve to a string',
    );
    const unlogged = structuredClone(template());
    delete props(unlogged, 'DefaultStage').AccessLogSettings;
    expect(httpApiSettingsOf(unlogged, 't').accessLogFormat).toBeUndefined();
  });
});
