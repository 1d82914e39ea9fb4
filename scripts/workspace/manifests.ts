// Reads the Copilot workspace: the single source of truth for service names, ports, paths,
// health checks and counts. The schemas cover the fields this project uses and reject any
// other key, so a misspelt field fails here, by file and field, instead of being silently
// ignored by Copilot or by the local stack.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { copilotSeconds } from './copilot-durations.ts';
import { firstYamlDocument, readYamlFile } from './files.ts';
import { parseHttpCode } from './http-codes.ts';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/**
 * The internal ALB's idle timeout. No manifest can set it: Copilot's environment template
 * (`templates/environment/cf.yml`, InternalLoadBalancer) gives the load balancer no
 * LoadBalancerAttributes, so ELB's default `idle_timeout.timeout_seconds` of 60 applies
 * (Elastic Load Balancing API reference, LoadBalancerAttribute). A service must keep idle
 * keep-alive sockets open longer than this, or the ALB may reuse one it is closing (a 502).
 */
export const INTERNAL_ALB_IDLE_TIMEOUT_SECONDS = 60;

/** A Copilot duration in the ms of the whole seconds Copilot renders; undefined for none. */
function durationMs(value: string): number | undefined {
  const rendered = copilotSeconds(value);
  return rendered === undefined ? undefined : rendered.seconds * 1000;
}

export function parseDuration(value: string): number {
  const ms = durationMs(value);
  if (ms === undefined) throw new Error(`"${value}" is not a duration like 10s, 1m30s or 500ms`);
  return ms;
}

const duration = z.string().refine((v) => durationMs(v) !== undefined, {
  message: "expected a duration like 10s, 1m30s or 500ms (Go's syntax, which Copilot reads)",
});

/**
 * A duration Copilot renders into the service's stack, within the bounds its AWS API takes, so a
 * value AWS refuses is refused here rather than failing the service stack on deploy (Copilot
 * checks none: validate.go HTTPHealthCheckArgs.validate, v1.33.2). The bounds apply to the whole
 * seconds Copilot renders, and the message says so when they drop a fraction.
 */
const durationWithin = (minS: number, maxS: number, source: string) =>
  duration.refine(
    (v) => {
      const s = copilotSeconds(v)?.seconds;
      // Not a duration at all: `duration` says so, once.
      return s === undefined || (s >= minS && s <= maxS);
    },
    {
      error: ({ input }) => {
        const { seconds, whole } = copilotSeconds(input as string) as {
          seconds: number;
          whole: boolean;
        };
        const dropped = whole ? '' : `; Copilot renders ${input} as ${seconds}s (whole seconds)`;
        return `expected ${minS}s to ${maxS}s (${source})${dropped}`;
      },
    },
  );

const workspaceSchema = z.strictObject({ application: z.string().regex(/^[a-z][a-z0-9-]*$/) });

/**
 * A field Copilot decodes into a Go bool: yaml.v3 takes the YAML 1.1 words too (y, yes, on and
 * n, no, off, in three casings), quoted or not (decode.go: "compatibility with the 1.1 spec",
 * for a typed bool), where the yaml package reads them as text.
 */
const YAML11_BOOLEANS = new Map<unknown, boolean>([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON'].map((word) => [word, true] as const),
  ...['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'].map((word) => [word, false] as const),
]);
const copilotBoolean = z.preprocess((value) => YAML11_BOOLEANS.get(value) ?? value, z.boolean());

/**
 * A count range in Copilot's two forms (manifest Range and IntRangeBand, svc.go; validate.go's
 * intRangeBandRegexp, v1.33.2): the map `{min, max}`, or the text `<min>-<max>`, read here as
 * the map it stands for.
 */
const RANGE_BAND = /^(\d+)-(\d+)$/;
const countRange = z.preprocess(
  (value) => {
    const band = typeof value === 'string' ? RANGE_BAND.exec(value) : null;
    return band ? { min: Number(band[1]), max: Number(band[2]) } : value;
  },
  z.strictObject(
    { min: z.number().int().min(1), max: z.number().int().min(1) },
    {
      error: ({ input }) =>
        typeof input === 'string'
          ? `"${input}" is not a range: write <min>-<max> (Copilot's form) or min: and max:`
          : undefined,
    },
  ),
);

