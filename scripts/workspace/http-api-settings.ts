// What the local HTTP API needs from addons/http-api.yml, resolved the way CloudFormation would
// resolve it with the template's parameter defaults (or overrides): the routes, the $default
// stage's throttling and access-log format, the integration's timeout and request parameters.
// Nothing here restates a value the template holds; the only constants are API Gateway's own
// quotas and defaults, which no template can change.
import path from 'node:path';
import { readYamlFile } from './files.ts';
import {
  type CfnResource,
  type CfnTemplate,
  HTTP_API_TEMPLATE,
  HTTP_API_TEMPLATE_FILE,
  loadTemplate,
  notATemplate,
  parseTemplate,
  resourcesOfType,
} from './template.ts';

/** API Gateway's payload quota for HTTP APIs (not adjustable, so not in the template). */
const PAYLOAD_LIMIT_BYTES = 10 * 1024 * 1024;
/** HTTP APIs' integration timeout when `TimeoutInMillis` is absent (also its maximum). */
const DEFAULT_INTEGRATION_TIMEOUT_MS = 30_000;
/**
 * "Total combined size of request line and header values: 10240 bytes" (Quotas for
 * configuring and running an HTTP API in API Gateway,
 * docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html). What API
 * Gateway answers past it is not documented; a public report (backbencher.dev, "SOLVED: 431
 * Status Code With Request Header Fields Too Large", 2023) saw 431 from an HTTP API behind
 * Cloudflare. Assumed: 431 in the gateway's own shape, the head counted as the request line
 * and the header lines (headBytes), 10,240 bytes allowed. docs/verified.md records it and the
 * smoke test checks it on a deploy (scripts/checks/smoke-quotas.ts; the local gateway, scripts/local/gateway/http-api.ts).
 */
export const HEAD_LIMIT_BYTES = 10_240;

export class TemplateSettingsError extends Error {
  override name = 'TemplateSettingsError';
}

export type ParameterOverrides = Record<string, string | number>;

/**
 * The template's parameters that name where it is deployed: deploy.ts passes its --app and
 * --env, the local stack the workspace's application and environment. A --parameter for one
 * would name another application or environment than the one deployed or run.
 */
export const PLACE_PARAMETERS = ['App', 'Env'] as const;

/** The overrides that set a place parameter, said as `<flag>: <why>`; undefined when none. */
export function placeParameterProblem(
  overrides: ParameterOverrides,
  whereFrom: string,
): string | undefined {
  const given = PLACE_PARAMETERS.filter((name) => name in overrides);
  if (given.length === 0) return undefined;
  return `--parameter ${given.join(', ')}: App and Env are not parameters to set; they come from ${whereFrom}`;
}

export interface HttpApiRoute {
  /** As in the template: `ANY /api/books/{proxy+}`, or `$default`. */
  routeKey: string;
  logicalId: string;
  /** Upper case; `ANY` matches every method. */
  method: string;
  /** The path part of the route key (`/api/books/{proxy+}`); empty for `$default`. */
  path: string;
  /** Matches a request path (no query string) the way API Gateway matches this route. */
  pattern: RegExp;
  throttling: Throttling;
  /** The route's JWT authorizer, or null for `AuthorizationType: NONE`. */
  authorizer: JwtAuthorizerSettings | null;
}

/** An `AWS::ApiGatewayV2::Authorizer` of type JWT, resolved. */
export interface JwtAuthorizerSettings {
  logicalId: string;
  issuer: string;
  /** Accepted `aud` (or `client_id`) values; empty entries of a CommaDelimitedList dropped. */
  audience: string[];
  /** Lower case: the header its `IdentitySource` (`$request.header.X`) names. */
  identityHeader: string;
}

/** The API's `CorsConfiguration` (CloudFormation property names), resolved. */
export interface CorsConfiguration {
  AllowOrigins?: string[];
  AllowMethods?: string[];
  AllowHeaders?: string[];
  ExposeHeaders?: string[];
  MaxAge?: number;
  AllowCredentials?: boolean;
}

export interface Throttling {
  /** Steady-state requests per second. */
  rateLimit: number;
  /** Bucket size: requests that may arrive at once. */
  burstLimit: number;
}

