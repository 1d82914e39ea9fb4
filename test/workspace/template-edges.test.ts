// The workspace's CloudFormation evaluator (scripts/workspace/http-api-settings.ts) at the edges
// of what a template may hold: numbers that are not written as numbers, AWS::NoValue where a
// number goes, route keys and targets that are near misses of the ALB integration's, a route
// whose authorizer is not one the local API can run, resources with parts missing, and the
// template read from another root. Each edit below is one a person could make by hand; the
// local API must then read the template as CloudFormation would, or refuse it with a clear
// TemplateSettingsError naming the part, never a TypeError.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileAccessLogFormat,
  constraintViolations,
  httpApiSettingsOf,
  instantiate,
  matchRoute,
  readHttpApiSettings,
  TemplateSettingsError,
} from '../../scripts/workspace/http-api-settings.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import {
  type CfnResource,
  type CfnTemplate,
  HTTP_API_TEMPLATE,
  loadTemplate,
} from '../../scripts/workspace/template.ts';

// Read in each test, never when the file loads (vitest.mutate.config.ts says why).
const template = (): CfnTemplate => structuredClone(loadTemplate());

function props(t: CfnTemplate, id: string): Record<string, unknown> {
  const found = t.Resources[id]?.Properties;
  if (found === undefined) throw new Error(`${id} has no Properties`);
  return found;
}

/** The settings, or the TemplateSettingsError's message (anything else fails the test). */
function outcome(t: CfnTemplate, overrides: Record<string, string | number> = {}) {
  try {
    return httpApiSettingsOf(t, 't', overrides);
  } catch (error) {
    if (error instanceof TemplateSettingsError) return error.message;
    throw error;
  }
}

const target = { 'Fn::Sub': 'integrations/${AlbIntegration}' };

describe('a number in the template', () => {
  it('is refused when it is not written as a number, naming where it is', () => {
    for (const [value, shown] of [
      [true, 'true'],
      ['', '""'],
      [['5'], '["5"]'],
      [{ a: 1 }, '{"a":1}'],
    ] as const) {
      const t = template();
      props(t, 'AlbIntegration').TimeoutInMillis = value;
      expect(outcome(t)).toBe(
        `AlbIntegration.TimeoutInMillis: cannot be resolved to a number locally (${shown})`,
      );
    }
    const t = template();
    props(t, 'DefaultStage').RouteSettings = { 'ANY /api/books': { ThrottlingBurstLimit: false } };
    expect(outcome(t)).toBe(
      'BookServiceRoute (ANY /api/books) throttling: cannot be resolved to a number locally (false)',
    );
  });

  it('is read from a string that holds one', () => {
    const t = template();
    props(t, 'AlbIntegration').TimeoutInMillis = '2500';
    props(t, 'DefaultStage').RouteSettings = { 'ANY /api/books': { ThrottlingRateLimit: '0.5' } };
    const s = httpApiSettingsOf(t, 't');
    expect(s.integrationTimeoutMs).toBe(2_500);
    expect(s.routes.find((r) => r.routeKey === 'ANY /api/books')?.throttling.rateLimit).toBe(0.5);
  });

  it('is unset when it resolves to AWS::NoValue: the default applies', () => {
    const t = template();
    t.Conditions = { ...t.Conditions, Never: { 'Fn::Equals': ['a', 'b'] } };
    props(t, 'AlbIntegration').TimeoutInMillis = { Ref: 'AWS::NoValue' };
    (props(t, 'DefaultStage').DefaultRouteSettings as Record<string, unknown>).ThrottlingRateLimit =
      { 'Fn::If': ['Never', 5, { Ref: 'AWS::NoValue' }] };
    const s = httpApiSettingsOf(t, 't');
    expect(s.integrationTimeoutMs).toBe(30_000);
    for (const r of s.routes) {
      expect(r.throttling).toEqual({ rateLimit: Number.POSITIVE_INFINITY, burstLimit: 200 });
    }
  });
});