const environmentSchema = z.strictObject({
  name: z.string(),
  type: z.literal('Environment'),
  network: z
    .strictObject({
      vpc: z.strictObject({ id: z.string().optional(), cidr: z.string().optional() }).optional(),
    })
    .optional(),
  observability: z.strictObject({ container_insights: copilotBoolean }).optional(),
  http: z
    .strictObject({
      private: z
        .strictObject({
          // `ingress.vpc: true` opens the internal ALB to the whole VPC: allowed by Copilot, so
          // read here, and refused by the policy (PRJ.ALB_INGRESS), which names the field.
          ingress: z.strictObject({ vpc: copilotBoolean }).optional(),
          security_groups: z
            .strictObject({ ingress: z.strictObject({ from_vpc: copilotBoolean }) })
            .optional(),
        })
        .optional(),
    })
    .optional(),
});

/**
 * Where ECS reads a secret from when it starts a task, in Copilot's three forms (manifest Secret,
 * internal/pkg/manifest/workload_ecs.go, v1.33.2): an SSM parameter's name or a secret's ARN, a
 * Secrets Manager secret's name, or a value another stack exports. Copilot checks none of them
 * (validate.go, Secret.validate) beyond a non-empty `from_cfn`; any empty name is refused here.
 */
const secretName = z.string().min(1, 'cannot be empty: ECS could never read it');
const secretSchema = z.union(
  [
    secretName,
    z.strictObject({ secretsmanager: secretName }),
    z.strictObject({ from_cfn: secretName }),
  ],
  {
    error:
      'expected an SSM parameter name or ARN, { secretsmanager: <name> } or { from_cfn: <export> }',
  },
);

/**
 * image.build in Copilot's forms (manifest BuildArgsOrString; ImageLocationOrBuild's
 * dockerfilePath and contextPath, workload.go, v1.33.2): a Dockerfile's path alone, as
 * `copilot svc init` writes it (its folder is the context), or a map of `dockerfile` and
 * `context`, one of which may be left out (the Dockerfile's folder; `Dockerfile` in the
 * context). Read here as both.
 */
function buildPaths(value: unknown): unknown {
  if (typeof value === 'string') return { dockerfile: value, context: path.posix.dirname(value) };
  // Nothing, or null (`build:` with no value), has no fields to read; the schema says so.
  if (value === undefined || value === null) return value;
  const { dockerfile, context } = value as { dockerfile?: unknown; context?: unknown };
  if (typeof dockerfile === 'string' && context === undefined) {
    return { ...value, context: path.posix.dirname(dockerfile) };
  }
  if (typeof context === 'string' && dockerfile === undefined) {
    return { ...value, dockerfile: path.posix.join(context, 'Dockerfile') };
  }
  return value;
}

/**
 * The platform in Copilot's two forms, `<os>/<arch>` or `{osfamily, architecture}`, as its
 * validation compares them: in lower case (PlatformArgsOrString; validate.go
 * PlatformString.validate and PlatformArgs.validate, v1.33.2). Read here as the text.
 */
function platformText(value: unknown): unknown {
  if (typeof value === 'string') return value.toLowerCase();
  // Nothing, or null, has no fields to read; the schema says so.
  if (value === undefined || value === null) return value;
  const { osfamily, architecture, ...rest } = value as Record<string, unknown>;
  // A pair whose halves are not the words of a platform makes a text that is none (the schema
  // refuses it as it would the pair); another field beside them is refused as a map.
  return Object.keys(rest).length === 0 ? `${osfamily}/${architecture}`.toLowerCase() : value;
}

const taskdefOverrideSchema = z.strictObject({
  path: z.string(),
  value: z.union([z.string(), z.number(), z.boolean()]),
});

const serviceSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/),
  type: z.literal('Backend Service'),
  image: z.strictObject({
    build: z.preprocess(
      buildPaths,
      z.strictObject({ dockerfile: z.string().min(1), context: z.string().min(1) }),
    ),
    port: z.number().int().min(1).max(65535),
  }),
  http: z.strictObject({
    path: z.string().regex(/^[a-z0-9][a-z0-9/_-]*$/, 'expected a path without a leading slash'),
    healthcheck: z.strictObject({
      path: z.string().startsWith('/'),
      // The target group's Matcher (http-codes.ts): a list or a range, from 200 to 499.
      success_codes: z.string().refine((text) => 'codes' in parseHttpCode(text), {
        error: ({ input }) => (parseHttpCode(input as string) as { error: string }).error,
      }),
      healthy_threshold: z.number().int().min(2).max(10),
      unhealthy_threshold: z.number().int().min(2).max(10),
      // AWS::ElasticLoadBalancingV2::TargetGroup: HealthCheckIntervalSeconds 5-300,
      // HealthCheckTimeoutSeconds 2-120 (workloads/partials/cf/alb.yml renders both).
      interval: durationWithin(5, 300, 'ELB health-check interval'),
      timeout: durationWithin(2, 120, 'ELB health-check timeout'),
      // ECS's HealthCheckGracePeriodSeconds: up to 2,147,483,647 (ECS API reference, CreateService).
      grace_period: durationWithin(0, 2_147_483_647, 'ECS health-check grace period'),
    }),
    // The target group's deregistration_delay.timeout_seconds: 0-3600 (ELB TargetGroupAttribute).
    deregistration_delay: durationWithin(0, 3600, 'ELB deregistration delay'),
  }),
  cpu: z.number().int(),
  memory: z.number().int(),
  // Copilot's Linux platforms (workload_ecs.go validShortPlatforms and validAdvancedPlatforms,
  // v1.33.2); its Windows ones are refused: the services' images are Linux, and the local stack
  // runs them as Linux tasks.
  platform: z.preprocess(
    platformText,
    z.enum(['linux/x86_64', 'linux/amd64', 'linux/arm64', 'linux/arm']),
  ),
  count: z.strictObject({
    range: countRange,
    // Copilot refuses a range with no scaling target ("must specify at least one of ...":
    // validate.go AdvancedCount.validate, v1.33.2); cpu_percentage is the one read here.
    cpu_percentage: z
      .number({
        error: (issue) =>
          issue.input === undefined
            ? 'a range needs a scaling target: set cpu_percentage (Copilot refuses a range without one)'
            : undefined,
      })
      .int()
      .min(1)
      .max(100),
  }),
  network: z.strictObject({
    // Copilot's two placements; the policy (ECS.2) requires private.
    vpc: z.strictObject({ placement: z.enum(['public', 'private']) }),
  }),
  logging: z.strictObject({ retention: z.number().int().min(1) }).optional(),
  // Copilot's two rolling strategies (manifest `deployment.rolling`), in any case: validate.go
  // and transformers.go compare them with strings.EqualFold (v1.33.2).
  deployment: z
    .strictObject({
      rolling: z
        .string()
        .toLowerCase()
        .pipe(z.enum(['default', 'recreate'])),
    })
    .optional(),
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  secrets: z.record(z.string(), secretSchema).optional(),
  taskdef_overrides: z.array(taskdefOverrideSchema).optional(),
});

export type ServiceManifest = z.infer<typeof serviceSchema>;
export type EnvironmentManifest = z.infer<typeof environmentSchema>;

/** A service manifest plus what follows from it, in the units the code uses. */
export interface Service {
  name: string;
  manifestFile: string;
  manifest: ServiceManifest;
  port: number;
  /** `/api/books`: Copilot's rule matches it and everything below it. */
  pathPrefix: string;
  health: {
    path: string;
    successCodes: number[];
    healthyThreshold: number;
    unhealthyThreshold: number;
    intervalMs: number;
    timeoutMs: number;
    gracePeriodMs: number;
  };
  deregistrationDelayMs: number;
  /**
   * The ECS service's DeploymentConfiguration as Copilot renders it: 100% and 200% by
   * default, 0% and 100% for `deployment.rolling: recreate` (`stack/transformers.go`
   * convertDeploymentControllerConfig, v1.33.2, into `partials/cf/service-base-properties.yml`).
   */
  minimumHealthyPercent: number;
  maximumPercent: number;
  minCount: number;
  maxCount: number;
  variables: Record<string, string>;
  /**
   * The manifest's `secrets:`: each environment variable ECS sets from a secret when it starts a
   * task, and where it reads it from, in words (`SSM parameter "/app/db"`).
   */
  secrets: Record<string, string>;
  /** The folder holding the service's code and Dockerfile. */
  sourceDir: string;
}

