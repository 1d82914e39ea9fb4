// Deploy's check, before any change, of the SSM parameters and Secrets Manager secrets the
// deployed services' `secrets:` name. ECS reads each one as it starts a task, with the execution
// role Copilot renders, which may read a parameter or secret of the deploy's own account and
// region only, and only when it is tagged copilot-application=<app> and
// copilot-environment=<env> (workloads/partials/cf/executionrole.yml, v1.33.2). Without one,
// every task stops with ResourceInitializationError, found only after the deploy has waited for
// the rollout. One call per secret, for its tags, never its value (secret-stores.ts): the deploy
// role may read the tags of parameters under /copilot/<app>/<env>/secrets/ and describe the
// region's secrets (iam/github-deploy-role.yml); one it may not read is reported as not checked.
// CloudFormation exports (`from_cfn`) and another account's ARNs are left to ECS.
import { CliError, type Progress } from '../cli/command.ts';
import { interpolate } from '../workspace/copilot-interpolation.ts';
import type { ServiceManifest } from '../workspace/manifests.ts';
import {
  type Found,
  type Place,
  restoreSecret,
  type SecretReaders,
  type SecretStore,
  secretsManagerStore,
  ssmStore,
  type Tag,
} from './secret-stores.ts';

export interface TaskSecret {
  service: string;
  /** The environment variable ECS sets from it. */
  variable: string;
  store: 'ssm' | 'secretsmanager';
  /**
   * What the store is asked by: an SSM parameter's name; a secret's name or ARN without the
   * JSON key, stage and version ECS may read after it.
   */
  id: string;
  /** The name or ARN as the manifest gives it. */
  named: string;
  /** The region of an ARN; a name is in the deploy's region. */
  region?: string;
  /** Why Copilot could not read the name (a `${NAME}` set nowhere); nothing else is checked. */
  unreadable?: string;
}

const STORES: Record<TaskSecret['store'], SecretStore> = {
  ssm: ssmStore,
  secretsmanager: secretsManagerStore,
};

/** An SSM ARN: arn:<partition>:ssm:<region>:<account>:parameter/<name without its leading />. */
const SSM_ARN = /^arn:[\w-]+:ssm:([\w-]+):\d*:parameter(\/.+)$/;
/**
 * A Secrets Manager ARN, then what ECS reads after it (`:<json-key>:<stage>:<version>`, ECS
 * developer guide, "Pass Secrets Manager secrets through environment variables"); a secret's
 * name has no `:` (Secrets Manager's naming rules).
 */
const SECRET_ARN = /^(arn:[\w-]+:secretsmanager:([\w-]+):\d*:secret:[^:]+)(:.*)?$/;

type Located = Pick<TaskSecret, 'store' | 'id' | 'region'>;

/** A string secret's store, from its name or ARN as Copilot reads it (undefined: another's). */
function storeOf(named: string): Located | undefined {
  const secret = SECRET_ARN.exec(named);
  if (secret)
    return { store: 'secretsmanager', id: secret[1] as string, region: secret[2] as string };
  const arn = SSM_ARN.exec(named);
  if (!arn) return named.startsWith('arn:') ? undefined : { store: 'ssm', id: named };
  // A hierarchical name keeps its leading "/"; a flat one has none (SSM's naming rules).
  const rest = arn[2] as string;
  const id = rest.indexOf('/', 1) === -1 ? rest.slice(1) : rest;
  return { store: 'ssm', id, region: arn[1] as string };
}

/**
 * A `secretsmanager: <name>`: Copilot renders it as the ARN of that name in the deploy's own
 * account and region (`secret:<name>` under a `!Sub` of the partition, region and account:
 * internal/pkg/template/workload.go, secretsManagerName; rendered in
 * stack/testdata/workloads/job-test.stack.yml, v1.33.2), so a JSON key after the name
 * (`name:key::`) is read as ECS reads it.
 */
const secretNamed = (name: string): Located => ({
  store: 'secretsmanager',
  id: name.split(':')[0] as string,
});

type ManifestSecret = NonNullable<ServiceManifest['secrets']>[string];

/** The name a secret's form gives, and how it is located (undefined: not checked here). */
function nameOf(
  form: ManifestSecret,
): { named: string; locate: (text: string) => Located | undefined } | undefined {
  if (typeof form === 'string') return { named: form, locate: storeOf };
  if ('secretsmanager' in form) return { named: form.secretsmanager, locate: secretNamed };
  return undefined;
}

/**
 * The SSM parameters and Secrets Manager secrets the services' manifests name, in manifest
 * order, each `${NAME}` in them substituted as Copilot does for this deployment
 * (copilot-interpolation.ts).
 */
export function taskSecrets(
  services: readonly { name: string; manifest: Pick<ServiceManifest, 'secrets'> }[],
  deployment: { app: string; env: string },
  environment: Readonly<Record<string, string | undefined>> = process.env,
): TaskSecret[] {
  return services.flatMap(({ name, manifest }) =>
    Object.entries(manifest.secrets ?? {}).flatMap(([variable, form]): TaskSecret[] => {
      const given = nameOf(form);
      if (!given) return [];
      const read = interpolate(given.named, deployment, environment);
      const about = { service: name, variable };
      if ('error' in read) {
        // Located with each `${NAME}` read as a word, so an ARN keeps its shape.
        const located = given.locate(given.named.replace(/\$\{\w+\}/g, 'x'));
        if (!located) return [];
        const { store } = located;
        return [{ ...about, store, id: given.named, named: given.named, unreadable: read.error }];
      }
      const found = given.locate(read.text);
      return found ? [{ ...about, named: read.text, ...found }] : [];
    }),
  );
}

