#!/usr/bin/env zx
// Smoke test of the deployed (or local) API: every service's health, list, get, 404 and 400
// problems, API Gateway's own 404, and a latency summary. With --alb it also checks the internal
// ALB's Host rules; with --from-bastion it runs the same checks inside the VPC through SSM.
import {
  bastionScript,
  EXPECTED_ITEMS,
  runOnBastion,
  runSmoke,
  type SmokeReport,
  smokeChecks,
} from './checks/smoke-checks.ts';
import { withHeadQuotaChecks } from './checks/smoke-quotas.ts';
import {
  CliError,
  commandName,
  createProgress,
  type FlagSpecs,
  invocation,
  output,
  runCommand,
} from './cli/command.ts';
import { createClients, ENV_OUTPUT, stackNames } from './cloud/aws.ts';
import { commonFlags, requireEnvironment, workspaceOrExit } from './cloud/flags.ts';
import { stackOutputs } from './cloud/stack-deployer.ts';

const NAME = commandName(import.meta.url);
const workspace = workspaceOrExit(NAME);
const flags = {
  ...commonFlags(workspace),
  url: {
    type: 'string',
    valueName: 'url',
    description: 'Base URL of the API (default: the ApiEndpoint output of <app>-<env>-http-api)',
  },
  alb: {
    type: 'string',
    valueName: 'dns|url',
    description: 'Also check the internal ALB directly (only reachable inside the VPC)',
  },
  albHost: {
    type: 'string',
    valueName: 'host',
    description: 'Host header the ALB rules expect (default: the --alb host name)',
  },
  fromBastion: {
    type: 'boolean',
    description: 'Run the checks on the bastion (<app>-<env>-bastion) through SSM Run Command',
  },
  expectItems: {
    type: 'number',
    default: EXPECTED_ITEMS,
    min: 0,
    valueName: 'n',
    description: 'Items each list must have',
  },
  samples: {
    type: 'number',
    default: 10,
    min: 0,
    valueName: 'n',
    description: 'Extra list requests per service for the latency summary',
  },
  timeout: {
    type: 'number',
    default: 10,
    min: 1,
    valueName: 'seconds',
    description: 'Per-request timeout',
  },
  waitReady: {
    type: 'number',
    default: 0,
    min: 0,
    valueName: 'seconds',
    description: 'First wait up to this long for every health check to pass',
  },
  json: { type: 'boolean', description: 'Print the report as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: NAME,
  summary:
    'Smoke-test the HTTP API (and optionally the internal ALB) against the Copilot manifests.',
  details: `Checks per service (from copilot/*/manifest.yml): health, list (${EXPECTED_ITEMS} items), get one,
404 problem+json for a missing id, 400 problem+json for a bad id; API Gateway's 404 for an
unknown route; a latency summary (p50/p95/max). Exit code 1 on any failure.

examples:
  ${invocation(NAME)} --url http://localhost:8080      # the local stack (npm start)
  ${invocation(NAME)}                                  # the deployed API
  ${invocation(NAME)} --from-bastion --json            # inside the VPC, via SSM`,
  flags,
};

function toUrl(value: string): string {
  return /^https?:\/\//.test(value) ? value : `http://${value}`;
}

process.exitCode = await runCommand(spec, async (f) => {
  const log = createProgress(NAME);
  const needsAws = !f.url || f.fromBastion;
  const env = needsAws ? requireEnvironment(workspace, f.env, NAME) : (f.env ?? '');
  const names = stackNames(f.app, env);
  const aws = needsAws ? createClients({ region: f.region, profile: f.profile }) : undefined;

  let apiUrl = f.url;
  if (!apiUrl && aws) {
    const outputs = await stackOutputs(aws.cfn, names.httpApi);
    apiUrl = outputs?.ApiEndpoint;
    if (!apiUrl) {
      throw new CliError(
        'smoke: no URL to test',
        outputs
          ? `stack ${names.httpApi} has no ApiEndpoint output`
          : `stack ${names.httpApi} does not exist`,
        `${invocation('deploy')} --env ${env}   (or pass --url)`,
      );
    }
  }
  const targets = { api: apiUrl, alb: f.alb ? toUrl(f.alb) : undefined };

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
      log,
    });
    report = await withHeadQuotaChecks(report, workspace.services, f.timeout * 1000, log);
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
    throw new CliError(
      `smoke: ${failed.length} of ${report.checks.length} checks failed`,
      failed.map((c) => `${c.name}: ${c.problems.join('; ')}`).join(' | '),
      env ? `${invocation('diagnose')} --env ${env}` : 'check the services, e.g. npm start logs',
    );
  }
  return 0;
});

async function viaBastion(
  aws: ReturnType<typeof createClients>,
  names: ReturnType<typeof stackNames>,
  env: string,
  targets: { api?: string | undefined; alb?: string | undefined },
  f: { albHost?: string | undefined; expectItems: number; timeout: number },
  log: ReturnType<typeof createProgress>,
): Promise<SmokeReport> {
  const bastion = await stackOutputs(aws.cfn, names.bastion);
  const instanceId = bastion?.InstanceId;
  if (!instanceId) {
    throw new CliError(
      'smoke: no bastion to run on',
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
    services: workspace.services,
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
    targets: { api: targets.api, alb },
    checks: results,
    latency: { count: 0, p50: 0, p95: 0, max: 0 },
  };
}