/** One `RequestParameters` entry of the integration, header mappings only. */
interface HeaderMapping {
  action: 'overwrite' | 'append' | 'remove';
  /** Lower case. */
  header: string;
  /** What CloudFormation would set. `albDnsName` stands for the ALB's DNS name import. */
  value: { kind: 'static'; text: string } | { kind: 'albDnsName' } | { kind: 'none' };
}

export interface HttpApiSettings {
  templateFile: string;
  /** Ordered by API Gateway's precedence: the first whose method and pattern match wins. */
  routes: HttpApiRoute[];
  stageName: string;
  integrationTimeoutMs: number;
  /** True when the integration sets Host to the ALB's DNS name (`overwrite:header.host`). */
  hostOverwritten: boolean;
  headerMappings: HeaderMapping[];
  /** The stage's access-log format, or undefined when access logging is off. */
  accessLogFormat: string | undefined;
  payloadLimitBytes: number;
  /** The API's CORS configuration, or null when it has none (CORS off). */
  cors: CorsConfiguration | null;
  /** The effective parameter values (defaults merged with overrides). */
  parameters: Record<string, string | number | string[]>;
}

// ---------------------------------------------------------------------------------------------
// A small CloudFormation evaluator: parameters, conditions and the functions the addon uses.

/** A value only a real deployment knows (an import, a resource attribute, a pseudo parameter). */
class Unresolved {
  readonly what: string;
  constructor(what: string) {
    this.what = what;
  }
}
const NO_VALUE = Symbol('AWS::NoValue');

interface Scope {
  template: CfnTemplate;
  parameters: Record<string, string | number | string[]>;
  conditions: Map<string, boolean>;
}

/**
 * A Number parameter's value as written: "An integer or float" (CloudFormation User Guide,
 * Parameters), in decimal. Not what JavaScript's Number() also takes: '' and blanks (0), hex
 * (0x64), 'Infinity' (assumed refused by CloudFormation, docs/verified.md).
 */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function parameterValue(
  name: string,
  declaration: NonNullable<CfnTemplate['Parameters']>[string],
  override: string | number | undefined,
): string | number | string[] {
  const raw = override ?? declaration.Default;
  if (raw === undefined) {
    throw new TemplateSettingsError(
      `parameter ${name} has no Default: pass it locally with parameters: { ${name}: ... }`,
    );
  }
  if (declaration.Type === 'Number') {
    const parsed =
      typeof raw === 'number' ? raw : DECIMAL.test(String(raw)) ? Number(raw) : Number.NaN;
    if (!Number.isFinite(parsed)) {
      throw new TemplateSettingsError(`parameter ${name}: "${raw}" is not a number`);
    }
    const min = declaration.MinValue as number | undefined;
    const max = declaration.MaxValue as number | undefined;
    if ((min !== undefined && parsed < min) || (max !== undefined && parsed > max)) {
      throw new TemplateSettingsError(
        `parameter ${name}: ${parsed} is outside the template's range ${min ?? '-inf'}..${max ?? 'inf'}`,
      );
    }
    return parsed;
  }
  if (declaration.Type === 'CommaDelimitedList') return commaList(raw);
  return String(raw);
}

/** A CommaDelimitedList as CloudFormation splits it: an empty value is [''], not []. */
function commaList(raw: unknown): string[] {
  return String(raw)
    .split(',')
    .map((s) => s.trim());
}

/**
 * What CloudFormation would refuse in `overrides` before it creates anything: AllowedValues
 * and AllowedPattern (User Guide, "Parameters": the pattern "must match the entire parameter
 * value", and each value of a CommaDelimitedList; ConstraintDescription "explains a constraint
 * when the constraint is violated"). Apart from instantiate(), which the local stack also uses
 * with values only it may have (its JWT issuer is a local http:// URL).
 */
export function constraintViolations(
  template: CfnTemplate,
  overrides: ParameterOverrides,
): string[] {
  return Object.entries(overrides).flatMap(([name, raw]) => {
    const declaration = template.Parameters?.[name];
    if (declaration === undefined) return [];
    const values = declaration.Type === 'CommaDelimitedList' ? commaList(raw) : [String(raw)];
    const allowed = (declaration.AllowedValues as unknown[] | undefined)?.map(String);
    const pattern = declaration.AllowedPattern as string | undefined;
    const whole = pattern === undefined ? undefined : new RegExp(`^(?:${pattern})$`);
    return values.flatMap((value) => {
      const wrong =
        allowed && !allowed.includes(value)
          ? `is not one of ${allowed.join(', ')}`
          : whole && !whole.test(value)
            ? `does not match ${pattern}`
            : undefined;
      if (wrong === undefined) return [];
      const explained = declaration.ConstraintDescription;
      return [`parameter ${name}: "${value}" ${explained ? `is not ${explained}` : wrong}`];
    });
  });
}