export interface Workspace {
  root: string;
  application: string;
  environments: { name: string; manifestFile: string; manifest: EnvironmentManifest }[];
  services: Service[];
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

function describeIssues(file: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.join('.') || '(top level)';
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => [...issue.path, k].join('.')).join(', ');
        return `${file}: unknown field ${keys} (misspelt, or not supported by this project)`;
      }
      return `${file}: field ${where}: ${issue.message}`;
    })
    .join('\n');
}

function readYaml(
  root: string,
  relative: string,
  parse: (text: string) => unknown = (text) => firstYamlDocument(text),
): unknown {
  const fail = (message: string) => new ManifestError(message);
  return readYamlFile(path.join(root, relative), relative, parse, fail);
}

function checked<T>(schema: z.ZodType<T>, relative: string, data: unknown): T {
  const result = schema.safeParse(data);
  if (!result.success) throw new ManifestError(describeIssues(relative, result.error));
  return result.data;
}

function validate<T>(schema: z.ZodType<T>, root: string, relative: string): T {
  return checked(schema, relative, readYaml(root, relative));
}

/**
 * A service's manifest, read once: validated, and its variables as written. Copilot reads each
 * variable as a string (manifest Variable, internal/pkg/manifest/svc.go StringOrFromCFN,
 * v1.33.2), and yaml.v3 decodes any scalar into a string as its text (decode.go, scalar), so
 * `1.10`, `True` and `0x10` reach the task definition as written. The YAML failsafe schema reads
 * every scalar as its text too; the validated manifest has already refused anything but scalars.
 */
function readService(root: string, manifestFile: string) {
  const [data, asText] = readYaml(root, manifestFile, (text) => [
    firstYamlDocument(text),
    firstYamlDocument(text, { schema: 'failsafe' }),
  ]) as [unknown, { variables?: Record<string, string> }];
  return toService(root, manifestFile, checked(serviceSchema, manifestFile, data), asText);
}

function toService(
  root: string,
  manifestFile: string,
  manifest: ServiceManifest,
  asText: { variables?: Record<string, string> },
): Service {
  const folder = path.basename(path.dirname(manifestFile));
  if (manifest.name !== folder) {
    throw new ManifestError(
      `${manifestFile}: field name: "${manifest.name}" must equal its folder name "${folder}"`,
    );
  }
  const { range } = manifest.count;
  if (range.min > range.max) {
    throw new ManifestError(
      `${manifestFile}: field count.range: min ${range.min} > max ${range.max}`,
    );
  }
  const hc = manifest.http.healthcheck;
  return {
    name: manifest.name,
    manifestFile,
    manifest,
    port: manifest.image.port,
    pathPrefix: `/${manifest.http.path.replace(/\/+$/, '')}`,
    health: {
      path: hc.path,
      // The schema refused any text that is not a list or a range of codes.
      successCodes: (parseHttpCode(hc.success_codes) as { codes: number[] }).codes,
      healthyThreshold: hc.healthy_threshold,
      unhealthyThreshold: hc.unhealthy_threshold,
      intervalMs: parseDuration(hc.interval),
      timeoutMs: parseDuration(hc.timeout),
      gracePeriodMs: parseDuration(hc.grace_period),
    },
    deregistrationDelayMs: parseDuration(manifest.http.deregistration_delay),
    ...deploymentPercents(manifest.deployment?.rolling),
    minCount: range.min,
    maxCount: range.max,
    variables: asText.variables ?? {},
    secrets: secretSources(manifest.secrets ?? {}),
    sourceDir: path.join(root, path.dirname(manifest.image.build.dockerfile)),
  };
}