describe('a Number parameter (property)', () => {
  it('takes exactly the integers within MinValue..MaxValue, as a number or a string', () => {
    const addon = loadTemplate();
    const timeout = (value: string | number) => outcome(addon, { IntegrationTimeoutMillis: value });
    fc.assert(
      fc.property(fc.integer({ min: -100_000, max: 100_000 }), fc.boolean(), (n, asString) => {
        const got = timeout(asString ? String(n) : n);
        if (n >= 50 && n <= 30_000) {
          expect(typeof got === 'string' ? got : got.integrationTimeoutMs).toBe(n);
        } else {
          expect(got).toBe(
            `parameter IntegrationTimeoutMillis: ${n} is outside the template's range 50..30000`,
          );
        }
      }),
      {
        numRuns: 60,
        examples: [
          [49, true],
          [50, true],
          [30_000, false],
          [30_001, false],
        ],
      },
    );
  });
});

describe('a template with parts missing', () => {
  it('has no parameter constraints to break when it declares no parameters', () => {
    expect(constraintViolations({ Resources: {} }, { Anything: 'x' })).toEqual([]);
  });

  it('has no condition a resource names when it declares no conditions', () => {
    expect(() => instantiate({ Resources: { R: { Type: 'T', Condition: 'Missing' } } })).toThrow(
      new TemplateSettingsError('condition Missing is not defined'),
    );
  });

  it('has no CORS when it has no API, or an API without properties', () => {
    const noApi = template();
    delete noApi.Resources.HttpApi;
    expect(httpApiSettingsOf(noApi, 't').cors).toBeNull();
    const bare = template();
    delete (bare.Resources.HttpApi as CfnResource).Properties;
    expect(httpApiSettingsOf(bare, 't').cors).toBeNull();
  });

  it('ignores an integration or a stage without properties, or one whose condition is false', () => {
    const t = template();
    t.Conditions = { ...t.Conditions, Never: { 'Fn::Equals': ['a', 'b'] } };
    const stage = structuredClone(t.Resources.DefaultStage as CfnResource);
    (stage.Properties as { AccessLogSettings: { Format: string } }).AccessLogSettings.Format = 'x';
    // Ahead of the real ones, so a reader that took the first of a type would take these.
    t.Resources = {
      Bare: { Type: 'AWS::ApiGatewayV2::Integration' },
      BareStage: { Type: 'AWS::ApiGatewayV2::Stage' },
      Spare: { ...structuredClone(t.Resources.AlbIntegration as CfnResource), Condition: 'Never' },
      SpareStage: { ...stage, Condition: 'Never' },
      Public: {
        Type: 'AWS::ApiGatewayV2::Integration',
        Properties: { IntegrationType: 'HTTP_PROXY', ConnectionType: 'INTERNET' },
      },
      ...t.Resources,
    };
    const s = httpApiSettingsOf(t, 't');
    expect(s.routes).toHaveLength(4);
    expect(s.accessLogFormat).toMatch(/^\{"requestId":/);
  });
});

describe('routes', () => {
  it('put $default last whatever its place in the template', () => {
    const t = template();
    t.Resources = {
      Default: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: { RouteKey: '$default', Target: target },
      },
      ...t.Resources,
    };
    const routes = httpApiSettingsOf(t, 't').routes;
    expect(routes.map((r) => r.routeKey).at(-1)).toBe('$default');
    expect(matchRoute(routes, 'GET', '/api/books')?.routeKey).toBe('ANY /api/books');
    expect(matchRoute(routes, 'GET', '/api/authors/1')?.routeKey).toBe('ANY /api/authors/{proxy+}');
    expect(matchRoute(routes, 'POST', '/other')?.routeKey).toBe('$default');
  });

  it('match a segment that is only partly a variable as literal text, never as a variable', () => {
    const t = template();
    props(t, 'BookServiceRoute').RouteKey = 'GET /files/{name}.json';
    props(t, 'AuthorServiceRoute').RouteKey = 'GET /v{version}';
    const routes = httpApiSettingsOf(t, 't').routes;
    for (const path of ['/files/a.txt', '/files/a.json', '/v1', '/x']) {
      expect({ path, route: matchRoute(routes, 'GET', path)?.routeKey }).toEqual({
        path,
        route: undefined,
      });
    }
    expect(matchRoute(routes, 'GET', '/files/{name}.json')?.routeKey).toBe(
      'GET /files/{name}.json',
    );
  });

  it('are refused when their key is neither $default nor "METHOD /path", as API Gateway refuses them', () => {
    const withKey = (key: string) => {
      const t = template();
      props(t, 'BookServiceRoute').RouteKey = key;
      return () => httpApiSettingsOf(t, 't');
    };
    for (const key of [
      'default',
      '$Default',
      'GET',
      'GET api/books',
      'FETCH /x',
      'get /x',
      'GET  /x',
      ' GET /x',
      'GET /a b',
    ]) {
      expect(withKey(key), key).toThrow(
        `BookServiceRoute: RouteKey ${JSON.stringify(key)} is neither $default nor "METHOD /path"`,
      );
    }
    for (const key of ['GET /a/{proxy+}/b', 'ANY /{all+}/x']) {
      expect(withKey(key), key).toThrow('has a greedy path variable before its end');
    }
    // Their near misses are taken.
    // (A segment only partly a variable is literal text, greedy or not.)
    const taken = ['$default', 'GET /', 'DELETE /x', 'ANY /a/{proxy+}', 'HEAD /a/{id}/b'];
    for (const key of [...taken, 'GET /v{all+}/x', 'GET /{all+}v/x']) {
      expect(withKey(key), key).not.toThrow();
    }
  });

  it('are refused with a clear error when their target is not the ALB integration, or none', () => {
    const refusal = (value: unknown) =>
      `BookServiceRoute: targets ${JSON.stringify(value)}; the local API emulates only the ALB integration AlbIntegration`;
    for (const value of [
      undefined,
      null,
      { 'Fn::Sub': 'other/integrations/${AlbIntegration}' },
      { 'Fn::Sub': 'integrations/${AlbIntegration}/x' },
      { 'Fn::Sub': 'integrations/${AWS::Region}' },
      { 'Fn::Join': ['/', ['integrations', 'abc']] },
    ]) {
      const t = template();
      props(t, 'BookServiceRoute').Target = value;
      expect(outcome(t)).toBe(refusal(value));
    }
  });
});

