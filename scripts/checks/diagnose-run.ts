// diagnose as a command: the read-only checks of diagnose-checks.ts, each printed with its
// verdict and hint on stderr, a summary (or the JSON report) on stdout, exit 1 on any FAIL.
import { CliError, createProgress, invocation, output, type Progress } from '../cli/command.ts';
import { createClients } from '../cloud/aws.ts';
import type { Service } from '../workspace/manifests.ts';
import { diagnose } from './diagnose-checks.ts';
import type { DiagnosticCheck } from './diagnose-verdict.ts';

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
  for (const c of checks) printCheck(log, c);
  if (o.json) output(JSON.stringify({ app: o.app, env: o.env, checks }, null, 2));
  else output(summary(checks));
  const failure = failureOf(o, checks);
  if (failure) throw failure;
  return 0;
}

/** A check on stderr: its verdict as the line's mark, then its name, what was seen, the hint. */
export function printCheck(log: Progress, c: DiagnosticCheck): void {
  const line = `${c.name}: ${c.detail}${c.hint ? `\n       -> ${c.hint}` : ''}`;
  if (c.verdict === 'OK') log.ok(line);
  else if (c.verdict === 'WARN') log.warn(line);
  else log.fail(line);
}

const withVerdict = (checks: readonly DiagnosticCheck[], verdict: DiagnosticCheck['verdict']) =>
  checks.filter((c) => c.verdict === verdict);

/** The one-line summary on stdout: the worst verdict, then the counts. */
export function summary(checks: readonly DiagnosticCheck[]): string {
  const fails = withVerdict(checks, 'FAIL').length;
  const warns = withVerdict(checks, 'WARN').length;
  return `${fails ? 'FAIL' : warns ? 'WARN' : 'OK'}: ${checks.length} checks, ${fails} failed, ${warns} warnings`;
}

/** Exit 1 on any FAIL: the failed checks by name, the first one's hint as the next command. */
export function failureOf(
  o: Pick<DiagnoseRunOptions, 'cmd' | 'env'>,
  checks: readonly DiagnosticCheck[],
): CliError | undefined {
  const fails = withVerdict(checks, 'FAIL');
  if (fails.length === 0) return undefined;
  return new CliError(
    `${o.cmd}: ${fails.length} check(s) failed`,
    fails.map((c) => c.name).join(', '),
    fails[0]?.hint ?? `${invocation(o.cmd)} --env ${o.env}`,
  );
}