interface Where extends Place {
  cmd: string;
}

/** The tags missing or wrong, worded: `the tag copilot-environment=test (it has prod)`. */
function tagProblem(tags: readonly Tag[], where: Where, kinds: string): string | undefined {
  const wanted = { 'copilot-application': where.app, 'copilot-environment': where.env };
  // A resource's tag keys are unique (SSM AddTagsToResource and Secrets Manager TagResource
  // overwrite a key's value).
  const wrong = Object.entries(wanted).flatMap(([key, value]) => {
    const held = tags.find((t) => t.Key === key)?.Value;
    if (held === value) return [];
    return [`${key}=${value}${held === undefined ? '' : ` (it has ${held})`}`];
  });
  if (wrong.length === 0) return undefined;
  return `lacks the tag${wrong.length > 1 ? 's' : ''} ${wrong.join(', ')} (Copilot's execution role reads only ${kinds} tagged for this app and environment)`;
}

interface Finding {
  problem?: string;
  /** The command that mends the problem. */
  fix?: 'create' | 'tag' | 'restore';
  unchecked?: string;
}

type Verdict = Finding & { secret: TaskSecret };

/** Where the secret is not: a name Copilot cannot read, or another region. */
function misplaced(
  secret: TaskSecret,
  where: Where,
  about: string,
  kinds: string,
): Finding | undefined {
  if (secret.unreadable !== undefined) {
    return {
      problem: `${about} ${secret.named}: ${secret.unreadable} (Copilot refuses the manifest)`,
    };
  }
  if (secret.region !== undefined && secret.region !== where.region) {
    const problem = `${about} ${secret.named} is in ${secret.region}; Copilot's execution role reads ${kinds} of ${where.region} only`;
    return { problem, fix: 'create' };
  }
  return undefined;
}

/** What a store's answer means for the tasks: `about` names the resource, `kinds` its kind. */
function judged(found: Found, about: string, where: Where, kinds: string): Finding {
  switch (found.kind) {
    case 'missing':
      return { problem: `${about} does not exist in ${where.region}`, fix: 'create' };
    case 'deleted': {
      const since = found.on.toISOString();
      return {
        problem: `${about} is scheduled for deletion (${since}): no one can read it`,
        fix: 'restore',
      };
    }
    case 'tagged': {
      const problem = tagProblem(found.tags, where, kinds);
      return problem === undefined ? {} : { problem: `${about} ${problem}`, fix: 'tag' };
    }
  }
}

/** One secret's verdict: a problem, a note that it was not checked, or nothing. */
async function verdict(readers: SecretReaders, secret: TaskSecret, where: Where): Promise<Finding> {
  const store = STORES[secret.store];
  const about = `${secret.service}: secret ${secret.variable}: ${store.noun}`;
  // `SSM parameter` -> `parameters`: what the execution role reads, in the messages.
  const kinds = `${store.noun.split(' ').at(-1)}s`;
  const early = misplaced(secret, where, about, kinds);
  if (early) return early;
  try {
    const found = await store.read(readers, secret.id);
    return judged(found, `${about} ${secret.id}`, where, kinds);
  } catch (error) {
    const e = error as Error;
    if (e.name === 'AccessDeniedException') {
      const why = `${e.name}: ${e.message}; ${store.denied(where)}`;
      return { unchecked: `${about} ${secret.id} not checked (${why})` };
    }
    throw error;
  }
}

/** Every secret's verdict, asked at once (a few calls, which the SDK retries if throttled). */
function verdicts(
  readers: SecretReaders,
  secrets: readonly TaskSecret[],
  where: Where,
): Promise<Verdict[]> {
  return Promise.all(
    secrets.map(async (secret) => ({ secret, ...(await verdict(readers, secret, where)) })),
  );
}

/** Every problem with the secrets, and what could not be checked. */
export async function checkSecrets(
  readers: SecretReaders,
  secrets: readonly TaskSecret[],
  where: Where,
) {
  const all = await verdicts(readers, secrets, where);
  return {
    problems: all.flatMap((v) => (v.problem ? [v.problem] : [])),
    unchecked: all.flatMap((v) => (v.unchecked ? [v.unchecked] : [])),
  };
}

/**
 * The command that mends the first problem a command can mend, the ones that must come first
 * first: restore a secret being deleted, create what is missing, then tag.
 */
function mend(failed: readonly Verdict[], where: Where): string | undefined {
  for (const fix of ['restore', 'create', 'tag'] as const) {
    const first = failed.find((v) => v.fix === fix)?.secret;
    if (!first) continue;
    if (fix === 'restore') return restoreSecret(where, first.id);
    return STORES[first.store][fix](where, first.id);
  }
  return undefined;
}

/** Stops the deploy, before any change, on a secret the tasks could not read; warns of the unchecked. */
export async function requireSecrets(
  readers: SecretReaders,
  secrets: readonly TaskSecret[],
  where: Where,
  log: Pick<Progress, 'warn'>,
): Promise<void> {
  const all = await verdicts(readers, secrets, where);
  for (const v of all) if (v.unchecked) log.warn(v.unchecked);
  const failed = all.filter((v) => v.problem !== undefined);
  if (failed.length === 0) return;
  const count = failed.length === 1 ? '1 secret' : `${failed.length} secrets`;
  throw new CliError(
    `${where.cmd}: ${count} the tasks could not read (nothing was changed)`,
    failed.map((v) => v.problem).join('\n'),
    mend(failed, where),
  );
}
