// The smoke test as a command: the API URL from --url or the HTTP API stack's PublicEndpoint output,
// the checks run from here (runSmoke, plus the head-size quota) or on the bastion through SSM,
// and the report printed. scripts/smoke.ts parses the flags and calls smokeRun.
import { CliError, createProgress, invocation, output, splitList } from '../cli/command.ts';
import { API_URL_OUTPUT, createClients, ENV_OUTPUT, stackNames } from '../cloud/aws.ts';
import { requireEnvironment } from '../cloud/flags.ts';
import { describeStack, stackOutputs } from '../cloud/stack-deployer.ts';
import type { Workspace } from '../workspace/manifests.ts';
import {
  bastionScript,
  runOnBastion,
  runSmoke,
  type SmokeReport,
  smokeChecks,
} from './smoke-checks.ts';
import { type ApiOptions, withOptionChecks } from './smoke-options.ts';
import { withHeadQuotaChecks } from './smoke-quotas.ts';

function toUrl(value: string): string {
  return /^[a-z][a-z\d+.-]*:\/\//i.test(value) ? value : `http://${value}`;
}

/**
 * --url (or --alb) as given, with `http://` when it names no scheme (`localhost:8080`); else
 * refused: another scheme (`ftp://x`) is not read as a host name.
 */
function urlFlag(value: string, cmd: string, flag = 'url'): string {
  const url = toUrl(value);
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) {
    throw new CliError(
      `${cmd}: invalid --${flag}`,
      `"${value}" is not an http(s) URL`,
      flag === 'alb'
        ? `${invocation('smoke')} --alb <the internal ALB's DNS name>   (from inside the VPC)`
        : `${invocation('smoke')} --url http://localhost:8080`,
      2,
    );
  }
  return url;
}

/** A URL served on this machine: `npm start`'s, whose output says what each request met. */
const onThisMachine = (url: string): boolean =>
  /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(new URL(url).hostname);

/**
 * What to run after failed checks: a token when every failure is a 401 and none was given
 * (the JWT authorizer), npm start's output for a --url on this machine (`given`), diagnose for
 * a deploy.
 */
export function nextAfterFailures(
  failed: readonly { status?: number | undefined }[],
  given: string | undefined,
  f: Pick<SmokeRunOptions, 'cmd' | 'token'>,
  env: string,
): string {
  const local = given !== undefined && onThisMachine(given);
  if (f.token === undefined && failed.every((c) => c.status === 401)) {
    const target = given !== undefined ? `--url ${given}` : `--env ${env}`;
    const where = local ? '   (npm start -- --jwt prints one)' : '';
    return `${invocation(f.cmd)} ${target} --token <a JWT its issuer signed>${where}`;
  }
  if (local)
    return "npm start's output: its access log and each replica's lines say what a request met";
  return env ? `${invocation('diagnose')} --env ${env}` : 'check the services behind the URL';
}

/**
 * The failure to report when no check got an answer at all (refused, no such host, timed out):
 * one cause, not a list of the same error per check, and for a URL on this machine the command
 * that starts what should be listening there.
 */
function unreachable(report: SmokeReport, url: string, cmd: string, env: string) {
  if (report.checks.some((c) => c.status !== undefined)) return undefined;
  const cause = report.checks.find((c) => !c.ok)?.problems[0] ?? 'no answer';
  const next = onThisMachine(url)
    ? 'npm start   (in another terminal), then run this again, or add --wait-ready 60 to wait for it'
    : env
      ? `${invocation('diagnose')} --env ${env}`
      : 'check the URL and that it is reachable from here';
  return new CliError(`${cmd}: nothing answered at ${url}`, cause, next);
}

export interface SmokeRunOptions {
  cmd: string;
  workspace: Workspace;
  app: string;
  env: string | undefined;
  region: string | undefined;
  profile: string | undefined;
  url: string | undefined;
  alb: string | undefined;
  albHost: string | undefined;
  fromBastion: boolean;
  expectItems: number;
  samples: number;
  timeout: number;
  waitReady: number;
  /** A bearer token for the JWT authorizer: sent with every API request, and checked. */
  token: string | undefined;
  /** The origin to send CORS preflights from (default on a deploy: its first allowed one). */
  corsOrigin: string | undefined;
  json: boolean;
}