describe("a route's authorizer", () => {
  /** The template with the JWT authorizer always there, and BookServiceRoute changed. */
  const withRoute = (
    change: (route: Record<string, unknown>, authorizer: Record<string, unknown>) => void,
  ) => {
    const t = template();
    delete (t.Resources.JwtAuthorizer as CfnResource).Condition;
    change(props(t, 'BookServiceRoute'), props(t, 'JwtAuthorizer'));
    return outcome(t, { JwtIssuer: 'https://issuer.example', JwtAudience: 'api' });
  };
  const refusal = (why: string) =>
    `BookServiceRoute: ${why}; the local stack emulates JWT authorizers only`;

  it('is none when AuthorizationType resolves to AWS::NoValue', () => {
    const t = template();
    props(t, 'BookServiceRoute').AuthorizationType = {
      'Fn::If': ['HasJwtAuthorizer', 'JWT', { Ref: 'AWS::NoValue' }],
    };
    const s = httpApiSettingsOf(t, 't');
    expect(s.routes.find((r) => r.routeKey === 'ANY /api/books')?.authorizer).toBeNull();
  });

  it('is refused, naming it, when AuthorizerId is not a Ref of an authorizer', () => {
    for (const id of [
      { 'Fn::ImportValue': 'JwtAuthorizer' },
      { Ref: 'Nothing' },
      { Ref: 'JwtAuthorizer.AuthorizerId' },
      { 'Fn::GetAtt': ['Other', 'Ref JwtAuthorizer'] },
    ]) {
      expect(
        withRoute((route) => {
          route.AuthorizerId = id;
        }),
      ).toBe(refusal(`AuthorizerId ${JSON.stringify(id)} names no authorizer`));
    }
  });

  it('is refused unless it is a JWT authorizer with an issuer on one request header', () => {
    const notJwt = refusal(
      'JwtAuthorizer is not a JWT authorizer on a request header with an issuer',
    );
    const changes: ((a: Record<string, unknown>) => void)[] = [
      (a) => {
        a.AuthorizerType = 'REQUEST';
      },
      (a) => {
        delete a.IdentitySource;
      },
      (a) => {
        a.IdentitySource = ['$request.header.'];
      },
      (a) => {
        a.IdentitySource = ['x$request.header.Authorization'];
      },
      (a) => {
        a.IdentitySource = ['$request.header.Authorization\n$request.querystring.token'];
      },
      (a) => {
        delete a.JwtConfiguration;
      },
      (a) => {
        a.JwtConfiguration = { Audience: ['api'] };
      },
      (a) => {
        a.JwtConfiguration = { Issuer: ['https://issuer.example'], Audience: ['api'] };
      },
    ];
    for (const change of changes) {
      expect(withRoute((_, a) => change(a))).toBe(notJwt);
    }
  });

  it('has no audience when its JwtConfiguration lists none', () => {
    const s = withRoute((_, a) => {
      a.JwtConfiguration = { Issuer: 'https://issuer.example' };
    });
    if (typeof s === 'string') throw new Error(s);
    expect(s.routes.find((r) => r.routeKey === 'ANY /api/books')?.authorizer).toEqual({
      logicalId: 'JwtAuthorizer',
      issuer: 'https://issuer.example',
      audience: [],
      identityHeader: 'authorization',
    });
  });
});

