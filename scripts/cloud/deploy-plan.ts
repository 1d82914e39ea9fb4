// A deploy is a plan of steps, built once: `--dry-run` prints it, a run executes it, so what is
// printed is what runs. The order is the only one that works: the preview (Copilot renders the
// stacks about to be deployed, preview.ts), the environment, then each service one after the
// other (concurrent first deploys collide on listener-rule priority), then the HTTP API stack (it
// imports the exports the internal ALB adds), then the checks. Services are deployed with
// `--detach` and awaited through the SDK under a timeout, because `copilot svc deploy` can hang.
// `--dry-run` prints the plan and runs the preview alone: Copilot's read-only package commands,
// no AWS call of its own.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CliError,
  createProgress,
  invocation,
  output,
  type Progress,
  splitList,
} from '../cli/command.ts';
import { unreadable, yamlErrorLine } from '../workspace/files.ts';
import {
  constraintViolations,
  instantiate,
  PLACE_PARAMETERS,
  placeParameterProblem,
} from '../workspace/http-api-settings.ts';
import { repoRoot } from '../workspace/manifests.ts';
import { type CfnTemplate, notATemplate, parseTemplate } from '../workspace/template.ts';
import { API_URL_OUTPUT, type AwsClients, createClients, stackNames } from './aws.ts';
import { type Copilot, findOnPath } from './copilot.ts';
import { requireEnvExports } from './env-exports.ts';
import type { Deployment } from './flags.ts';
import { lambdaRefusals, refusalError } from './lambda-refusal.ts';
import { isoDay } from './lambda-runtimes.ts';
import {
  describePreview,
  type PreviewedStack,
  type PreviewTarget,
  previewStacks,
} from './preview.ts';
import { requireSecrets, type TaskSecret } from './secret-check.ts';
import { deployService } from './service-deploy.ts';
import { openCopilot, openSession } from './session.ts';
import { deployStack, EventStream, StackDeployError } from './stack-deployer.ts';

export const STEPS = ['env', 'services', 'api', 'bastion', 'smoke'] as const;
type Step = (typeof STEPS)[number];

interface DeployResult {
  app: string;
  env: string;
  apiUrl?: string;
  stacks: Record<string, string>;
  /** What Copilot rendered, and the functions in it. */
  preview?: PreviewedStack[];
}

interface DeployContext {
  copilot: Copilot;
  aws: AwsClients;
  log: Progress;
  result: DeployResult;
}

export interface PlanStep {
  /** A step of --only, or the preview that goes before the Copilot steps. */
  step: Step | 'preview';
  description: string;
  run(ctx: DeployContext): Promise<void>;
}

type DeployTarget = Omit<Deployment, 'region' | 'profile'> & {
  /** The HTTP API template, absolute. */
  templateFile: string;
  /** `--parameter` overrides of the HTTP API template's parameters (never App or Env). */
  apiParameters: Record<string, string>;
  settleMs: number;
  /** The day Lambda runtimes are judged on (YYYY-MM-DD; default today). */
  today?: string;
  /** Where the preview has Copilot write the templates (default .cache/rendered/<app>-<env>). */
  renderDir?: string;
};

/** `--only a,b` (or every step but bastion, unless --bastion), checked against STEPS. */
export function resolveSteps(cmd: string, only: string | undefined, bastion: boolean): Set<Step> {
  const wanted = splitList(only);
  const unknown = wanted.filter((s) => !(STEPS as readonly string[]).includes(s));
  if (unknown.length) {
    throw new CliError(
      `${cmd}: invalid --only`,
      `unknown step(s) ${unknown.join(', ')}; steps are ${STEPS.join(', ')}`,
      `${invocation(cmd)} --help`,
      2,
    );
  }
  if (wanted.length) return new Set(wanted as Step[]);
  return new Set(STEPS.filter((s) => s !== 'bastion' || bastion));
}

/** The deploy steps of `steps`, in order; the smoke step is the caller's (checks run it). */
function planDeploy(t: DeployTarget, steps: Set<Step>, smoke?: PlanStep): PlanStep[] {
  const plan: PlanStep[] = [];
  if (steps.has('env') || steps.has('services')) plan.push(previewStep(t, steps));
  if (steps.has('env')) plan.push(envStep(t));
  if (steps.has('services')) plan.push(...t.services.map((svc) => serviceStep(t, svc)));
  if (steps.has('api')) plan.push(addonStep(t, 'api', t.templateFile));
  if (steps.has('bastion'))
    plan.push(addonStep(t, 'bastion', path.join(repoRoot, 'addons', 'bastion.yml')));
  if (steps.has('smoke') && smoke) plan.push(smoke);
  return plan;
}