/** The URL output of the HTTP API stack (the custom domain's when it has one), or a CliError saying what to deploy. */
async function deployedApiUrl(
  cmd: string,
  aws: ReturnType<typeof createClients>,
  names: ReturnType<typeof stackNames>,
  env: string,
): Promise<string> {
  const outputs = await stackOutputs(aws.cfn, names.httpApi);
  const url = outputs?.[API_URL_OUTPUT];
  if (url) return url;
  throw new CliError(
    `${cmd}: no URL to test`,
    outputs
      ? `stack ${names.httpApi} has no ${API_URL_OUTPUT} output`
      : `stack ${names.httpApi} does not exist`,
    `${invocation('deploy')} --env ${env}   (or pass --url)`,
  );
}

/** With --url, the options the flags say are on: --token (JWT), --cors-origin (CORS). */
function localOptions(f: SmokeRunOptions): ApiOptions {
  return {
    ...(f.corsOrigin ? { corsOrigin: f.corsOrigin } : {}),
    ...(f.token ? { jwt: { token: f.token } } : {}),
  };
}

/** On a deploy, the options the HTTP API stack's parameters turn on. */
async function deployedOptions(
  f: SmokeRunOptions,
  aws: ReturnType<typeof createClients> | undefined,
  names: ReturnType<typeof stackNames>,
): Promise<ApiOptions> {
  const stack = aws ? await describeStack(aws.cfn, names.httpApi) : undefined;
  const value = (key: string) =>
    stack?.Parameters?.find((p) => p.ParameterKey === key)?.ParameterValue ?? '';
  const issuer = value('JwtIssuer');
  if (issuer !== '' && f.token === undefined) {
    throw new CliError(
      `${f.cmd}: the HTTP API needs a token`,
      `stack ${names.httpApi} has the JWT authorizer on (issuer ${issuer})`,
      `${invocation(f.cmd)} --env ${f.env ?? ''} --token <a token from ${issuer}>`,
    );
  }
  const origin = f.corsOrigin ?? splitList(value('CorsAllowOrigins')).find((o) => o !== '*');
  return {
    ...(origin ? { corsOrigin: origin } : {}),
    ...(issuer !== '' ? { jwt: { token: f.token } } : {}),
  };
}

/** Smoke-tests the API (and the ALB), here or on the bastion; prints the report. */
export async function smokeRun(f: SmokeRunOptions): Promise<number> {
  const { cmd, workspace } = f;
  const log = createProgress(cmd);
  const needsAws = !f.url || f.fromBastion;
  const env = needsAws ? requireEnvironment(workspace, f.env, cmd) : (f.env ?? '');
  const names = stackNames(f.app, env);
  const aws = needsAws ? createClients({ region: f.region, profile: f.profile }) : undefined;

  const given = f.url === undefined ? undefined : urlFlag(f.url, cmd);
  const apiUrl = given ?? (aws ? await deployedApiUrl(cmd, aws, names, env) : undefined);
  const targets = { api: apiUrl, alb: f.alb ? urlFlag(f.alb, cmd, 'alb') : undefined };
  const options = f.url ? localOptions(f) : await deployedOptions(f, aws, names);

  let report: SmokeReport;
  if (f.fromBastion && aws) {
    report = await viaBastion(aws, names, env, targets, f, log);
  } else {
    log.step(`smoke test of ${[targets.api, targets.alb].filter(Boolean).join(' and ')}`);
    report = await runSmoke({
      services: workspace.services,
      targets,
      albHost: f.albHost,
      expectedItems: f.expectItems,
      timeoutMs: f.timeout * 1000,
      samples: f.samples,
      waitReadyMs: f.waitReady * 1000,
      ...(f.token ? { apiHeaders: { authorization: `Bearer ${f.token}` } } : {}),
      log,
    });
    report = await withHeadQuotaChecks(report, workspace.services, f.timeout * 1000, log);
    report = await withOptionChecks(report, workspace.services, options, f.timeout * 1000, log);
  }
  const failed = report.checks.filter((c) => !c.ok);
  if (f.json) output(JSON.stringify(report, null, 2));
  else {
    const { count, p50, p95, max } = report.latency;
    output(
      `${report.passed ? 'PASS' : 'FAIL'} ${report.checks.length - failed.length}/${report.checks.length} checks` +
        (count
          ? `; latency over ${count} requests: p50 ${p50} ms, p95 ${p95} ms, max ${max} ms`
          : ''),
    );
  }
  if (!report.passed) {
    const silent = f.fromBastion || !apiUrl ? undefined : unreachable(report, apiUrl, cmd, env);
    if (silent) throw silent;
    throw new CliError(
      `${cmd}: ${failed.length} of ${report.checks.length} checks failed`,
      failed.map((c) => `${c.name}: ${c.problems.join('; ')}`).join(' | '),
      nextAfterFailures(failed, given, f, env),
    );
  }
  return 0;
}

