#!/usr/bin/env zx
// Deploys the environment, the services, the HTTP API stack, then smoke-tests: the plan and its
// order are scripts/cloud/deploy-plan.ts's; --dry-run prints the very steps a run executes.
import path from 'node:path';
import { smokeStep } from './checks/smoke-step.ts';
import {
  CliError,
  commandName,
  type FlagSpecs,
  invocation,
  nameValues,
  runCommand,
  splitList,
} from './cli/command.ts';
import { API_URL_OUTPUT } from './cloud/aws.ts';
import { deploy, resolveSteps, STEPS } from './cloud/deploy-plan.ts';
import { commonFlags, deployment, timeoutFlag, workspaceOrExit } from './cloud/flags.ts';
import { taskSecrets } from './cloud/secret-check.ts';
import { repoRoot } from './workspace/manifests.ts';
import { HTTP_API_TEMPLATE_FILE } from './workspace/template.ts';

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
    default: HTTP_API_TEMPLATE_FILE,
    valueName: 'file',
    description: 'HTTP API template',
  },
  parameter: {
    type: 'list',
    valueName: 'Name=Value',
    // No "(repeatable)" here: helpText adds it to every list flag's line.
    description:
      'Set a parameter of the HTTP API template, e.g. --parameter CorsAllowOrigins=https://app.example.com',
  },
  smokeUrl: {
    type: 'string',
    valueName: 'url',
    description: `Smoke-test this URL instead of the stack output ${API_URL_OUTPUT}`,
  },
  timeout: timeoutFlag('Bound on each wait (stack, ECS service)'),
  settle: {
    type: 'number',
    default: 60,
    min: 0,
    valueName: 'seconds',
    description: 'A service stack with no new event after this long had nothing to change',
  },
  dryRun: {
    type: 'boolean',
    description:
      'Print the ordered plan, then run its preview alone (copilot env/svc package, read-only); nothing is deployed',
  },
  planOnly: {
    type: 'boolean',
    description:
      'With --dry-run: print the plan and stop, calling neither copilot nor AWS (what CI plans with, before it has credentials)',
  },
  json: { type: 'boolean', description: 'Print the result (API URL, stacks) as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: NAME,
  summary:
    'Deploy the environment, the services (one after the other), the HTTP API stack, then smoke-test.',
  details: `Prints the API URL on stdout. Safe to re-run: unchanged stacks are left alone.
Prerequisites: run scripts/init.ts once (app, environment, service registration).
Before any change, Copilot renders each stack the run deploys (copilot env/svc package, into
.cache/rendered/<app>-<env>/): a Lambda runtime Lambda refuses, or YAML patches that did not
apply, stop the run there.

examples:
  ${invocation(NAME)} --dry-run
  ${invocation(NAME)} --env test --profile my-profile
  ${invocation(NAME)} --only api           # just the HTTP API stack after editing the addon
  ${invocation(NAME)} --parameter JwtIssuer=https://issuer.example.com --parameter JwtAudience=my-api`,
  flags,
};

process.exitCode = await runCommand(spec, (f) => {
  const target = { ...deployment(NAME, workspace, f), services: pickServices(f.service) };
  return deploy({
    ...target,
    templateFile: path.resolve(repoRoot, f.addonTemplate),
    apiParameters: nameValues(
      'parameter',
      f.parameter,
      (why) => new CliError(`${NAME}: invalid --parameter`, why, `${invocation(NAME)} --help`, 2),
    ),
    settleMs: f.settle * 1000,
    steps: resolveSteps(NAME, f.only, f.bastion),
    dryRun: f.dryRun,
    planOnly: planOnly(f.planOnly, f.dryRun),
    json: f.json,
    smoke: smokeStep({ ...target, services: workspace.services, smokeUrl: f.smokeUrl }),
    secrets: taskSecrets(
      workspace.services.filter((s) => target.services.includes(s.name)),
      target,
    ),
  });
});

function planOnly(wanted: boolean, dryRun: boolean): boolean {
  if (wanted && !dryRun) {
    throw new CliError(
      `${NAME}: invalid --plan-only`,
      '--plan-only only goes with --dry-run (a deploy always previews first)',
      `${invocation(NAME)} --dry-run --plan-only`,
      2,
    );
  }
  return wanted;
}

function pickServices(list: string | undefined): string[] {
  const all = workspace.services.map((s) => s.name);
  const wanted = splitList(list);
  const unknown = wanted.filter((s) => !all.includes(s));
  if (unknown.length) {
    throw new CliError(
      `${NAME}: invalid --service`,
      `no manifest for ${unknown.join(', ')}; services are ${all.join(', ')}`,
      `${invocation(NAME)} --help`,
      2,
    );
  }
  // Manifest order either way, so a partial deploy keeps the same sequence as a full one.
  return wanted.length ? all.filter((s) => wanted.includes(s)) : all;
}