/** Runs the plan in order, numbering each step as --dry-run numbers it. */
async function executePlan(plan: PlanStep[], ctx: DeployContext): Promise<void> {
  for (const [i, s] of plan.entries()) {
    ctx.log.step(`[${i + 1}/${plan.length}] ${formatStep(s)}`);
    await s.run(ctx);
  }
}

const formatStep = (s: PlanStep) => `[${s.step}] ${s.description}`;

function previewTarget(t: DeployTarget, steps: Set<Step>): PreviewTarget {
  return {
    cmd: t.cmd,
    app: t.app,
    env: t.env,
    environment: steps.has('env'),
    services: steps.has('services') ? t.services : [],
    dir: t.renderDir ?? path.join(repoRoot, '.cache', 'rendered', `${t.app}-${t.env}`),
    root: repoRoot,
    today: t.today ?? isoDay(Date.now()),
    timeoutMs: t.timeoutMinutes * 60_000,
  };
}

function previewStep(t: DeployTarget, steps: Set<Step>): PlanStep {
  const target = previewTarget(t, steps);
  return {
    step: 'preview',
    description: describePreview(target),
    async run({ copilot, log, result }) {
      result.preview = await previewStacks(copilot, target, log);
    },
  };
}

function envStep(t: DeployTarget): PlanStep {
  const args = ['env', 'deploy', '--name', t.env, '--app', t.app];
  const stackName = stackNames(t.app, t.env).env;
  return {
    step: 'env',
    description: `copilot ${args.join(' ')}`,
    async run({ copilot, aws, log, result }) {
      const events = new EventStream(aws.cfn, stackName);
      await events.baseline();
      try {
        await copilot.must(args, {
          stream: true,
          timeoutMs: t.timeoutMinutes * 60_000,
          next: `copilot ${args.join(' ')}`,
        });
      } catch (error) {
        // Copilot says the stack failed; CloudFormation's events say why, Lambda's refusal included.
        await events.poll(() => undefined).catch(() => undefined);
        const refusals = lambdaRefusals(events.failureReasons());
        if (refusals.length === 0) throw error;
        const where = { cmd: t.cmd, env: t.env, stackName, again: '--only env' };
        throw refusalError(
          refusals,
          { ...where, stack: { kind: 'environment' }, ...(t.today ? { today: t.today } : {}) },
          log,
        );
      }
      result.stacks[stackName] = 'deployed';
    },
  };
}

function serviceStep(t: DeployTarget, svc: string): PlanStep {
  const stack = stackNames(t.app, t.env).service(svc);
  return {
    step: 'services',
    description: `copilot svc deploy --name ${svc} --env ${t.env} --app ${t.app} --detach; wait for stack ${stack} and its ECS service (steady state, <= ${t.timeoutMinutes} min)`,
    async run({ copilot, aws, log, result }) {
      const steady = await deployService({
        copilot,
        aws,
        app: t.app,
        env: t.env,
        svc,
        timeoutMs: t.timeoutMinutes * 60_000,
        settleMs: t.settleMs,
        log,
        ...(t.today ? { today: t.today } : {}),
      });
      log.ok(`${svc}: ${steady.runningCount}/${steady.desiredCount} tasks running, one deployment`);
      result.stacks[stack] = 'deployed';
    },
  };
}

/** What a run's result (and its summary page) says of an addon stack, by its change set. */
const ADDON_RESULT = { create: 'created', update: 'updated', none: 'no changes' } as const;

function addonStep(t: DeployTarget, step: 'api' | 'bastion', file: string): PlanStep {
  const names = stackNames(t.app, t.env);
  const stackName = step === 'api' ? names.httpApi : names.bastion;
  const parameters = { ...(step === 'api' ? t.apiParameters : {}), App: t.app, Env: t.env };
  const shown = Object.entries(parameters).map(([k, v]) => `${k}=${v}`);
  return {
    step,
    description: `stack ${stackName} from ${path.relative(repoRoot, file)} (${shown.join(', ')}) via a change set`,
    async run({ aws, log, result }) {
      const template = readTemplate(t.cmd, file);
      await requireEnvExports(aws.cfn, { app: t.app, env: t.env, template, step }, t.cmd);
      const r = await deployAddon(t, aws, { stackName, step, file, template, parameters, log });
      result.stacks[stackName] = ADDON_RESULT[r.action];
      if (step === 'api' && r.outputs[API_URL_OUTPUT]) result.apiUrl = r.outputs[API_URL_OUTPUT];
    },
  };
}