function resolve(value: unknown, scope: Scope): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, scope));
  // Resolved already (a stage's RouteSettings are resolved whole, then each value again).
  if (value === null || typeof value !== 'object' || value instanceof Unresolved) return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const [key, arg] = entries[0] ?? [];
  if (entries.length !== 1 || key === undefined) {
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v, scope)]));
  }
  switch (key) {
    case 'Ref': {
      const name = String(arg);
      if (name === 'AWS::NoValue') return NO_VALUE;
      if (name in scope.parameters) return scope.parameters[name];
      return new Unresolved(`Ref ${name}`);
    }
    case 'Condition':
      return evaluateCondition(String(arg), scope);
    case 'Fn::If': {
      const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
      return resolve(evaluateCondition(condition, scope) ? whenTrue : whenFalse, scope);
    }
    case 'Fn::Equals': {
      const [a, b] = (arg as unknown[]).map((v) => resolve(v, scope));
      if (a instanceof Unresolved || b instanceof Unresolved)
        return a instanceof Unresolved ? a : b;
      return String(a) === String(b);
    }
    case 'Fn::Not':
      return !truthy(resolve((arg as unknown[])[0], scope));
    case 'Fn::Contains': {
      // Rules only: is the value one of the list's items?
      const [list, item] = (arg as unknown[]).map((v) => resolve(v, scope));
      if (!Array.isArray(list)) return new Unresolved('Fn::Contains over a non-list');
      return list.map(String).includes(String(item));
    }
    case 'Fn::And':
      return (arg as unknown[]).every((v) => truthy(resolve(v, scope)));
    case 'Fn::Or':
      return (arg as unknown[]).some((v) => truthy(resolve(v, scope)));
    case 'Fn::Join': {
      const [delimiter, list] = arg as [string, unknown];
      const items = resolve(list, scope);
      if (!Array.isArray(items)) return new Unresolved('Fn::Join over a non-list');
      const bad = items.find((v) => v instanceof Unresolved);
      return bad ?? items.map(String).join(delimiter);
    }
    case 'Fn::Sub': {
      if (typeof arg !== 'string') return new Unresolved('Fn::Sub with a variable map');
      let unresolved: Unresolved | undefined;
      const text = arg.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
        const v = name in scope.parameters ? scope.parameters[name] : undefined;
        if (v === undefined || Array.isArray(v)) unresolved ??= new Unresolved(`\${${name}}`);
        return String(v);
      });
      return unresolved ?? text;
    }
    case 'Fn::ImportValue':
      return new Unresolved(`Fn::ImportValue ${JSON.stringify(resolve(arg, scope))}`);
    case 'Fn::GetAtt':
      return new Unresolved(`Fn::GetAtt ${[arg].flat().join('.')}`);
    default:
      if (key.startsWith('Fn::')) return new Unresolved(key);
      return { [key]: resolve(arg, scope) };
  }
}

function truthy(value: unknown): boolean {
  if (value instanceof Unresolved) {
    throw new TemplateSettingsError(`a condition depends on ${value.what}, unknown locally`);
  }
  return value === true || value === 'true';
}

function evaluateCondition(name: string, scope: Scope): boolean {
  const known = scope.conditions.get(name);
  if (known !== undefined) return known;
  const definition = scope.template.Conditions?.[name];
  if (definition === undefined) throw new TemplateSettingsError(`condition ${name} is not defined`);
  const result = truthy(resolve(definition, scope));
  scope.conditions.set(name, result);
  return result;
}

function isDeployed(resource: CfnResource, scope: Scope): boolean {
  return resource.Condition === undefined || evaluateCondition(resource.Condition, scope);
}

