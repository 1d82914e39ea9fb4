// Policy as code over what Copilot deploys: the ECS and CloudWatch controls that a manifest or
// a task-definition override can set, evaluated before anything is deployed, so a setting that
// Security Hub would flag after the deploy fails here first. The addon template is covered by
// cfn-guard with the Control Tower rules (scripts/checks/cfn-guard.ts), not here.
//
// Controls carry the AWS Security Hub id where one exists (or the Control Tower id), else a
// PRJ.* id of this project. A failing control either gets fixed or gets an exception, with
// its reason, in policy/exceptions.yml: the one place exceptions are recorded.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { drainSecondsFrom } from '../../services/common/src/lifecycle.ts';
import { cfnBoolean, cfnInteger, readValue } from '../workspace/cfn-value.ts';
import { finalStage } from '../workspace/container-command.ts';
import { readText, yamlErrorLine } from '../workspace/files.ts';
import { type Service, taskdefOverride, type Workspace } from '../workspace/manifests.ts';
import { fieldAt } from '../workspace/value-at.ts';

export const EXCEPTIONS_FILE = 'policy/exceptions.yml';

/** Copilot's log group retention when the manifest sets no `logging.retention` (v1.33). */
const COPILOT_DEFAULT_LOG_RETENTION_DAYS = 30;
/** Security Hub CloudWatch.16's default `minRetentionTime`. */
const MIN_LOG_RETENTION_DAYS = 365;
/** Fargate's ceiling for a container's StopTimeout. */
const MAX_FARGATE_STOP_TIMEOUT_SECONDS = 120;

type PolicyStatus = 'PASS' | 'FAIL' | 'EXCEPTION';

interface PolicyRow {
  control: string;
  /** A service or environment name. */
  resource: string;
  status: PolicyStatus;
  /** What the control found. */
  detail: string;
  /** For an EXCEPTION: the reason recorded in policy/exceptions.yml. */
  reason?: string;
}

export interface Verdict {
  pass: boolean;
  detail: string;
}

interface PolicyContext {
  workspace: Workspace;
  /** Reads a file relative to the workspace root (tests substitute it). */
  readText: (relative: string) => string;
}

export interface Control {
  id: string;
  title: string;
  scope: 'service' | 'environment';
  evaluate: (subject: unknown, context: PolicyContext) => Verdict;
}

const CONTAINER = 'ContainerDefinitions[0]';

const override = (service: Service, name: string) =>
  taskdefOverride(service, `${CONTAINER}.${name}`);

const isRootUser = (user: string) => /^(root|0)(:|$)/.test(user.trim());

/** The last USER of the Dockerfile's final stage, or undefined when it sets none. */
export function finalStageUser(dockerfile: string): string | undefined {
  return finalStage(DockerfileParser.parse(dockerfile))
    .filter((i) => i.getKeyword() === 'USER')
    .at(-1)
    ?.getArgumentsContent()
    ?.trim();
}

/** Fargate's CPU units and the memory sizes (MiB) each allows. */
function fargateMemoryFor(cpu: number): number[] {
  const range = (from: number, to: number, step: number) =>
    Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
  const table: Record<number, number[]> = {
    256: [512, 1024, 2048],
    512: range(1024, 4096, 1024),
    1024: range(2048, 8192, 1024),
    2048: range(4096, 16384, 1024),
    4096: range(8192, 30720, 1024),
    8192: range(16384, 61440, 4096),
    16384: range(32768, 122880, 8192),
  };
  return table[cpu] ?? [];
}

/** Names ECS.8 checks, plus the usual spellings of a credential. */
const SECRET_VARIABLE = /^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|ECS_ENGINE_AUTH_DATA)$/;
const SECRET_LIKE_VARIABLE = /SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL/i;

const service = (evaluate: (s: Service, c: PolicyContext) => Verdict) => ({
  scope: 'service' as const,
  evaluate: (subject: unknown, context: PolicyContext) => evaluate(subject as Service, context),
});
const environment = (evaluate: (manifest: unknown) => Verdict) => ({
  scope: 'environment' as const,
  evaluate: (subject: unknown) => evaluate(subject),
});

