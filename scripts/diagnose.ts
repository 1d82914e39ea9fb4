#!/usr/bin/env zx
// Read-only diagnosis of the deployed path: API -> VPC link -> internal ALB -> targets
// (scripts/checks/diagnose-run.ts).
import { diagnoseRun } from './checks/diagnose-run.ts';
import { commandName, type FlagSpecs, runCommand } from './cli/command.ts';
import { commonFlags, requireEnvironment, workspaceOrExit } from './cloud/flags.ts';

const NAME = commandName(import.meta.url);
const workspace = workspaceOrExit(NAME);
const flags = {
  ...commonFlags(workspace),
  since: {
    type: 'number',
    default: 60,
    min: 1,
    valueName: 'minutes',
    description: 'How far back to search the access logs',
  },
  json: { type: 'boolean', description: 'Print the checks as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: NAME,
  summary: 'Check the usual causes of 503s and timeouts, each with a verdict (OK / WARN / FAIL).',
  details: `Checks: the environment stack has the internal ALB's outputs; VPC link status (AVAILABLE /
INACTIVE / FAILED); the integration URI is the listener ARN and goes through the VPC link; the
Host overwrite is present and every service's listener rule accepts that Host; the ALB's
security group admits the VPC link's group and the VPC link's group may reach the ALB's (port
80); target health per service; integrationErrorMessage entries in the access logs (every
page of the search, up to a bound); the Lambda functions of the deployed Copilot stacks with
their runtimes (WARN for one Lambda will no longer let CloudFormation update, or soon). Exit 1 on
any FAIL.`,
  flags,
};

process.exitCode = await runCommand(spec, (f) =>
  diagnoseRun({
    cmd: NAME,
    app: f.app,
    env: requireEnvironment(workspace, f.env, NAME),
    services: workspace.services,
    region: f.region,
    profile: f.profile,
    since: f.since,
    json: f.json,
  }),
);
