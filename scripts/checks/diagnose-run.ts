// diagnose as a command: the read-only checks of diagnose-checks.ts, each printed with its
// verdict and hint on stderr, a summary (or the JSON report) on stdout, exit 1 on any FAIL.
import { CliError, createProgress, invocation, output } from '../cli/command.ts';
import { createClients } from '../cloud/aws.ts';
import type { Service } from '../workspace/manifests.ts';
import { diagnose } from './diagnose-checks.ts';

export interface DiagnoseRunOptions {
  cmd: string;
  app: string;
  env: string;
  services: Service[];
  region: string | undefined;
  profile: string | undefined;
  /** How far back to search the access logs, in minutes. */
  since: number;
  json: boolean;
}

export async function diagnoseRun(o: DiagnoseRunOptions): Promise<number> {
  const log = createProgress(o.cmd);
  const aws = createClients({ region: o.region, profile: o.profile });
  log.step(`diagnosing ${o.app}/${o.env}`);
  const checks = await diagnose(aws, {
    app: o.app,
    env: o.env,
    services: o.services,
    logMinutes: o.since,
  });
  for (const c of checks) {
    const line = `${c.verdict.padEnd(4)} ${c.name}: ${c.detail}${c.hint ? `\n       -> ${c.hint}` : ''}`;
    if (c.verdict === 'OK') log.ok(line.slice(5));
    else if (c.verdict === 'WARN') log.warn(line.slice(5));
    else log.fail(line.slice(5));
  }
  const fails = checks.filter((c) => c.verdict === 'FAIL');
  const warns = checks.filter((c) => c.verdict === 'WARN');
  if (o.json) output(JSON.stringify({ app: o.app, env: o.env, checks }, null, 2));
  else
    output(
      `${fails.length ? 'FAIL' : warns.length ? 'WARN' : 'OK'}: ${checks.length} checks, ${fails.length} failed, ${warns.length} warnings`,
    );
  if (fails.length) {
    throw new CliError(
      `${o.cmd}: ${fails.length} check(s) failed`,
      fails.map((c) => c.name).join(', '),
      fails[0]?.hint ?? `${invocation(o.cmd)} --env ${o.env}`,
    );
  }
  return 0;
}