export const CONTROLS: Control[] = [
  {
    id: 'ECS.2',
    title: 'ECS services should not have public IP addresses assigned to them automatically',
    // Copilot assigns a public IP only when tasks are placed in public subnets.
    ...service((s) => {
      const placement = fieldAt(s.manifest, 'network.vpc.placement');
      return placement === 'private'
        ? { pass: true, detail: 'network.vpc.placement: private' }
        : { pass: false, detail: `network.vpc.placement is ${String(placement)}: set private` };
    }),
  },
  {
    id: 'ECS.5',
    title: 'ECS containers should be limited to read-only access to root filesystems',
    ...service((s) => {
      if (override(s, 'ReadonlyRootFilesystem') === true) {
        return { pass: true, detail: `taskdef override ${CONTAINER}.ReadonlyRootFilesystem: true` };
      }
      if (fieldAt(s.manifest, 'storage.readonly_fs') === true) {
        return { pass: true, detail: 'storage.readonly_fs: true' };
      }
      return {
        pass: false,
        detail: `the root filesystem is writable: set storage.readonly_fs or the ${CONTAINER}.ReadonlyRootFilesystem override`,
      };
    }),
  },
  {
    id: 'ECS.8',
    title: 'Secrets should not be passed as container environment variables',
    ...service((s) => {
      const names = Object.keys(s.variables);
      const bad = names.filter((n) => SECRET_VARIABLE.test(n) || SECRET_LIKE_VARIABLE.test(n));
      if (bad.length > 0) {
        return {
          pass: false,
          detail: `variables ${bad.join(', ')} look like secrets: use secrets:`,
        };
      }
      const secrets = Object.keys(s.secrets);
      const fromSecrets = secrets.length > 0 ? `; secrets: ${secrets.join(', ')}` : '';
      return { pass: true, detail: `variables: ${names.join(', ') || '(none)'}${fromSecrets}` };
    }),
  },
  {
    id: 'ECS.20',
    title: 'ECS task definitions should configure non-root users in Linux container definitions',
    // Security Hub reads the task definition's `user`; Copilot leaves it empty, so the image's
    // USER (PRJ.IMAGE_USER) does not satisfy this control on its own.
    ...service((s) => {
      const user = override(s, 'User');
      if (typeof user === 'string' && user.trim() !== '' && !isRootUser(user)) {
        return { pass: true, detail: `taskdef override ${CONTAINER}.User: ${user}` };
      }
      return {
        pass: false,
        detail:
          user === undefined
            ? `the task definition sets no user: add the ${CONTAINER}.User override`
            : `${CONTAINER}.User is ${String(user)}`,
      };
    }),
  },
  {
    id: 'CT.ECS.PR.7',
    title: 'ECS task definitions should set a memory limit (and a valid Fargate CPU/memory pair)',
    ...service((s) => {
      const cpu = fieldAt(s.manifest, 'cpu');
      const memory = fieldAt(s.manifest, 'memory');
      if (typeof cpu !== 'number' || typeof memory !== 'number') {
        return { pass: false, detail: 'cpu and memory must both be set' };
      }
      return fargateMemoryFor(cpu).includes(memory)
        ? { pass: true, detail: `cpu ${cpu}, memory ${memory}` }
        : { pass: false, detail: `cpu ${cpu} with memory ${memory} is not a Fargate task size` };
    }),
  },
  {
    id: 'CloudWatch.16',
    title: `CloudWatch log groups should be retained for at least ${MIN_LOG_RETENTION_DAYS} days`,
    ...service((s) => {
      const set = fieldAt(s.manifest, 'logging.retention');
      const days = typeof set === 'number' ? set : COPILOT_DEFAULT_LOG_RETENTION_DAYS;
      const source = typeof set === 'number' ? 'logging.retention' : "Copilot's default";
      return days >= MIN_LOG_RETENTION_DAYS
        ? { pass: true, detail: `${days} days (${source})` }
        : {
            pass: false,
            detail: `${days} days (${source}): set logging.retention: ${MIN_LOG_RETENTION_DAYS}`,
          };
    }),
  },
  {
    id: 'PRJ.IMAGE_USER',
    title: "The image's final stage runs as a non-root USER",
    ...service((s, context) => {
      const file = s.manifest.image.build.dockerfile;
      const user = finalStageUser(context.readText(file));
      if (user === undefined) return { pass: false, detail: `${file}: final stage has no USER` };
      return isRootUser(user)
        ? { pass: false, detail: `${file}: USER ${user} is root` }
        : { pass: true, detail: `${file}: USER ${user}` };
    }),
  },
  {
    id: 'PRJ.INIT_PROCESS',
    title: 'An init process reaps zombies and forwards signals (initProcessEnabled)',
    ...service((s) =>
      // "true" too: CloudFormation reads a Boolean property's text (cfn-value.ts).
      readValue(cfnBoolean(override(s, 'LinuxParameters.InitProcessEnabled'))) === true
        ? { pass: true, detail: `${CONTAINER}.LinuxParameters.InitProcessEnabled: true` }
        : {
            pass: false,
            detail: `set the ${CONTAINER}.LinuxParameters.InitProcessEnabled override to true`,
          },
    ),
  },
  {
    id: 'PRJ.STOP_TIMEOUT',
    title: 'The stop timeout is set and outlasts the drain timeout (no SIGKILL mid-request)',
    ...service((s) => {
      const stopRead = cfnInteger(override(s, 'StopTimeout'));
      const drainSetting = s.variables.DRAIN_TIMEOUT_SECONDS;
      const drain = drainSecondsFrom(drainSetting);
      if (!Number.isFinite(drain) || drain < 0) {
        return {
          pass: false,
          detail: `DRAIN_TIMEOUT_SECONDS "${drainSetting}" is not a number of seconds: the service refuses to start`,
        };
      }
      if ('unread' in stopRead) {
        const text = JSON.stringify(stopRead.unread);
        return {
          pass: false,
          detail: `StopTimeout ${text} is not a number of seconds: CloudFormation refuses it`,
        };
      }
      const stop = stopRead.value;
      if (stop === undefined) {
        return { pass: false, detail: `no ${CONTAINER}.StopTimeout override (ECS default 30 s)` };
      }
      if (stop > MAX_FARGATE_STOP_TIMEOUT_SECONDS) {
        return { pass: false, detail: `StopTimeout ${stop} s exceeds Fargate's 120 s` };
      }
      return stop > drain
        ? { pass: true, detail: `StopTimeout ${stop} s > drain timeout ${drain} s` }
        : {
            pass: false,
            detail: `StopTimeout ${stop} s does not outlast drain timeout ${drain} s`,
          };
    }),
  },
  {
    id: 'PRJ.MIN_COUNT',
    title: 'At least two tasks, so one failing task or AZ leaves the service up',
    ...service((s) => {
      const min = fieldAt(s.manifest, 'count.range.min') ?? fieldAt(s.manifest, 'count');
      return typeof min === 'number' && min >= 2
        ? { pass: true, detail: `count.range.min: ${min}` }
        : { pass: false, detail: `minimum count is ${String(min)}: set count.range.min >= 2` };
    }),
  },
  {
    id: 'ECS.12',
    title: 'ECS clusters should use Container Insights',
    ...environment((m) =>
      fieldAt(m, 'observability.container_insights') === true
        ? { pass: true, detail: 'observability.container_insights: true' }
        : { pass: false, detail: 'set observability.container_insights: true' },
    ),
  },
  {
    id: 'PRJ.ALB_INGRESS',
    title: 'The internal ALB is not opened to the whole VPC',
    // `ingress.vpc: true` (and its older spelling) adds 0.0.0.0/0 on 80/443 to the ALB's
    // security group; the addon admits the VPC link's security group instead.
    ...environment((m) => {
      const open = ['http.private.ingress.vpc', 'http.private.security_groups.ingress.from_vpc']
        .filter((key) => fieldAt(m, key) === true)
        .join(', ');
      return open === ''
        ? { pass: true, detail: 'http.private.ingress.vpc not set' }
        : { pass: false, detail: `${open}: true opens the internal ALB to the VPC` };
    }),
  },
];