function secretSources(secrets: NonNullable<ServiceManifest['secrets']>): Record<string, string> {
  const where = (secret: (typeof secrets)[string]): string => {
    if (typeof secret !== 'string') {
      return 'secretsmanager' in secret
        ? `Secrets Manager secret "${secret.secretsmanager}"`
        : `the value exported as "${secret.from_cfn}"`;
    }
    return secret.startsWith('arn:') ? `"${secret}"` : `SSM parameter "${secret}"`;
  };
  return Object.fromEntries(Object.entries(secrets).map(([name, s]) => [name, where(s)]));
}

function deploymentPercents(rolling: 'default' | 'recreate' | undefined) {
  return rolling === 'recreate'
    ? { minimumHealthyPercent: 0, maximumPercent: 100 }
    : { minimumHealthyPercent: 100, maximumPercent: 200 };
}

function subfolders(dir: string): string[] {
  return readdirSync(dir)
    .filter((entry) => statSync(path.join(dir, entry)).isDirectory())
    .sort();
}

/**
 * The environments: the folders of `copilot/environments/` that hold a manifest, as Copilot
 * lists them (internal/pkg/workspace/workspace.go ListEnvironments), so its `overrides/` folder
 * (the environments' YAML patches) is not taken for an environment.
 */
function environmentNames(copilotDir: string): string[] {
  const dir = path.join(copilotDir, 'environments');
  // None yet (services initialised before `copilot env init`): the callers that need one say so.
  if (!existsSync(dir)) return [];
  return subfolders(dir).filter((name) => existsSync(path.join(dir, name, 'manifest.yml')));
}

/**
 * The services: the folders of `copilot/` that hold a manifest, as Copilot lists its workloads
 * (internal/pkg/workspace/workspace.go listWorkloads, v1.33.2), so neither `environments/` nor a
 * folder such as `copilot pipeline init`'s `pipelines/` is taken for a service.
 */
function serviceNames(copilotDir: string): string[] {
  return subfolders(copilotDir).filter((name) =>
    existsSync(path.join(copilotDir, name, 'manifest.yml')),
  );
}

/** Reads and validates every manifest under `<root>/copilot`. Throws ManifestError. */
export function loadWorkspace(root: string = repoRoot): Workspace {
  const copilotDir = path.join(root, 'copilot');
  const { application } = validate(workspaceSchema, root, 'copilot/.workspace');
  const environments = environmentNames(copilotDir).map((name) => {
    const manifestFile = `copilot/environments/${name}/manifest.yml`;
    return { name, manifestFile, manifest: validate(environmentSchema, root, manifestFile) };
  });
  const services = serviceNames(copilotDir).map((name) => {
    const manifestFile = `copilot/${name}/manifest.yml`;
    return readService(root, manifestFile);
  });
  if (services.length === 0) throw new ManifestError('copilot/: no service manifest found');
  return { root, application, environments, services };
}

/**
 * The value a task-definition override sets, if the manifest sets it: the last rule for the
 * path, as Copilot applies the rules in order (internal/pkg/template/override/override.go
 * applyRules, v1.33.2).
 */
export function taskdefOverride(service: Service, overridePath: string): unknown {
  return service.manifest.taskdef_overrides?.findLast((o) => o.path === overridePath)?.value;
}

/**
 * The Host a service also answers to behind the internal ALB, `<svc>.<env>.<app>.internal`: the
 * internal ALB's alias in the environment's InternalWorkloadsHostedZone (aws/copilot-cli
 * v1.33.2, templates/environment/cf.yml InternalWorkloadsHostedZone; workloads/partials/cf/
 * http-listener.yml LoadBalancerInternalDNSAlias), which the service's listener rule accepts.
 * It is not service discovery: that namespace is `<env>.<app>.local` (stack/env.go), whose names
 * reach the tasks directly, bypassing the ALB.
 */
export function internalHost(service: string, env: string, app: string): string {
  return `${service}.${env}.${app}.internal`;
}
