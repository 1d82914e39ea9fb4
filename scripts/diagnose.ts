#!/usr/bin/env zx
import { diagnose } from './checks/diagnose-checks.ts';
import {
  CliError,
  commandName,
  createProgress,
  type FlagSpecs,
  invocation,
  output,
  runCommand,
} from './cli/command.ts';
// Read-only diagnosis of the deployed path: API -> VPC link -> internal ALB -> targets.
import { createClients } from './cloud/aws.ts';
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
page of the search, up to a bound). Exit 1 on any FAIL.`,
  flags,
};

process.exitCode = await runCommand(spec, async (f) => {
  const log = createProgress(NAME);
  const env = requireEnvironment(workspace, f.env, NAME);
  const aws = createClients({ region: f.region, profile: f.profile });
  log.step(`diagnosing ${f.app}/${env}`);
  const checks = await diagnose(aws, {
    app: f.app,
    env,
    services: workspace.services,
    logMinutes: f.since,
  });
  for (const c of checks) {
    const line = `${c.verdict.padEnd(4)} ${c.name}: ${c.detail}${c.hint ? `\n       -> ${c.hint}` : ''}`;
    if (c.verdict === 'OK') log.ok(line.slice(5));
    else if (c.verdict === 'WARN') log.warn(line.slice(5));
    else log.fail(line.slice(5));
  }
  const fails = checks.filter((c) => c.verdict === 'FAIL');
  const warns = checks.filter((c) => c.verdict === 'WARN');
  if (f.json) output(JSON.stringify({ app: f.app, env, checks }, null, 2));
  else
    output(
      `${fails.length ? 'FAIL' : warns.length ? 'WARN' : 'OK'}: ${checks.length} checks, ${fails.length} failed, ${warns.length} warnings`,
    );
  if (fails.length) {
    throw new CliError(
      `diagnose: ${fails.length} check(s) failed`,
      fails.map((c) => c.name).join(', '),
      fails[0]?.hint ?? `${invocation(NAME)} --env ${env}`,
    );
  }
  return 0;
});