async function viaBastion(
  aws: ReturnType<typeof createClients>,
  names: ReturnType<typeof stackNames>,
  env: string,
  targets: { api?: string | undefined; alb?: string | undefined },
  f: SmokeRunOptions,
  log: ReturnType<typeof createProgress>,
): Promise<SmokeReport> {
  const bastion = await stackOutputs(aws.cfn, names.bastion);
  const instanceId = bastion?.InstanceId;
  if (!instanceId) {
    throw new CliError(
      `${f.cmd}: no bastion to run on`,
      bastion
        ? `stack ${names.bastion} has no InstanceId output`
        : `stack ${names.bastion} does not exist`,
      `${invocation('deploy')} --env ${env} --only bastion`,
    );
  }
  // Inside the VPC the ALB is reachable by its DNS name, which is also the Host its rules expect.
  const envOutputs = (await stackOutputs(aws.cfn, names.env)) ?? {};
  const albDns = envOutputs[ENV_OUTPUT.albDns];
  const alb = targets.alb ?? (albDns ? `http://${albDns}` : undefined);
  const checks = smokeChecks({
    services: f.workspace.services,
    targets: { api: targets.api, alb },
    albHost: f.albHost,
    expectedItems: f.expectItems,
  });
  const script = bastionScript(checks, { api: targets.api, alb }, f.timeout * 1000);
  log.step(`running ${checks.length} checks on bastion ${instanceId} through SSM`);
  const result = await runOnBastion({
    ssm: aws.ssm,
    instanceId,
    script,
    timeoutMs: Math.max(60_000, checks.length * f.timeout * 1000),
    log,
  });
  return bastionReport(checks, result, { api: targets.api, alb });
}

/** The smoke report from the bastion script's output: one `ok`/`FAIL` line per check. */
function bastionReport(
  checks: ReturnType<typeof smokeChecks>,
  result: Awaited<ReturnType<typeof runOnBastion>>,
  targets: { api: string | undefined; alb: string | undefined },
): SmokeReport {
  const stdout = result.StandardOutputContent ?? '';
  process.stderr.write(stdout);
  if (result.StandardErrorContent) process.stderr.write(result.StandardErrorContent);
  const lines = stdout.split('\n');
  const results = checks.map((c) => {
    const line = lines.find((l) => l.slice(5).startsWith(c.name));
    const ok = line?.startsWith('ok ') ?? false;
    return {
      name: c.name,
      ok,
      url: c.path,
      problems: ok
        ? []
        : [line ? line.slice(5 + c.name.length + 2) : `no result (command ${result.Status})`],
    };
  });
  return {
    passed: result.Status === 'Success' && results.every((r) => r.ok),
    targets,
    checks: results,
    latency: { count: 0, p50: 0, p95: 0, max: 0 },
  };
}