// ---------------------------------------------------------------- exceptions

const exceptionSchema = z.strictObject({
  control: z.string().min(1),
  /** Service or environment names, or '*' for every resource the control evaluates. */
  resources: z.union([z.literal('*'), z.array(z.string().min(1)).min(1)]),
  reason: z.string().trim().min(20, 'say why, in a sentence'),
});

const exceptionsFileSchema = z.strictObject({
  manifests: z.array(exceptionSchema).default([]),
  /** cfn-guard (Control Tower) controls a template fails on purpose: validate-templates.ts. */
  templates: z
    .array(
      z.strictObject({
        template: z.string().min(1),
        control: z.string().min(1),
        reason: z.string().trim().min(20, 'say why, in a sentence'),
      }),
    )
    .default([]),
  secrets: z
    .array(
      z.strictObject({
        path: z.string().min(1),
        rule: z.string().min(1),
        reason: z.string().trim().min(20, 'say why, in a sentence'),
      }),
    )
    .default([]),
});

export type PolicyExceptions = z.infer<typeof exceptionsFileSchema>;
export type ManifestException = z.infer<typeof exceptionSchema>;

export class PolicyError extends Error {
  override name = 'PolicyError';
}

export function parseExceptions(text: string, file = EXCEPTIONS_FILE): PolicyExceptions {
  let data: unknown;
  try {
    data = parseYaml(text) ?? {};
  } catch (error) {
    throw new PolicyError(`${file}: is not valid YAML: ${yamlErrorLine(error)}`);
  }
  const result = exceptionsFileSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new PolicyError(`${file}: ${issues.join('; ')}`);
  }
  return result.data;
}

