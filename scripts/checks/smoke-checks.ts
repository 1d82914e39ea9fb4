// The smoke test as data: each check says where to send a GET and what must come back. The same
// list drives the Node runner (smoke.ts, locally and in CI) and the curl script that runs on the
// bastion, so what "healthy" means is written once. Service names, paths and health routes come
// from the Copilot manifests.
import http from 'node:http';
import https from 'node:https';
import {
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  type SendCommandCommandInput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { Progress } from '../cli/command.ts';
import { type BackoffOptions, waitUntil } from '../cloud/wait.ts';
import { describeCodes } from '../workspace/http-codes.ts';
import type { Service } from '../workspace/manifests.ts';
import { callService } from './service-client.ts';

/** The seed's sample data has six items per service. */
export const EXPECTED_ITEMS = 6;
/** A path no route matches: API Gateway answers it itself. */
const UNKNOWN_ROUTE = '/smoke-test/no-such-route';
/** A Host no Copilot listener rule matches: the ALB's default action answers 503. */
const WRONG_HOST = 'wrong-host.smoke-test.invalid';

export type BodyExpectation =
  | { kind: 'array'; length: number }
  | { kind: 'object'; fields: Record<string, string | number> }
  | { kind: 'problem'; status: number }
  | { kind: 'equals'; value: Record<string, string> };

export type Target = 'api' | 'alb';

interface SmokeCheck {
  name: string;
  service?: string;
  target: Target;
  path: string;
  /** Host header to send (ALB checks); by default the URL's own host. */
  host?: string;
  /** The service's own API answers: called through its generated client, judged by its document. */
  documented?: boolean;
  expectStatus: number[];
  /** Prefix of the expected content-type (parameters such as charset are ignored). */
  expectContentType?: string;
  body?: BodyExpectation;
}

/** What each service must answer, through the API (target 'api') or the ALB directly. */
export function serviceChecks(
  services: Service[],
  options: { target?: Target; host?: string; expectedItems?: number } = {},
): SmokeCheck[] {
  const target = options.target ?? 'api';
  // Each answered by the service itself, so judged by its OpenAPI document.
  const via = { documented: true, ...(options.host ? { host: options.host } : {}) };
  const items = options.expectedItems ?? EXPECTED_ITEMS;
  return services.flatMap((s) => [
    {
      name: `${s.name}: health`,
      service: s.name,
      target,
      path: s.health.path,
      ...via,
      expectStatus: s.health.successCodes,
      expectContentType: 'application/json',
      body: { kind: 'equals', value: { status: 'ok' } },
    },
    {
      name: `${s.name}: list has ${items} items`,
      service: s.name,
      target,
      path: s.pathPrefix,
      ...via,
      expectStatus: [200],
      expectContentType: 'application/json',
      body: { kind: 'array', length: items },
    },
    {
      name: `${s.name}: get one`,
      service: s.name,
      target,
      path: `${s.pathPrefix}/1`,
      ...via,
      expectStatus: [200],
      expectContentType: 'application/json',
      body: { kind: 'object', fields: { id: 1 } },
    },
    {
      name: `${s.name}: missing id is a 404 problem`,
      service: s.name,
      target,
      path: `${s.pathPrefix}/999`,
      ...via,
      expectStatus: [404],
      expectContentType: 'application/problem+json',
      body: { kind: 'problem', status: 404 },
    },
    {
      name: `${s.name}: bad id is a 400 problem`,
      service: s.name,
      target,
      path: `${s.pathPrefix}/abc`,
      ...via,
      expectStatus: [400],
      expectContentType: 'application/problem+json',
      body: { kind: 'problem', status: 400 },
    },
  ]);
}

/** API Gateway's own answer to a path no route matches. */
function apiChecks(): SmokeCheck[] {
  return [
    {
      name: 'api: unknown route is API Gateway 404',
      target: 'api',
      path: UNKNOWN_ROUTE,
      expectStatus: [404],
      expectContentType: 'application/json',
      body: { kind: 'equals', value: { message: 'Not Found' } },
    },
  ];
}

/** Inside the VPC: Copilot's rules match on Host, so the right Host is served, a wrong one 503. */
function albChecks(services: Service[], albHost: string): SmokeCheck[] {
  return services.flatMap((s) => [
    {
      name: `alb: ${s.name} with Host ${albHost}`,
      service: s.name,
      target: 'alb' as const,
      path: s.health.path,
      host: albHost,
      expectStatus: [200],
    },
    {
      name: `alb: ${s.name} with a wrong Host is 503`,
      service: s.name,
      target: 'alb' as const,
      path: s.health.path,
      host: WRONG_HOST,
      expectStatus: [503],
    },
  ]);
}

export interface HttpResult {
  status: number;
  contentType: string;
  body: string;
  ms: number;
}

/** One GET with an explicit Host header (fetch forbids setting it) and a hard timeout. */
function httpGet(
  url: string,
  options: { host?: string; timeoutMs: number; headers?: Record<string, string> },
): Promise<HttpResult> {
  const started = performance.now();
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: 'GET',
        headers: {
          accept: 'application/json',
          ...options.headers,
          ...(options.host ? { host: options.host } : {}),
        },
        // SNI and certificate checks stay on the URL's host even when Host is overridden.
        ...(u.protocol === 'https:' ? { servername: u.hostname } : {}),
        agent: false,
        timeout: options.timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body,
            ms: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The reasons a response fails a check; empty when it passes. */
export function evaluate(check: SmokeCheck, res: Omit<HttpResult, 'ms'>): string[] {
  const problems: string[] = [];
  if (!check.expectStatus.includes(res.status)) {
    problems.push(
      `status ${res.status}, expected ${describeCodes(check.expectStatus, ' or ')}${snippet(res.body)}`,
    );
    return problems;
  }
  if (
    check.expectContentType &&
    !res.contentType.toLowerCase().startsWith(check.expectContentType)
  ) {
    problems.push(`content-type "${res.contentType}", expected ${check.expectContentType}`);
  }
  if (!check.body) return problems;
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    problems.push(`body is not JSON${snippet(res.body)}`);
    return problems;
  }
  const body = check.body;
  const obj = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  switch (body.kind) {
    case 'array':
      if (!Array.isArray(json)) problems.push(`body is not a JSON array${snippet(res.body)}`);
      else if (json.length !== body.length)
        problems.push(`list has ${json.length} items, expected ${body.length}`);
      break;
    case 'object':
      if (Array.isArray(json) || typeof json !== 'object' || json === null) {
        problems.push(`body is not a JSON object${snippet(res.body)}`);
        break;
      }
      for (const [k, v] of Object.entries(body.fields)) {
        if (obj[k] !== v)
          problems.push(`field ${k} is ${JSON.stringify(obj[k])}, expected ${JSON.stringify(v)}`);
      }
      break;
    case 'problem':
      for (const field of ['type', 'title', 'detail']) {
        if (typeof obj[field] !== 'string') problems.push(`problem+json field "${field}" missing`);
      }
      if (obj.status !== body.status)
        problems.push(
          `problem+json status is ${JSON.stringify(obj.status)}, expected ${body.status}`,
        );
      break;
    case 'equals':
      if (Object.entries(body.value).some(([k, v]) => obj[k] !== v)) {
        problems.push(
          `body ${snippet(res.body).slice(8, -1)}, expected ${JSON.stringify(body.value)}`,
        );
      }
      break;
  }
  return problems;
}

function snippet(body: string): string {
  const text = body.replace(/\s+/g, ' ').trim();
  return text ? ` (body: ${text.length > 120 ? `${text.slice(0, 120)}...` : text})` : '';
}

export interface CheckResult {
  name: string;
  ok: boolean;
  url: string;
  status?: number;
  ms?: number;
  problems: string[];
}

/** One answered check: passed unless there is a problem. */
export function checkResult(
  name: string,
  url: string,
  status: number,
  problem: string | undefined,
): CheckResult {
  return { name, ok: problem === undefined, url, status, problems: problem ? [problem] : [] };
}

interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentiles, in whole milliseconds. */
export function latencySummary(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return {
    count: sorted.length,
    p50: Math.round(rank(50)),
    p95: Math.round(rank(95)),
    max: Math.round(sorted[sorted.length - 1] ?? 0),
  };
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

export interface Targets {
  api?: string | undefined;
  alb?: string | undefined;
}

async function runCheck(
  check: SmokeCheck,
  targets: Targets,
  timeoutMs: number,
  apiHeaders: Record<string, string> = {},
): Promise<CheckResult> {
  const base = targets[check.target];
  if (!base)
    return {
      name: check.name,
      ok: false,
      url: check.path,
      problems: [`no ${check.target} URL given`],
    };
  const url = joinUrl(base, check.path);
  const send = (target: string) =>
    httpGet(target, {
      timeoutMs,
      ...(check.host ? { host: check.host } : {}),
      ...(check.target === 'api' ? { headers: apiHeaders } : {}),
    });
  try {
    const call =
      check.documented && check.service
        ? await callService(check.service, base, check.path, send)
        : { result: await send(url), problems: [] };
    const res = call.result;
    if (!res) return { name: check.name, ok: false, url, problems: call.problems };
    const problems = [...evaluate(check, res), ...call.problems];
    return {
      name: check.name,
      ok: problems.length === 0,
      url,
      status: res.status,
      ms: res.ms,
      problems,
    };
  } catch (error) {
    return {
      name: check.name,
      ok: false,
      url,
      problems: [`request failed: ${(error as Error).message}`],
    };
  }
}

/** Single-quotes a string for bash. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

// The bastion has curl but not this repository: each check becomes one curl call and grep-level
// body tests (item count by `"id":` occurrences, problem status, exact small bodies).
function bodyTest(body: BodyExpectation | undefined): string {
  if (!body) return 'true';
  switch (body.kind) {
    case 'array':
      return `[ "$(grep -o '"id":' "$B" | wc -l)" -eq ${body.length} ]`;
    case 'object':
      return Object.entries(body.fields)
        .map(([k, v]) => `grep -Eq ${shellQuote(`"${k}": ?${JSON.stringify(v)}[,}]`)} "$B"`)
        .join(' && ');
    case 'problem':
      return `grep -Eq ${shellQuote(`"status": ?${body.status}[,}]`)} "$B" && grep -q '"title"' "$B" && grep -q '"detail"' "$B"`;
    case 'equals':
      return `[ "$(tr -d '\\r\\n' < "$B")" = ${shellQuote(JSON.stringify(body.value))} ]`;
  }
}

export function bastionScript(checks: SmokeCheck[], targets: Targets, timeoutMs: number): string {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const lines = [
    '#!/bin/bash',
    '# Generated by scripts/smoke.ts --from-bastion from scripts/checks/smoke-checks.ts.',
    'set -u',
    'B=$(mktemp); fails=0; total=0',
    'check() {',
    // $7: the statuses as a reader takes them in (a range as one: 200-299).
    '  local name="$1" url="$2" host="$3" statuses="$4" ctype="$5" test="$6" expected="$7" out code ct t',
    '  total=$((total+1))',
    `  if ! out=$(curl -sS -o "$B" -w '%{http_code} %{time_total} %{content_type}' --max-time ${seconds} -H "Host: $host" "$url" 2>&1); then`,
    '    echo "FAIL $name: $url: $out"; fails=$((fails+1)); return',
    '  fi',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion
    '  code=${out%% *}; t=${out#* }; ct=${t#* }; t=${t%% *}',
    '  if ! [[ " $statuses " == *" $code "* ]]; then echo "FAIL $name: status $code, expected $expected ($(head -c 120 "$B"))"; fails=$((fails+1)); return; fi',
    '  if [ -n "$ctype" ] && [[ "$ct" != "$ctype"* ]]; then echo "FAIL $name: content-type $ct, expected $ctype"; fails=$((fails+1)); return; fi',
    '  if ! eval "$test"; then echo "FAIL $name: unexpected body: $(head -c 120 "$B")"; fails=$((fails+1)); return; fi',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion
    '  echo "ok   $name ($code, ${t}s)"',
    '}',
  ];
  for (const c of checks) {
    const base = targets[c.target];
    if (!base) continue;
    const url = joinUrl(base, c.path);
    const host = c.host ?? new URL(url).host;
    lines.push(
      `check ${[c.name, url, host, c.expectStatus.join(' '), c.expectContentType ?? '', bodyTest(c.body), describeCodes(c.expectStatus, ' or ')].map(shellQuote).join(' ')}`,
    );
  }
  lines.push('rm -f "$B"', 'echo "$((total-fails))/$total checks passed"', '[ "$fails" -eq 0 ]');
  return `${lines.join('\n')}\n`;
}

export interface SmokeReport {
  passed: boolean;
  targets: Targets;
  checks: CheckResult[];
  latency: LatencySummary;
}

interface SmokeOptions {
  services: Service[];
  targets: Targets;
  /** Also check the ALB directly with this Host (the right one) and a wrong one. */
  albHost?: string | undefined;
  expectedItems?: number;
  timeoutMs: number;
  /** Extra GETs of each service's list, for the latency summary. */
  samples: number;
  /** Wait this long for every health check to pass before judging (right after a deploy). */
  waitReadyMs?: number;
  /** Sent with every request to the API (the JWT authorizer's `authorization`). */
  apiHeaders?: Record<string, string>;
  log: Progress;
  backoff?: BackoffOptions;
}

export function smokeChecks(
  options: Pick<SmokeOptions, 'services' | 'targets' | 'albHost' | 'expectedItems'>,
): SmokeCheck[] {
  const items = options.expectedItems ?? EXPECTED_ITEMS;
  const checks: SmokeCheck[] = [];
  if (options.targets.api) {
    checks.push(...serviceChecks(options.services, { expectedItems: items }), ...apiChecks());
  }
  if (options.targets.alb) {
    const host = options.albHost ?? new URL(options.targets.alb).host;
    checks.push(
      ...serviceChecks(options.services, { target: 'alb', host, expectedItems: items }).map(
        (c) => ({
          ...c,
          name: `alb: ${c.name}`,
        }),
      ),
      ...albChecks(options.services, host),
    );
  }
  return checks;
}

export async function runSmoke(options: SmokeOptions): Promise<SmokeReport> {
  const { log } = options;
  const checks = smokeChecks(options);
  const waitReadyMs = options.waitReadyMs ?? 0;
  if (waitReadyMs > 0) {
    const health = checks.filter((c) => c.name.endsWith(': health'));
    await waitUntil({
      what: 'the services to answer their health checks',
      timeoutMs: waitReadyMs,
      ...options.backoff,
      onState: (state) => log.info(`waiting: ${state}`),
      poll: async () => {
        const results = await Promise.all(
          health.map((c) => runCheck(c, options.targets, options.timeoutMs, options.apiHeaders)),
        );
        const failing = results.filter((r) => !r.ok);
        if (failing.length === 0) return { done: true, value: undefined };
        return { done: false, state: failing.map((r) => `${r.name}: ${r.problems[0]}`).join('; ') };
      },
    }).catch((error: Error) => log.warn(`${error.message}; running the checks anyway`));
  }
  const results: CheckResult[] = [];
  for (const check of checks) {
    const result = await runCheck(check, options.targets, options.timeoutMs, options.apiHeaders);
    results.push(result);
    const ms = result.ms === undefined ? '' : ` (${Math.round(result.ms)} ms)`;
    if (result.ok) log.ok(`${result.name}${ms}`);
    else log.fail(`${result.name}: ${result.problems.join('; ')} [GET ${result.url}]`);
  }
  const samples = results.flatMap((r) => (r.ms === undefined ? [] : [r.ms]));
  const listChecks = checks.filter((c) => c.body?.kind === 'array');
  for (let i = 0; i < options.samples; i++) {
    for (const check of listChecks) {
      const r = await runCheck(check, options.targets, options.timeoutMs, options.apiHeaders);
      if (r.ms !== undefined) samples.push(r.ms);
    }
  }
  const latency = latencySummary(samples);
  return { passed: results.every((r) => r.ok), targets: options.targets, checks: results, latency };
}

/** The SSM Run Command request that runs the generated script on the bastion. */
export function bastionCommandInput(
  instanceId: string,
  script: string,
  timeoutSeconds: number,
): SendCommandCommandInput {
  return {
    DocumentName: 'AWS-RunShellScript',
    InstanceIds: [instanceId],
    Comment: 'smoke test (scripts/smoke.ts --from-bastion)',
    TimeoutSeconds: timeoutSeconds,
    Parameters: {
      commands: script.trimEnd().split('\n'),
      executionTimeout: [String(timeoutSeconds)],
    },
  };
}

const FINAL = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut', 'Cancelling']);

/** Sends the script, waits (bounded) for the invocation to finish, returns its output. */
export async function runOnBastion(options: {
  ssm: SSMClient;
  instanceId: string;
  script: string;
  timeoutMs: number;
  log: Progress;
  backoff?: BackoffOptions;
}): Promise<GetCommandInvocationCommandOutput> {
  const { ssm, instanceId, log } = options;
  const timeoutSeconds = Math.max(30, Math.ceil(options.timeoutMs / 1000));
  const sent = await ssm.send(
    new SendCommandCommand(bastionCommandInput(instanceId, options.script, timeoutSeconds)),
  );
  const commandId = sent.Command?.CommandId;
  if (!commandId) throw new Error('SSM SendCommand returned no command id');
  log.info(`SSM command ${commandId} sent to ${instanceId}`);
  return waitUntil({
    what: `SSM command ${commandId} on ${instanceId}`,
    timeoutMs: options.timeoutMs + 30_000,
    initialDelayMs: 1_000,
    maxDelayMs: 5_000,
    ...options.backoff,
    onState: (state) => log.info(`bastion: ${state}`),
    poll: async () => {
      try {
        const out = await ssm.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
        );
        const status = out.Status ?? 'Pending';
        return FINAL.has(status) ? { done: true, value: out } : { done: false, state: status };
      } catch (error) {
        // The invocation is not visible for a moment after SendCommand.
        if ((error as Error).name === 'InvocationDoesNotExist')
          return { done: false, state: 'Pending' };
        throw error;
      }
    },
  });
}

/**
 * Adds checks run against the API (`run` gets its URL and the first service of the manifests)
 * to a smoke report, each logged; a request that fails outright is one failed check `what`.
 */
export async function withApiChecks(
  report: SmokeReport,
  services: readonly Service[],
  what: string,
  run: (api: string, service: Service) => Promise<CheckResult[]>,
  log: Progress,
): Promise<SmokeReport> {
  const api = report.targets.api;
  const service = services[0];
  if (api === undefined || service === undefined) return report;
  let checks: CheckResult[];
  try {
    checks = await run(api, service);
  } catch (error) {
    checks = [
      {
        name: what,
        ok: false,
        url: api,
        problems: [`request failed: ${(error as Error).message}`],
      },
    ];
  }
  for (const check of checks) {
    if (check.ok) log.ok(check.name);
    else log.fail(`${check.name}: ${check.problems.join('; ')}`);
  }
  return {
    ...report,
    passed: report.passed && checks.every((c) => c.ok),
    checks: [...report.checks, ...checks],
  };
}
