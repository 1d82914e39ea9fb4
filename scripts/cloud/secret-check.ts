// Deploy's check, before any change, of the SSM parameters the deployed services' `secrets:` name.
// ECS reads each one as it starts a task, with the execution role Copilot renders, which may read
// a parameter of the deploy's own account and region only, and only when it is tagged
// copilot-application=<app> and copilot-environment=<env> (workloads/partials/cf/executionrole.yml,
// v1.33.2). Without one, every task stops with ResourceInitializationError, found only after the
// deploy has waited for the rollout. One ListTagsForResource per parameter (tags, not values: the
// deploy role may read the tags of parameters under /copilot/<app>/<env>/secrets/ only,
// iam/github-deploy-role.yml); a parameter it may not read is reported as not checked.
// Secrets Manager secrets and CloudFormation exports are left to ECS.
import { ListTagsForResourceCommand } from '@aws-sdk/client-ssm';
import { CliError, type Progress } from '../cli/command.ts';
import { interpolate } from '../workspace/copilot-interpolation.ts';
import type { ServiceManifest } from '../workspace/manifests.ts';

export interface SsmSecret {
  service: string;
  /** The environment variable ECS sets from it. */
  variable: string;
  /** The parameter's name, as SSM's ListTagsForResource takes it. */
  parameter: string;
  /** The name or ARN as the manifest gives it. */
  named: string;
  /** The region of an ARN; a name is in the deploy's region. */
  region?: string;
  /** Why Copilot could not read the name (a `${NAME}` set nowhere); nothing else is checked. */
  unreadable?: string;
}

/** An SSM ARN: arn:<partition>:ssm:<region>:<account>:parameter/<name without its leading />. */
const SSM_ARN = /^arn:[\w-]+:ssm:([\w-]+):\d*:parameter(\/.+)$/;

/** A secret's SSM parameter, from its name or ARN as Copilot reads it (undefined: not SSM's). */
function parameterOf(named: string): Pick<SsmSecret, 'parameter' | 'region'> | undefined {
  const arn = SSM_ARN.exec(named);
  if (!arn) return named.startsWith('arn:') ? undefined : { parameter: named };
  // A hierarchical name keeps its leading "/"; a flat one has none (SSM's naming rules).
  const rest = arn[2] as string;
  return {
    parameter: rest.indexOf('/', 1) === -1 ? rest.slice(1) : rest,
    region: arn[1] as string,
  };
}

/**
 * The SSM parameters the services' manifests name, in manifest order, each `${NAME}` in them
 * substituted as Copilot does for this deployment (copilot-interpolation.ts).
 */
export function ssmSecrets(
  services: readonly { name: string; manifest: Pick<ServiceManifest, 'secrets'> }[],
  deployment: { app: string; env: string },
  environment: Readonly<Record<string, string | undefined>> = process.env,
): SsmSecret[] {
  return services.flatMap(({ name, manifest }) =>
    Object.entries(manifest.secrets ?? {}).flatMap(([variable, named]): SsmSecret[] => {
      if (typeof named !== 'string') return [];
      const read = interpolate(named, deployment, environment);
      if ('error' in read)
        return [{ service: name, variable, parameter: named, named, unreadable: read.error }];
      const found = parameterOf(read.text);
      return found ? [{ service: name, variable, named: read.text, ...found }] : [];
    }),
  );
}

interface Where {
  cmd: string;
  app: string;
  env: string;
  region: string;
}

type Tag = { Key?: string | undefined; Value?: string | undefined };
type TagReader = {
  send(command: ListTagsForResourceCommand): Promise<{ TagList?: Tag[] | undefined }>;
};

/** The tags missing or wrong, worded: `the tag copilot-environment=test (it has prod)`. */
function tagProblem(tags: readonly Tag[], where: Where): string | undefined {
  const wanted = { 'copilot-application': where.app, 'copilot-environment': where.env };
  // A resource's tag keys are unique (SSM AddTagsToResource overwrites a key's value).
  const wrong = Object.entries(wanted).flatMap(([key, value]) => {
    const held = tags.find((t) => t.Key === key)?.Value;
    if (held === value) return [];
    return [`${key}=${value}${held === undefined ? '' : ` (it has ${held})`}`];
  });
  if (wrong.length === 0) return undefined;
  return `lacks the tag${wrong.length > 1 ? 's' : ''} ${wrong.join(', ')} (Copilot's execution role reads only parameters tagged for this app and environment)`;
}