/**
 * A template as CloudFormation would parse it (YAML short tags resolved; a JSON template is
 * YAML too), or a CliError.
 */
function readTemplate(cmd: string, file: string): unknown {
  // As the user knows it: repository-relative inside the checkout, else as given.
  const relative = path.relative(repoRoot, file);
  const shown = relative.startsWith('..') ? file : relative;
  const fail = (why: string) =>
    new CliError(`${cmd}: cannot read ${shown}`, why, 'npm run validate:templates');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw fail(unreadable(error));
  }
  let template: unknown;
  try {
    template = parseTemplate(text);
  } catch (error) {
    // The parser's first line: what and where. Its frame of the text would break the one line.
    throw fail(`is not valid YAML: ${yamlErrorLine(error)}`);
  }
  const why = notATemplate(template);
  if (why !== undefined) throw fail(why);
  return template;
}

async function deployAddon(
  t: DeployTarget,
  aws: AwsClients,
  a: {
    stackName: string;
    step: 'api' | 'bastion';
    /** The template's file, absolute. */
    file: string;
    template: unknown;
    parameters: Record<string, string>;
    log: Progress;
  },
) {
  try {
    return await deployStack({
      cfn: aws.cfn,
      stackName: a.stackName,
      // Sent as JSON: the same template CloudFormation would parse, with the short tags resolved.
      templateBody: JSON.stringify(a.template),
      parameters: a.parameters,
      ...(a.step === 'bastion' ? { capabilities: ['CAPABILITY_IAM' as const] } : {}),
      tags: { 'copilot-application': t.app, 'copilot-environment': t.env },
      timeoutMs: t.timeoutMinutes * 60_000,
      log: a.log,
    });
  } catch (error) {
    const refusals = error instanceof StackDeployError ? lambdaRefusals(error.reasons) : [];
    if (refusals.length > 0) {
      const template = path.relative(repoRoot, a.file);
      const where = { cmd: t.cmd, env: t.env, stackName: a.stackName, again: `--only ${a.step}` };
      const today = t.today ? { today: t.today } : {};
      throw refusalError(refusals, { ...where, ...today, stack: { template } }, a.log);
    }
    if (error instanceof StackDeployError) {
      throw new CliError(
        `${t.cmd}: stack ${a.stackName} failed (${error.status})`,
        error.reasons.join('; '),
        `${invocation('diagnose')} --env ${t.env}   (fix, then ${invocation(t.cmd)} --env ${t.env} --only ${a.step})`,
      );
    }
    throw error;
  }
}

/** Read-only checks that Copilot knows the application, environment and services. */
async function requireInitialised(copilot: Copilot, t: DeployTarget): Promise<void> {
  const missing = await missingFromCopilot(copilot, t);
  if (missing.length) {
    throw new CliError(
      `${t.cmd}: not initialised`,
      `${missing.join(', ')} not found in Copilot; nothing was changed`,
      `${invocation('init')} --env ${t.env}`,
    );
  }
}

/** What of the deployment Copilot does not know (the environment and services: in a known app). */
async function missingFromCopilot(copilot: Copilot, t: DeployTarget): Promise<string[]> {
  if (!(await copilot.appNames()).includes(t.app)) return [`application ${t.app}`];
  const envs = await copilot.envNames(t.app);
  const registered = await copilot.serviceNames(t.app);
  return [
    ...(envs.includes(t.env) ? [] : [`environment ${t.env}`]),
    ...t.services.filter((s) => !registered.includes(s)).map((s) => `service ${s}`),
  ];
}

export interface DeployOptions extends Deployment {
  templateFile: string;
  apiParameters: Record<string, string>;
  settleMs: number;
  /** The day Lambda runtimes are judged on (YYYY-MM-DD; default today). */
  today?: string;
  /** Where the preview has Copilot write the templates (default .cache/rendered/<app>-<env>). */
  renderDir?: string;
  steps: Set<Step>;
  dryRun: boolean;
  /** With dryRun: print the plan only, without the preview (nothing called). */
  planOnly?: boolean;
  json: boolean;
  /** The last step, from scripts/checks (cloud does not import checks). */
  smoke?: PlanStep;
  /** The SSM parameters and secrets the deployed services' `secrets:` name, checked before any change. */
  secrets?: readonly TaskSecret[];
}

/**
 * `--parameter` overrides, checked against the HTTP API template before anything runs, dry run
 * included: names it declares (App and Env are the deploy's own), values its constraints and
 * Rules accept.
 */