export function loadExceptions(root: string): PolicyExceptions {
  const fail = (message: string) => new PolicyError(message);
  return parseExceptions(readText(path.join(root, EXCEPTIONS_FILE), EXCEPTIONS_FILE, fail));
}

// ---------------------------------------------------------------- evaluation

interface PolicyReport {
  rows: PolicyRow[];
  /** Failures with no exception, and stale or misspelt exceptions. Empty means the policy holds. */
  problems: string[];
}

/** Every control against every resource it applies to, before exceptions. */
export function evaluateControls(
  workspace: Workspace,
  readText: (relative: string) => string = (relative) =>
    readFileSync(path.join(workspace.root, relative), 'utf8'),
  controls: Control[] = CONTROLS,
): PolicyRow[] {
  const context: PolicyContext = { workspace, readText };
  return controls.flatMap((control) => {
    const subjects: [string, unknown][] =
      control.scope === 'service'
        ? workspace.services.map((s) => [s.name, s])
        : workspace.environments.map((e) => [e.name, e.manifest]);
    return subjects.map(([resource, subject]): PolicyRow => {
      const verdict = control.evaluate(subject, context);
      return {
        control: control.id,
        resource,
        status: verdict.pass ? 'PASS' : 'FAIL',
        detail: verdict.detail,
      };
    });
  });
}

const covers = (exception: ManifestException, resource: string) =>
  exception.resources === '*' || exception.resources.includes(resource);

/** A FAIL with an exception becomes EXCEPTION; a FAIL without one, or an unused exception, is a problem. */
export function applyExceptions(
  rows: PolicyRow[],
  exceptions: ManifestException[],
  controls: Control[] = CONTROLS,
): PolicyReport {
  const problems: string[] = [];
  const used = new Set<ManifestException>();
  const judged = rows.map((row): PolicyRow => {
    const exception = exceptions.find((e) => e.control === row.control && covers(e, row.resource));
    if (row.status !== 'FAIL') return row;
    if (!exception) {
      problems.push(`${row.control} fails on ${row.resource}: ${row.detail}`);
      return row;
    }
    used.add(exception);
    return { ...row, status: 'EXCEPTION', reason: exception.reason };
  });
  const known = new Set(controls.map((c) => c.id));
  for (const exception of exceptions) {
    if (!known.has(exception.control)) {
      problems.push(`${EXCEPTIONS_FILE}: no control ${exception.control} (misspelt?)`);
    } else if (!used.has(exception)) {
      problems.push(
        `${EXCEPTIONS_FILE}: stale exception for ${exception.control}: it passes now; remove the entry`,
      );
    }
  }
  return { rows: judged, problems };
}

export function checkPolicy(
  workspace: Workspace,
  exceptions: PolicyExceptions = loadExceptions(workspace.root),
  readText?: (relative: string) => string,
): PolicyReport {
  return applyExceptions(evaluateControls(workspace, readText), exceptions.manifests);
}

const STATUS_ORDER: PolicyStatus[] = ['FAIL', 'EXCEPTION', 'PASS'];

/** The table, then each exception's reason once (the table shows what was found). */
export function formatPolicyTable(rows: PolicyRow[]): string {
  const sorted = [...rows].sort(
    (a, b) =>
      STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) ||
      a.control.localeCompare(b.control) ||
      a.resource.localeCompare(b.resource),
  );
  const width = (pick: (r: PolicyRow) => string, title: string) =>
    Math.max(title.length, ...sorted.map((r) => pick(r).length));
  const c = width((r) => r.control, 'CONTROL');
  const r = width((row) => row.resource, 'RESOURCE');
  const line = (control: string, resource: string, status: string, detail: string) =>
    `${control.padEnd(c)}  ${resource.padEnd(r)}  ${status.padEnd(9)}  ${detail}`;
  const reasons = new Map<string, string>();
  for (const row of sorted) if (row.reason) reasons.set(row.control, row.reason);
  return [
    line('CONTROL', 'RESOURCE', 'STATUS', 'DETAIL'),
    ...sorted.map((row) => line(row.control, row.resource, row.status, row.detail)),
    ...(reasons.size > 0 ? ['', `Exceptions (${EXCEPTIONS_FILE}):`] : []),
    ...[...reasons].map(([control, reason]) => `  ${control}: ${reason}`),
  ].join('\n');
}
