#!/usr/bin/env zx
// Deploys in the only order that works: the environment, then each service one after the other
// (concurrent first deploys collide on listener-rule priority), then the HTTP API stack (it
// imports the exports the internal ALB adds), then the smoke test. Services are deployed with
// `--detach` and awaited through the SDK under a timeout, because `copilot svc deploy` can hang.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runSmoke } from './checks/smoke-checks.ts';
import {
  CliError,
  commandName,
  createProgress,
  type FlagSpecs,
  invocation,
  output,
  runCommand,
  splitList,
} from './cli/command.ts';
import { callerIdentity, createClients, stackNames } from './cloud/aws.ts';
import { Copilot, checkDocker, copilotEnv, findOnPath } from './cloud/copilot.ts';
import { requireEnvExports } from './cloud/env-exports.ts';
import { commonFlags, requireEnvironment, workspaceOrExit } from './cloud/flags.ts';
import { deployService } from './cloud/service-deploy.ts';
import { deployStack, describeStack, StackDeployError } from './cloud/stack-deployer.ts';
import { repoRoot } from './workspace/manifests.ts';
import { loadTemplate } from './workspace/template.ts';

const STEPS = ['env', 'services', 'api', 'bastion', 'smoke'] as const;
type Step = (typeof STEPS)[number];