interface Finding {
  problem?: string;
  /** The problem is the tags alone: the parameter exists where the tasks read it. */
  tagsOnly?: boolean;
  unchecked?: string;
}

type Verdict = Finding & { secret: SsmSecret };

/** One parameter's verdict: a problem, a note that it was not checked, or nothing. */
async function verdict(ssm: TagReader, secret: SsmSecret, where: Where): Promise<Finding> {
  const about = `${secret.service}: secret ${secret.variable}: SSM parameter`;
  if (secret.unreadable !== undefined) {
    return {
      problem: `${about} ${secret.named}: ${secret.unreadable} (Copilot refuses the manifest)`,
    };
  }
  if (secret.region !== undefined && secret.region !== where.region) {
    const problem = `${about} ${secret.named} is in ${secret.region}; Copilot's execution role reads parameters of ${where.region} only`;
    return { problem };
  }
  try {
    const input = { ResourceType: 'Parameter' as const, ResourceId: secret.parameter };
    const { TagList } = await ssm.send(new ListTagsForResourceCommand(input));
    const problem = tagProblem(TagList ?? [], where);
    if (problem === undefined) return {};
    return { problem: `${about} ${secret.parameter} ${problem}`, tagsOnly: true };
  } catch (error) {
    const e = error as Error;
    if (e.name === 'InvalidResourceId') {
      return { problem: `${about} ${secret.parameter} does not exist in ${where.region}` };
    }
    if (e.name === 'AccessDeniedException') {
      return { unchecked: `${about} ${secret.parameter} not checked (${e.name}: ${e.message})` };
    }
    throw error;
  }
}

/** Every secret's verdict, asked at once (a few calls, which the SDK retries if throttled). */
function verdicts(ssm: TagReader, secrets: readonly SsmSecret[], where: Where): Promise<Verdict[]> {
  return Promise.all(
    secrets.map(async (secret) => ({ secret, ...(await verdict(ssm, secret, where)) })),
  );
}

/** Every problem with the secrets, and what could not be checked. */
export async function checkSsmSecrets(ssm: TagReader, secrets: readonly SsmSecret[], where: Where) {
  const all = await verdicts(ssm, secrets, where);
  return {
    problems: all.flatMap((v) => (v.problem ? [v.problem] : [])),
    unchecked: all.flatMap((v) => (v.unchecked ? [v.unchecked] : [])),
  };
}

/** The command that mends the first problem: create the parameter, or tag it. */
function mend(failed: readonly [Verdict, ...Verdict[]], where: Where): string {
  const tags = `--tags Key=copilot-application,Value=${where.app} Key=copilot-environment,Value=${where.env}`;
  const absent = failed.find((v) => !v.tagsOnly);
  if (absent) {
    return `aws ssm put-parameter --region ${where.region} --name ${absent.secret.parameter} --type SecureString --value <value> ${tags}`;
  }
  return `aws ssm add-tags-to-resource --region ${where.region} --resource-type Parameter --resource-id ${failed[0].secret.parameter} ${tags}`;
}

/** Stops the deploy, before any change, on a secret the tasks could not read; warns of the unchecked. */
export async function requireSsmSecrets(
  ssm: TagReader,
  secrets: readonly SsmSecret[],
  where: Where,
  log: Pick<Progress, 'warn'>,
): Promise<void> {
  const all = await verdicts(ssm, secrets, where);
  for (const v of all) if (v.unchecked) log.warn(v.unchecked);
  const failed = all.filter((v) => v.problem !== undefined);
  if (failed.length === 0) return;
  const count = failed.length === 1 ? '1 secret' : `${failed.length} secrets`;
  throw new CliError(
    `${where.cmd}: ${count} the tasks could not read (nothing was changed)`,
    failed.map((v) => v.problem).join('\n'),
    mend(failed as [Verdict, ...Verdict[]], where),
  );
}
