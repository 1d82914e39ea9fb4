#!/usr/bin/env zx
// One-time setup, safe to re-run: checks the prerequisites, then creates the Copilot
// application, the environment (init and deploy) and registers each service, skipping every
// step that is already done (scripts/cloud/initialise.ts). Deploying is scripts/deploy.ts's job.
import { commandName, type FlagSpecs, invocation, runCommand } from './cli/command.ts';
import { COPILOT_VERSION } from './cloud/copilot-version.ts';
import { commonFlags, deployment, timeoutFlag, workspaceOrExit } from './cloud/flags.ts';
import { initialise } from './cloud/initialise.ts';

const NAME = commandName(import.meta.url);
const workspace = workspaceOrExit(NAME);
const flags = {
  ...commonFlags(workspace),
  timeout: timeoutFlag('Bound on each copilot command'),
  dryRun: { type: 'boolean', description: 'Print the steps; no AWS call, no copilot call' },
  json: { type: 'boolean', description: 'Print what was done and skipped as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: NAME,
  summary: 'Create the Copilot application and environment and register the services (idempotent).',
  details: `Steps (each skipped when already done):
  1. prerequisites: copilot (v${COPILOT_VERSION}), docker, AWS credentials (STS)
  2. copilot app init <app>
  3. copilot env init --name <env> --app <app> --default-config --region <region>, with
     --profile (--profile, else AWS_PROFILE) or the temporary-credential flags: env init ignores
     AWS_PROFILE, and the region is always the one the credentials resolve to
  4. copilot env deploy --name <env> --app <app>
  5. copilot svc init --name <svc> --app <app>   (each service in copilot/)
Then: ${invocation('deploy')}`,
  flags,
};

process.exitCode = await runCommand(spec, (f) =>
  initialise({
    ...deployment(NAME, workspace, f),
    dryRun: f.dryRun,
    json: f.json,
  }),
);