const NAME = commandName(import.meta.url);
const workspace = workspaceOrExit(NAME);
const flags = {
  ...commonFlags(workspace),
  only: {
    type: 'string',
    valueName: 'steps',
    description: `Run only these steps, comma-separated: ${STEPS.join(', ')} (default: all but bastion)`,
  },
  service: {
    type: 'string',
    valueName: 'names',
    description: 'Deploy only these services, comma-separated (default: every manifest)',
  },
  bastion: {
    type: 'boolean',
    description: 'Also deploy the SSM bastion stack (addons/bastion.yml)',
  },
  addonTemplate: {
    type: 'string',
    default: 'addons/http-api.yml',
    valueName: 'file',
    description: 'HTTP API template',
  },
  smokeUrl: {
    type: 'string',
    valueName: 'url',
    description: 'Smoke-test this URL instead of the stack output ApiEndpoint',
  },
  timeout: {
    type: 'number',
    default: 30,
    min: 0.01,
    valueName: 'minutes',
    description: 'Bound on each wait (stack, ECS service)',
  },
  settle: {
    type: 'number',
    default: 60,
    min: 0,
    valueName: 'seconds',
    description: 'A service stack with no new event after this long had nothing to change',
  },
  dryRun: { type: 'boolean', description: 'Print the ordered plan; no AWS call, no copilot call' },
  json: { type: 'boolean', description: 'Print the result (API URL, stacks) as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: NAME,
  summary:
    'Deploy the environment, the services (one after the other), the HTTP API stack, then smoke-test.',
  details: `Prints the API URL on stdout. Safe to re-run: unchanged stacks are left alone.
Prerequisites: run scripts/init.ts once (app, environment, service registration).

examples:
  ${invocation(NAME)} --dry-run
  ${invocation(NAME)} --env test --profile my-profile
  ${invocation(NAME)} --only api           # just the HTTP API stack after editing the addon`,
  flags,
};

export interface PlanStep {
  step: Step;
  description: string;
}

process.exitCode = await runCommand(spec, async (f) => {
  const log = createProgress(NAME);
  const env = requireEnvironment(workspace, f.env, NAME);
  const names = stackNames(f.app, env);
  const steps = resolveSteps(f.only, f.bastion);
  const services = pickServices(f.service);
  const templateFile = path.resolve(repoRoot, f.addonTemplate);
  const timeoutMs = f.timeout * 60_000;

  const plan: PlanStep[] = [];
  if (steps.has('env'))
    plan.push({ step: 'env', description: `copilot env deploy --name ${env} --app ${f.app}` });
  if (steps.has('services')) {
    for (const s of services) {
      plan.push({
        step: 'services',
        description: `copilot svc deploy --name ${s} --env ${env} --app ${f.app} --detach; wait for stack ${names.service(s)} and its ECS service (steady state, <= ${f.timeout} min)`,
      });
    }
  }
  if (steps.has('api')) {
    plan.push({
      step: 'api',
      description: `stack ${names.httpApi} from ${path.relative(repoRoot, templateFile)} (App=${f.app}, Env=${env}) via a change set`,
    });
  }
  if (steps.has('bastion')) {
    plan.push({
      step: 'bastion',
      description: `stack ${names.bastion} from addons/bastion.yml (App=${f.app}, Env=${env}) via a change set`,
    });
  }
  if (steps.has('smoke')) {
    plan.push({
      step: 'smoke',
      description: `smoke test of ${f.smokeUrl ?? `the ApiEndpoint output of ${names.httpApi}`}`,
    });
  }

  if (f.dryRun) {
    const copilotPath = findOnPath('copilot');
    log.info(`dry run: nothing is called. copilot: ${copilotPath ?? 'NOT on PATH'}`);
    if (f.json) output(JSON.stringify({ dryRun: true, app: f.app, env, plan }, null, 2));
    else output(plan.map((p, i) => `${i + 1}. [${p.step}] ${p.description}`).join('\n'));
    return 0;
  }

  // Prerequisites, all read-only: nothing is changed unless every one of them passes.
  log.step('checking prerequisites');
  const { copilot } = await Copilot.open(
    {
      cwd: repoRoot,
      env: copilotEnv({ region: f.region, profile: f.profile }),
      log,
      defaultTimeoutMs: timeoutMs,
    },
    'deploy',
  );
  const aws = createClients({ region: f.region, profile: f.profile });
  const id = await callerIdentity(aws, NAME);
  log.ok(`AWS account ${id.account} (${id.arn}), region ${id.region}`);
  if (steps.has('services')) await checkDocker(log, NAME);
  if (steps.has('env') || steps.has('services')) {
    const apps = await copilot.appNames();
    const envs = apps.includes(f.app) ? await copilot.envNames(f.app) : [];
    const registered = apps.includes(f.app) ? await copilot.serviceNames(f.app) : [];
    const missing = [
      ...(apps.includes(f.app) ? [] : [`application ${f.app}`]),
      ...(envs.includes(env) || !apps.includes(f.app) ? [] : [`environment ${env}`]),
      ...services
        .filter((s) => apps.includes(f.app) && !registered.includes(s))
        .map((s) => `service ${s}`),
    ];
    if (missing.length) {
      throw new CliError(
        'deploy: not initialised',
        `${missing.join(', ')} not found in Copilot; nothing was changed`,
        `${invocation('init')} --env ${env}`,
      );
    }
  }

  const result: { app: string; env: string; apiUrl?: string; stacks: Record<string, string> } = {
    app: f.app,
    env,
    stacks: {},
  };
  let n = 0;
  const total = plan.length;

  if (steps.has('env')) {
    log.step(`[${++n}/${total}] environment ${env}`);
    await copilot.must(['env', 'deploy', '--name', env, '--app', f.app], {
      stream: true,
      timeoutMs,
      next: `copilot env deploy --name ${env} --app ${f.app}`,
    });
    result.stacks[names.env] = 'deployed';
  }

  if (steps.has('services')) {
    for (const svc of services) {
      log.step(`[${++n}/${total}] service ${svc}`);
      const steady = await deployService({
        copilot,
        aws,
        app: f.app,
        env,
        svc,
        timeoutMs,
        settleMs: f.settle * 1000,
        log,
      });
      log.ok(`${svc}: ${steady.runningCount}/${steady.desiredCount} tasks running, one deployment`);
      result.stacks[names.service(svc)] = 'deployed';
    }
  }

  if (steps.has('api')) {
    log.step(`[${++n}/${total}] HTTP API stack ${names.httpApi}`);
    const template = readTemplate(templateFile);
    await requireEnvExports(aws.cfn, { app: f.app, env, template, step: 'api' }, NAME);
    const r = await deployAddon(
      aws,
      names.httpApi,
      template,
      { App: f.app, Env: env },
      timeoutMs,
      log,
      env,
    );
    result.stacks[names.httpApi] = r.action;
    if (r.outputs.ApiEndpoint) result.apiUrl = r.outputs.ApiEndpoint;
  }

  if (steps.has('bastion')) {
    log.step(`[${++n}/${total}] bastion stack ${names.bastion}`);
    const template = readTemplate(path.join(repoRoot, 'addons', 'bastion.yml'));
    await requireEnvExports(aws.cfn, { app: f.app, env, template, step: 'bastion' }, NAME);
    const r = await deployAddon(
      aws,
      names.bastion,
      template,
      { App: f.app, Env: env },
      timeoutMs,
      log,
      env,
      ['CAPABILITY_IAM'],
    );
    result.stacks[names.bastion] = r.action;
  }

  if (steps.has('smoke')) {
    log.step(`[${++n}/${total}] smoke test`);
    const url =
      f.smokeUrl ??
      result.apiUrl ??
      (await describeStack(aws.cfn, names.httpApi))?.Outputs?.find(
        (o) => o.OutputKey === 'ApiEndpoint',
      )?.OutputValue;
    if (!url) {
      throw new CliError(
        'deploy: nothing to smoke-test',
        `stack ${names.httpApi} has no ApiEndpoint output`,
        `${invocation(NAME)} --env ${env} --only api`,
      );
    }
    result.apiUrl ??= url;
    const report = await runSmoke({
      services: workspace.services,
      targets: { api: url },
      timeoutMs: 10_000,
      samples: 5,
      waitReadyMs: 120_000,
      log,
    });
    if (!report.passed) {
      const failed = report.checks.filter((c) => !c.ok);
      throw new CliError(
        `deploy: the smoke test failed (${failed.length} of ${report.checks.length} checks)`,
        failed.map((c) => `${c.name}: ${c.problems.join('; ')}`).join(' | '),
        `${invocation('diagnose')} --env ${env}`,
      );
    }
    log.ok(`smoke test passed; p50 ${report.latency.p50} ms, p95 ${report.latency.p95} ms`);
  }

  if (f.json) output(JSON.stringify(result, null, 2));
  else if (result.apiUrl) output(result.apiUrl);
  return 0;
});

function resolveSteps(only: string | undefined, bastion: boolean): Set<Step> {
  const wanted = splitList(only);
  const unknown = wanted.filter((s) => !(STEPS as readonly string[]).includes(s));
  if (unknown.length) {
    throw new CliError(
      'deploy: invalid --only',
      `unknown step(s) ${unknown.join(', ')}; steps are ${STEPS.join(', ')}`,
      `${invocation(NAME)} --help`,
      2,
    );
  }
  if (wanted.length) return new Set(wanted as Step[]);
  return new Set(STEPS.filter((s) => s !== 'bastion' || bastion));
}

function pickServices(list: string | undefined): string[] {
  const all = workspace.services.map((s) => s.name);
  const wanted = splitList(list);
  const unknown = wanted.filter((s) => !all.includes(s));
  if (unknown.length) {
    throw new CliError(
      'deploy: invalid --service',
      `no manifest for ${unknown.join(', ')}; services are ${all.join(', ')}`,
      `${invocation(NAME)} --help`,
      2,
    );
  }
  // Manifest order either way, so a partial deploy keeps the same sequence as a full one.
  return wanted.length ? all.filter((s) => wanted.includes(s)) : all;
}

/** A template as CloudFormation would parse it (YAML short tags resolved), or a CliError. */
function readTemplate(file: string): unknown {
  try {
    return file.endsWith('.json') ? JSON.parse(readFileSync(file, 'utf8')) : loadTemplate(file);
  } catch (error) {
    throw new CliError(
      `deploy: cannot read ${path.relative(repoRoot, file)}`,
      (error as Error).message,
      'npm run validate:templates',
    );
  }
}

async function deployAddon(
  aws: ReturnType<typeof createClients>,
  stackName: string,
  template: unknown,
  parameters: Record<string, string>,
  timeoutMs: number,
  log: ReturnType<typeof createProgress>,
  env: string,
  capabilities?: ('CAPABILITY_IAM' | 'CAPABILITY_NAMED_IAM')[],
) {
  // Sent as JSON: the same template CloudFormation would parse, with the short tags resolved.
  const body = JSON.stringify(template);
  try {
    return await deployStack({
      cfn: aws.cfn,
      stackName,
      templateBody: body,
      parameters,
      ...(capabilities ? { capabilities } : {}),
      tags: { 'copilot-application': parameters.App ?? '', 'copilot-environment': env },
      timeoutMs,
      log,
    });
  } catch (error) {
    if (error instanceof StackDeployError) {
      throw new CliError(
        `deploy: stack ${stackName} failed (${error.status})`,
        error.reasons.join('; '),
        `${invocation('diagnose')} --env ${env}   (fix, then ${invocation(NAME)} --env ${env} --only ${stackName.endsWith('bastion') ? 'bastion' : 'api'})`,
      );
    }
    throw error;
  }
}