describe("the integration's request parameters", () => {
  const alb = { 'Fn::ImportValue': { 'Fn::Sub': '${App}-${Env}-InternalLoadBalancerDNS' } };
  const withParameters = (parameters: Record<string, unknown>) => {
    const t = template();
    props(t, 'AlbIntegration').RequestParameters = parameters;
    return outcome(t);
  };

  it('overwrite Host only with a host mapping: the ALB name on another header is a mapping', () => {
    const s = withParameters({ 'overwrite:header.x-alb': alb });
    if (typeof s === 'string') throw new Error(s);
    expect(s.hostOverwritten).toBe(false);
    expect(s.headerMappings).toEqual([
      { action: 'overwrite', header: 'x-alb', value: { kind: 'albDnsName' } },
    ]);
  });

  it('refuse a key that only contains a mapping, and $request.path anywhere but overwrite:path', () => {
    for (const key of [
      'xoverwrite:header.a',
      'overwrite:header.a\nb',
      'append:querystring.a',
      'overwrite:header',
    ]) {
      expect(withParameters({ [key]: '$request.path' })).toBe(
        `integration RequestParameters ${key}: not emulated locally`,
      );
    }
  });
});

describe('the template file', () => {
  it("is the named file, or the root's addons/http-api.yml", () => {
    expect(readHttpApiSettings({ templateFile: HTTP_API_TEMPLATE }).templateFile).toBe(
      HTTP_API_TEMPLATE,
    );
    expect(readHttpApiSettings({ root: repoRoot }).templateFile).toBe(
      path.join(repoRoot, 'addons', 'http-api.yml'),
    );
  });

  it('that cannot be read or parsed is refused naming the file and why', () => {
    const docs = path.join(repoRoot, 'docs');
    const missing = path.join(docs, 'addons', 'http-api.yml');
    expect(() => readHttpApiSettings({ root: docs })).toThrow(
      new TemplateSettingsError(`${missing}: no such file`),
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'template-'));
    try {
      const broken = path.join(dir, 'broken.yml');
      writeFileSync(broken, 'Resources:\n  A: [1,\n');
      expect(() => readHttpApiSettings({ templateFile: broken })).toThrow(
        new RegExp(`^${broken}: is not valid YAML: .* at line \\d+, column \\d+$`),
      );
      expect(() => readHttpApiSettings({ templateFile: dir })).toThrow(
        new TemplateSettingsError(
          `${dir}: cannot be read: EISDIR: illegal operation on a directory, read`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // An empty file parses to null, a list to an array: `npm start` said "npm start failed: Cannot
  // read properties of null (reading 'Parameters')" and "Cannot convert undefined or null to object".
  it('that is empty, a list or a scalar is refused as no template', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'template-'));
    try {
      for (const [name, text] of [
        ['empty.yml', ''],
        ['list.yml', '- 1\n'],
        ['scalar.yml', 'hello\n'],
      ]) {
        const file = path.join(dir, name as string);
        writeFileSync(file, text as string);
        expect(() => readHttpApiSettings({ templateFile: file })).toThrow(
          new TemplateSettingsError(
            `${file}: is not a CloudFormation template: expected a mapping with Resources`,
          ),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an access-log format', () => {
  it('keeps the text after a $context. that names no variable', () => {
    const render = compileAccessLogFormat('a $context. b $context.-c $context.x.');
    expect(render({} as never)).toBe('a - b --c -.');
  });
});
