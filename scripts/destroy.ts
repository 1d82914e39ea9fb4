#!/usr/bin/env zx
// Deletes everything deploy.ts and init.ts created, in reverse order (scripts/cloud/teardown.ts).
// Refuses to run without --yes.
import { commandName, type FlagSpecs, runCommand } from './cli/command.ts';
import { commonFlags, deployment, timeoutFlag, workspaceOrExit } from './cloud/flags.ts';
import { teardown } from './cloud/teardown.ts';

const NAME = commandName(import.meta.url);
const workspace = workspaceOrExit(NAME);
const flags = {
  ...commonFlags(workspace),
  yes: {
    type: 'boolean',
    description: 'Really delete (without it, only print what would be deleted)',
  },
  keepApp: {
    type: 'boolean',
    description: 'Keep the Copilot application (other environments use it)',
  },
  timeout: timeoutFlag('Bound on each deletion'),
  json: { type: 'boolean', description: 'Print what was deleted as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: NAME,
  summary: 'Delete everything deploy.ts and init.ts created, in reverse order.',
  details: `Order: <app>-<env>-http-api stack, <app>-<env>-bastion stack (if present), each service
(copilot svc delete), the environment (copilot env delete), the application (copilot app delete,
run from a temporary directory: inside the workspace it would delete copilot/.workspace).
Without --yes it prints that list and exits 2, deleting nothing.`,
  flags,
};

process.exitCode = await runCommand(spec, (f) =>
  teardown({
    ...deployment(NAME, workspace, f),
    keepApp: f.keepApp,
    yes: f.yes,
    json: f.json,
  }),
);