function checkApiParameters(o: DeployOptions): void {
  const why = apiParameterProblem(o);
  if (why !== undefined) {
    throw new CliError(`${o.cmd}: invalid --parameter`, why, `${invocation(o.cmd)} --help`, 2);
  }
}

/** What is wrong with the `--parameter` overrides, first names, then values, then Rules. */
function apiParameterProblem(o: DeployOptions): string | undefined {
  const place = placeParameterProblem(o.apiParameters, '--app and --env');
  if (place !== undefined) return place;
  const template = readTemplate(o.cmd, o.templateFile) as CfnTemplate;
  const own: readonly string[] = PLACE_PARAMETERS;
  const declared = Object.keys(template.Parameters ?? {}).filter((p) => !own.includes(p));
  const unknown = Object.keys(o.apiParameters).filter((p) => !declared.includes(p));
  if (unknown.length > 0) {
    return `${path.relative(repoRoot, o.templateFile)} has no parameter ${unknown.join(', ')}; it has ${declared.join(', ')}`;
  }
  const refused = constraintViolations(template, o.apiParameters);
  if (refused.length > 0) return refused.join('; ');
  try {
    const { violations } = instantiate(template, { ...o.apiParameters, App: o.app, Env: o.env });
    return violations.length > 0 ? violations.join('; ') : undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Where a run gets its copilot and AWS clients: the real prerequisites, or a test's doubles. */
export interface Openers {
  /** Everything a run checks first (copilot, credentials, Docker). */
  session: typeof openSession;
  /** Copilot alone: all a dry run's preview needs. */
  copilot: typeof openCopilot;
}

const REAL: Openers = { session: openSession, copilot: openCopilot };

/** Builds the plan, then prints it and previews (--dry-run), or checks and executes it. */
export async function deploy(o: DeployOptions, open: Openers = REAL): Promise<number> {
  const log = createProgress(o.cmd);
  if (o.steps.has('api')) checkApiParameters(o);
  const plan = planDeploy(o, o.steps, o.smoke);
  if (o.dryRun) return dryRun(o, plan, log, open);
  const ctx = await prerequisites(o, log, open.session);
  await executePlan(plan, ctx);
  if (o.json) output(JSON.stringify(ctx.result, null, 2));
  else if (ctx.result.apiUrl) output(ctx.result.apiUrl);
  return 0;
}

/**
 * The plan, then the preview alone when the plan has one: Copilot's read-only package commands
 * (after the same read-only check that Copilot knows the application), nothing deployed and no
 * AWS call of this script's own.
 */
async function dryRun(
  o: DeployOptions,
  plan: PlanStep[],
  log: Progress,
  open: Openers,
): Promise<number> {
  const steps = plan.map(({ step, description }) => ({ step, description }));
  const preview = o.planOnly ? undefined : plan.find((s) => s.step === 'preview');
  if (!o.json) output(plan.map((s, i) => `${i + 1}. ${formatStep(s)}`).join('\n'));
  const result: DeployResult = { app: o.app, env: o.env, stacks: {} };
  if (!preview) {
    log.info(`dry run: nothing is called. copilot: ${findOnPath('copilot') ?? 'NOT on PATH'}`);
  } else {
    log.info(
      'dry run: only the preview runs (copilot package commands: read-only); nothing is deployed',
    );
    const copilot = await open.copilot({ ...o, timeoutMs: o.timeoutMinutes * 60_000, log });
    await requireInitialised(copilot, o);
    await preview.run({ copilot, aws: createClients({}), log, result });
  }
  if (o.json) {
    const previewed = result.preview ? { preview: result.preview } : {};
    output(
      JSON.stringify({ dryRun: true, app: o.app, env: o.env, plan: steps, ...previewed }, null, 2),
    );
  }
  return 0;
}

// All read-only: nothing is changed unless every one of them passes.
async function prerequisites(
  o: DeployOptions,
  log: Progress,
  open: typeof openSession,
): Promise<DeployContext> {
  const { copilot, aws } = await open({
    ...o,
    timeoutMs: o.timeoutMinutes * 60_000,
    log,
    docker: o.steps.has('services'),
  });
  if (o.steps.has('env') || o.steps.has('services')) await requireInitialised(copilot, o);
  if (o.steps.has('services') && o.secrets?.length) {
    const where = { cmd: o.cmd, app: o.app, env: o.env, region: await aws.ssm.config.region() };
    await requireSecrets(aws, o.secrets, where, log);
  }
  return { copilot, aws, log, result: { app: o.app, env: o.env, stacks: {} } };
}