function resolveNumber(value: unknown, scope: Scope, where: string): number | undefined {
  const resolved = resolve(value, scope);
  if (resolved === undefined || resolved === NO_VALUE) return undefined;
  if (typeof resolved === 'number') return resolved;
  if (typeof resolved === 'string' && resolved !== '' && Number.isFinite(Number(resolved))) {
    return Number(resolved);
  }
  const why = resolved instanceof Unresolved ? resolved.what : JSON.stringify(resolved);
  throw new TemplateSettingsError(`${where}: cannot be resolved to a number locally (${why})`);
}

// ---------------------------------------------------------------------------------------------
// Routes

/** A path segment that is a variable, `{id}`, or a greedy one, `{proxy+}`; any other is text. */
const PATH_VARIABLE = /^\{([A-Za-z0-9_]+)(\+?)\}$/;

/** `/api/books/{proxy+}` to a RegExp with API Gateway's semantics. */
function routePattern(routePath: string): RegExp {
  const source = routePath
    .split('/')
    .map((segment) => {
      const variable = PATH_VARIABLE.exec(segment);
      if (!variable) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      // A greedy variable takes one or more whole segments, so `/a/{proxy+}` needs `/a/x`.
      return variable[2] === '+' ? '.+' : '[^/]+';
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * A route key as API Gateway takes it: `$default`, or an HTTP method (or `ANY`) and a resource
 * path, with a greedy variable (`{proxy+}`) only at its end ("Create routes for HTTP APIs":
 * docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html). The method
 * list is the one the API Gateway console offers (docs/verified.md: assumed).
 */
const ROUTE_KEY = /^(ANY|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\/\S*)$/;

function parseRouteKey(logicalId: string, routeKey: string): [method: string, path: string] {
  if (routeKey === '$default') return ['ANY', ''];
  const match = ROUTE_KEY.exec(routeKey);
  if (match === null) {
    throw new TemplateSettingsError(
      `${logicalId}: RouteKey ${JSON.stringify(routeKey)} is neither $default nor "METHOD /path" (METHOD one of ANY, GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)`,
    );
  }
  const [, method, path] = match as unknown as [string, string, string];
  const segments = path.split('/');
  // A segment only partly a variable (`v{x+}`) is literal text, as routePattern reads it.
  const greedy = segments.findIndex((segment) => PATH_VARIABLE.exec(segment)?.[2] === '+');
  if (greedy !== -1 && greedy !== segments.length - 1) {
    throw new TemplateSettingsError(
      `${logicalId}: RouteKey ${JSON.stringify(routeKey)} has a greedy path variable before its end; API Gateway takes one only as the last segment`,
    );
  }
  return [method, path];
}

/** API Gateway's precedence: full matches, then greedy ones by prefix length, then $default. */
function precedence(route: HttpApiRoute): [number, number, number] {
  if (route.routeKey === '$default') return [3, 0, 0];
  const greedy = route.path.includes('+}');
  const prefixLength = route.path.split('{')[0]?.length ?? 0;
  return [greedy ? 2 : 1, -prefixLength, route.method === 'ANY' ? 1 : 0];
}

function integrationIdOf(target: unknown): string | undefined {
  // `integrations/${AlbIntegration}` (Fn::Sub) or Fn::Join ['/', ['integrations', !Ref X]].
  if (target && typeof target === 'object') {
    const sub = (target as Record<string, unknown>)['Fn::Sub'];
    if (typeof sub === 'string') return /^integrations\/\$\{([A-Za-z0-9]+)\}$/.exec(sub)?.[1];
    const join = (target as Record<string, unknown>)['Fn::Join'] as [string, unknown[]] | undefined;
    const ref = join?.[1]?.find((v) => v && typeof v === 'object' && 'Ref' in v) as
      | { Ref: string }
      | undefined;
    return ref?.Ref;
  }
  return undefined;
}

function readRoutes(scope: Scope, integrationId: string, stage: CfnResource): HttpApiRoute[] {
  const stageProps = stage.Properties ?? {};
  const defaults = (resolve(stageProps.DefaultRouteSettings, scope) ?? {}) as Record<
    string,
    unknown
  >;
  const perRoute = (resolve(stageProps.RouteSettings, scope) ?? {}) as Record<
    string,
    Record<string, unknown>
  >;
  const routes: HttpApiRoute[] = [];
  for (const [logicalId, resource] of resourcesOfType(scope.template, 'AWS::ApiGatewayV2::Route')) {
    if (!isDeployed(resource, scope)) continue;
    const props = resource.Properties ?? {};
    const routeKey = resolve(props.RouteKey, scope);
    if (typeof routeKey !== 'string') {
      throw new TemplateSettingsError(`${logicalId}: RouteKey must resolve to a string`);
    }
    const target = integrationIdOf(props.Target);
    if (target !== integrationId) {
      throw new TemplateSettingsError(
        `${logicalId}: targets ${JSON.stringify(props.Target)}; the local API emulates only the ALB integration ${integrationId}`,
      );
    }
    const authorizer = readAuthorizer(logicalId, props, scope);
    const [method, routePath] = parseRouteKey(logicalId, routeKey);
    const settings = { ...defaults, ...(perRoute[routeKey] ?? {}) };
    const where = `${logicalId} (${routeKey}) throttling`;
    const rateLimit = resolveNumber(settings.ThrottlingRateLimit, scope, where);
    const burstLimit = resolveNumber(settings.ThrottlingBurstLimit, scope, where);
    routes.push({
      routeKey,
      logicalId,
      method,
      path: routePath,
      pattern: routeKey === '$default' ? /^/ : routePattern(routePath),
      // Unset means "no stage limit" (the account's limits apply, which a laptop never hits).
      throttling: {
        rateLimit: rateLimit ?? Number.POSITIVE_INFINITY,
        burstLimit: burstLimit ?? Number.POSITIVE_INFINITY,
      },
      authorizer,
    });
  }
  if (routes.length === 0) throw new TemplateSettingsError('the template defines no route');
  return routes.sort((a, b) => {
    const pa = precedence(a);
    const pb = precedence(b);
    return pa[0] - pb[0] || pa[1] - pb[1] || pa[2] - pb[2];
  });
}

/**
 * A route's authorizer: none, or the JWT authorizer its `AuthorizerId` refers to. Lambda and
 * IAM authorizers are not emulated, so a template with one is refused rather than run open.
 */
function readAuthorizer(
  routeId: string,
  props: Record<string, unknown>,
  scope: Scope,
): JwtAuthorizerSettings | null {
  const authorization = resolve(props.AuthorizationType ?? 'NONE', scope);
  if (authorization === 'NONE' || authorization === NO_VALUE) return null;
  const refused = (why: string) =>
    new TemplateSettingsError(`${routeId}: ${why}; the local stack emulates JWT authorizers only`);
  if (authorization !== 'JWT') throw refused(`AuthorizationType ${String(authorization)}`);
  const ref = resolve(props.AuthorizerId, scope);
  const logicalId = ref instanceof Unresolved ? /^Ref (\w+)$/.exec(ref.what)?.[1] : undefined;
  const resource = logicalId === undefined ? undefined : scope.template.Resources[logicalId];
  if (logicalId === undefined || resource?.Type !== 'AWS::ApiGatewayV2::Authorizer') {
    throw refused(`AuthorizerId ${JSON.stringify(props.AuthorizerId)} names no authorizer`);
  }
  const authorizer = plain(resolve(resource.Properties ?? {}, scope)) as {
    AuthorizerType?: string;
    IdentitySource?: string[];
    JwtConfiguration?: { Issuer?: unknown; Audience?: unknown };
  };
  const source = /^\$request\.header\.(.+)$/.exec(authorizer.IdentitySource?.[0] ?? '')?.[1];
  const issuer = authorizer.JwtConfiguration?.Issuer;
  const audience = [authorizer.JwtConfiguration?.Audience ?? []].flat();
  if (authorizer.AuthorizerType !== 'JWT' || source === undefined || typeof issuer !== 'string') {
    throw refused(`${logicalId} is not a JWT authorizer on a request header with an issuer`);
  }
  return {
    logicalId,
    issuer,
    audience: audience.filter((a): a is string => typeof a === 'string' && a !== ''),
    identityHeader: source.toLowerCase(),
  };
}

function readHeaderMappings(requestParameters: unknown, scope: Scope): HeaderMapping[] {
  const mappings: HeaderMapping[] = [];
  for (const [key, raw] of Object.entries((requestParameters ?? {}) as Record<string, unknown>)) {
    const match = /^(overwrite|append|remove):header\.(.+)$/.exec(key);
    if (!match) {
      // `overwrite:path` set to the request's own path changes nothing on $default.
      if (key === 'overwrite:path' && raw === '$request.path') continue;
      throw new TemplateSettingsError(`integration RequestParameters ${key}: not emulated locally`);
    }
    const action = match[1] as HeaderMapping['action'];
    const header = (match[2] ?? '').toLowerCase();
    const value = resolve(raw, scope);
    if (action === 'remove') {
      mappings.push({ action, header, value: { kind: 'none' } });
    } else if (
      value instanceof Unresolved &&
      /InternalLoadBalancerDNS/.test(JSON.stringify(raw)) &&
      value.what.startsWith('Fn::ImportValue')
    ) {
      mappings.push({ action, header, value: { kind: 'albDnsName' } });
    } else if (typeof value === 'string' && !value.includes('$')) {
      mappings.push({ action, header, value: { kind: 'static', text: value } });
    } else {
      throw new TemplateSettingsError(
        `integration RequestParameters ${key}: ${JSON.stringify(raw)} is not emulated locally`,
      );
    }
  }
  return mappings;
}

/** Reads the HTTP API settings of `<root>/addons/http-api.yml` (or `templateFile`). */
export function readHttpApiSettings(
  options: { root?: string; templateFile?: string; parameters?: ParameterOverrides } = {},
): HttpApiSettings {
  const templateFile =
    options.templateFile ??
    (options.root ? path.join(options.root, HTTP_API_TEMPLATE_FILE) : undefined);
  const shown = templateFile ?? HTTP_API_TEMPLATE_FILE;
  return httpApiSettingsOf(
    templateAt(templateFile ?? HTTP_API_TEMPLATE, shown),
    shown,
    options.parameters,
  );
}

/** The template, or a TemplateSettingsError naming the file and why (files.ts). */
function templateAt(file: string, shown: string): CfnTemplate {
  const template = readYamlFile(
    file,
    shown,
    parseTemplate,
    (message) => new TemplateSettingsError(message),
  );
  const why = notATemplate(template);
  if (why !== undefined) throw new TemplateSettingsError(`${shown}: ${why}`);
  return template;
}

function scopeOf(template: CfnTemplate, overrides: ParameterOverrides): Scope {
  const declared = template.Parameters ?? {};
  for (const name of Object.keys(overrides)) {
    if (!(name in declared)) {
      throw new TemplateSettingsError(
        `parameter override ${name}: the template declares no such parameter (it has ${Object.keys(declared).join(', ')})`,
      );
    }
  }
  const parameters = Object.fromEntries(
    Object.entries(declared)
      .filter(([name, d]) => d.Default !== undefined || overrides[name] !== undefined)
      .map(([name, d]) => [name, parameterValue(name, d, overrides[name])]),
  );
  return { template, parameters, conditions: new Map() };
}

/** A resolved value as plain data: what only a deployment knows becomes `{ unresolved }`. */
function plain(value: unknown): unknown {
  if (value instanceof Unresolved) return { unresolved: value.what };
  if (Array.isArray(value)) return value.filter((v) => v !== NO_VALUE).map(plain);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== NO_VALUE)
      .map(([k, v]) => [k, plain(v)]),
  );
}

export interface TemplateInstance {
  /** The AssertDescription of each rule whose assertion fails: CloudFormation refuses these. */
  violations: string[];
  /** The resources CloudFormation would create, their properties resolved. */
  resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  /** The keys of the outputs whose conditions hold. */
  outputs: string[];
}

/**
 * What the template creates for these parameter values: conditions evaluated, `Fn::If` and
 * `AWS::NoValue` applied, imports and attributes left symbolic (`{ unresolved: 'Ref X' }`).
 */
export function instantiate(
  template: CfnTemplate,
  overrides: ParameterOverrides = {},
): TemplateInstance {
  const scope = scopeOf(template, overrides);
  const resources = Object.entries(template.Resources)
    .filter(([, r]) => isDeployed(r, scope))
    .map(([id, r]) => [
      id,
      { Type: r.Type, Properties: plain(resolve(r.Properties ?? {}, scope)) },
    ]);
  const outputs = Object.entries(template.Outputs ?? {})
    .filter(([, o]) => o.Condition === undefined || evaluateCondition(o.Condition, scope))
    .map(([key]) => key);
  return { violations: ruleViolations(scope), resources: Object.fromEntries(resources), outputs };
}

interface CfnRule {
  RuleCondition?: unknown;
  Assertions: { Assert: unknown; AssertDescription?: string }[];
}

function ruleViolations(scope: Scope): string[] {
  const rules = Object.entries((scope.template.Rules ?? {}) as Record<string, CfnRule>);
  return rules.flatMap(([name, rule]) => {
    if (rule.RuleCondition !== undefined && !truthy(resolve(rule.RuleCondition, scope))) return [];
    return rule.Assertions.filter((a) => !truthy(resolve(a.Assert, scope))).map(
      (a) => a.AssertDescription ?? `rule ${name} fails`,
    );
  });
}

/** The HTTP API's access-log group, as the template names it for this application and environment. */
export function accessLogGroupName(app: string, env: string, template = loadTemplate()): string {
  const { resources } = instantiate(template, { App: app, Env: env });
  const group = Object.values(resources).find((r) => r.Type === 'AWS::Logs::LogGroup');
  const name = group?.Properties.LogGroupName;
  if (typeof name !== 'string') {
    throw new TemplateSettingsError(
      'the HTTP API template has no AWS::Logs::LogGroup with a LogGroupName',
    );
  }
  return name;
}

export function httpApiSettingsOf(
  template: CfnTemplate,
  templateFile: string,
  overrides: ParameterOverrides = {},
): HttpApiSettings {
  const scope = scopeOf(template, overrides);
  const { parameters } = scope;

  const integrations = resourcesOfType(template, 'AWS::ApiGatewayV2::Integration').filter(
    ([, r]) => isDeployed(r, scope) && r.Properties?.ConnectionType === 'VPC_LINK',
  );
  const [integration, ...others] = integrations;
  if (!integration || others.length > 0) {
    throw new TemplateSettingsError(
      `expected exactly one VPC_LINK integration (the internal ALB), found ${integrations.length}`,
    );
  }
  const [integrationId, integrationResource] = integration;
  const integrationProps = integrationResource.Properties ?? {};
  if (integrationProps.IntegrationType !== 'HTTP_PROXY') {
    throw new TemplateSettingsError(`${integrationId}: only HTTP_PROXY is emulated locally`);
  }

  const stages = resourcesOfType(template, 'AWS::ApiGatewayV2::Stage').filter(([, r]) =>
    isDeployed(r, scope),
  );
  const defaultStage = stages.find(([, r]) => r.Properties?.StageName === '$default');
  if (!defaultStage) {
    throw new TemplateSettingsError('no $default stage: the local API emulates only $default');
  }
  const stageProps = defaultStage[1].Properties ?? {};
  const accessLog = resolve(stageProps.AccessLogSettings, scope) as
    | { Format?: unknown }
    | undefined;
  if (accessLog?.Format !== undefined && typeof accessLog.Format !== 'string') {
    throw new TemplateSettingsError('AccessLogSettings.Format must resolve to a string');
  }

  const headerMappings = readHeaderMappings(integrationProps.RequestParameters, scope);
  const [, api] = resourcesOfType(template, 'AWS::ApiGatewayV2::Api')[0] ?? [];
  const corsValue = resolve(api?.Properties?.CorsConfiguration, scope);
  const cors = corsValue === NO_VALUE ? undefined : (plain(corsValue) as CorsConfiguration);
  return {
    templateFile,
    routes: readRoutes(scope, integrationId, defaultStage[1]),
    stageName: '$default',
    integrationTimeoutMs:
      resolveNumber(integrationProps.TimeoutInMillis, scope, `${integrationId}.TimeoutInMillis`) ??
      DEFAULT_INTEGRATION_TIMEOUT_MS,
    hostOverwritten: headerMappings.some(
      (m) => m.header === 'host' && m.action === 'overwrite' && m.value.kind === 'albDnsName',
    ),
    headerMappings: headerMappings.filter((m) => m.header !== 'host'),
    accessLogFormat: accessLog?.Format,
    payloadLimitBytes: PAYLOAD_LIMIT_BYTES,
    cors: cors ?? null,
    parameters,
  };
}

/** The route API Gateway would select, or undefined (its own 404). */
export function matchRoute(
  routes: readonly HttpApiRoute[],
  method: string,
  requestPath: string,
): HttpApiRoute | undefined {
  for (const route of routes) {
    if ((route.method === 'ANY' || route.method === method) && route.pattern.test(requestPath)) {
      return route;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Access logs

/** What one request contributes to its access-log line. -1 and '' render as "-". */
export interface AccessLogRecord {
  requestId: string;
  sourceIp: string;
  userAgent: string;
  domainName: string;
  /** Epoch milliseconds when the request arrived. */
  requestTimeEpoch: number;
  httpMethod: string;
  routeKey: string;
  path: string;
  protocol: string;
  status: number;
  responseLength: number;
  responseLatency: number;
  integrationStatus: number;
  integrationLatency: number;
  integrationErrorMessage: string;
  errorMessage: string;
}

type Render = (record: AccessLogRecord) => string;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let clfSecond = -1;
let clfText = '';
/** `$context.requestTime`: CLF, `05/Feb/2026:14:03:09 +0000`; cached per second. */
function clfTime(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== clfSecond) {
    const d = new Date(second * 1000);
    const pad = (n: number) => (n < 10 ? `0${n}` : String(n));
    clfText = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
    clfSecond = second;
  }
  return clfText;
}

/** A quote, a backslash or a control character (what JSON cannot hold raw). */
function needsEscape(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x22 || code === 0x5c) return true;
  }
  return false;
}
/** Client-controlled text stays inside its JSON string (API Gateway escapes quotes too). */
function text(value: string): string {
  if (value === '') return '-';
  return needsEscape(value) ? JSON.stringify(value).slice(1, -1) : value;
}
const num = (value: number): string => (value < 0 ? '-' : String(Math.round(value)));

const VARIABLES: Record<string, Render> = {
  requestId: (r) => r.requestId,
  extendedRequestId: (r) => r.requestId,
  'identity.sourceIp': (r) => text(r.sourceIp),
  'identity.userAgent': (r) => text(r.userAgent),
  domainName: (r) => text(r.domainName),
  requestTime: (r) => clfTime(r.requestTimeEpoch),
  requestTimeEpoch: (r) => String(r.requestTimeEpoch),
  httpMethod: (r) => text(r.httpMethod),
  routeKey: (r) => text(r.routeKey),
  path: (r) => text(r.path),
  protocol: (r) => r.protocol,
  status: (r) => num(r.status),
  responseLength: (r) => num(r.responseLength),
  responseLatency: (r) => num(r.responseLatency),
  integrationStatus: (r) => num(r.integrationStatus),
  'integration.status': (r) => num(r.integrationStatus),
  'integration.integrationStatus': (r) => num(r.integrationStatus),
  integrationLatency: (r) => num(r.integrationLatency),
  'integration.latency': (r) => num(r.integrationLatency),
  integrationErrorMessage: (r) => text(r.integrationErrorMessage),
  'integration.error': (r) => text(r.integrationErrorMessage),
  'error.message': (r) => text(r.errorMessage),
  stage: () => '$default',
};
// Longest first, so `integration.status` wins over a shorter name it starts with.
const VARIABLE_NAMES = Object.keys(VARIABLES).sort((a, b) => b.length - a.length);

/**
 * Compiles an access-log format once; the result renders a record with string concatenation
 * only. Unknown `$context` variables render as "-", as API Gateway renders unavailable ones.
 */
export function compileAccessLogFormat(format: string): Render {
  const literals: string[] = [];
  const renders: Render[] = [];
  let rest = format;
  let literal = '';
  for (;;) {
    const at = rest.indexOf('$context.');
    if (at === -1) break;
    literal += rest.slice(0, at);
    const tail = rest.slice(at + '$context.'.length);
    const known = VARIABLE_NAMES.find(
      (name) => tail.startsWith(name) && !/^[A-Za-z0-9_]/.test(tail.slice(name.length)),
    );
    const name = known ?? /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*/.exec(tail)?.[0] ?? '';
    literals.push(literal);
    literal = '';
    renders.push(known ? (VARIABLES[known] as Render) : () => '-');
    rest = tail.slice(name.length);
  }
  literals.push(literal + rest);
  const tailLiteral = literals[renders.length] as string;
  return (record) => {
    let line = '';
    for (let i = 0; i < renders.length; i++) {
      line += (literals[i] as string) + (renders[i] as Render)(record);
    }
    return line + tailLiteral;
  };
}
