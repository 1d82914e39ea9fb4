// smokeRun (scripts/checks/smoke-run.ts) where it reads a deploy, in this process: CloudFormation
// and SSM doubled (aws-sdk-client-mock), the API a local server that records what it is asked.
// Without --url the URL is the HTTP API stack's output, and the stack's parameters say which
// option checks run (the JWT authorizer wants a token; CORS is checked from the first allowed
// origin); --from-bastion runs the checks on the bastion through SSM and reads its lines back;
// and every way there is nothing to test says what to deploy or pass.
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import {
  type CommandInvocationStatus,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { smokeChecks } from '../../scripts/checks/smoke-checks.ts';
import { type SmokeRunOptions, smokeRun } from '../../scripts/checks/smoke-run.ts';
import { API_URL_OUTPUT, ENV_OUTPUT, stackNames } from '../../scripts/cloud/aws.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { cliErrorOf as failure } from '../helpers/cli-error.ts';
import { captureOutput } from '../helpers/output.ts';
import { type RecordingServer, recordingServer } from '../helpers/recording-server.ts';
import { smokeRunOptions } from './smoke-run-options.ts';

const cfn = mockClient(CloudFormationClient);
const ssm = mockClient(SSMClient);
// The mocks replace the clients' send for the whole worker (vitest isolate: false): put it back.
afterAll(() => {
  cfn.restore();
  ssm.restore();
});

const workspace = loadWorkspace();
const {
  httpApi: HTTP_API,
  bastion: BASTION,
  env: ENV_STACK,
} = stackNames(workspace.application, 'test');

const options = (overrides: Partial<SmokeRunOptions> = {}) =>
  smokeRunOptions({ region: 'us-east-1', ...overrides });

/** CloudFormation with these stacks, by name; any other does not exist. */
function stacks(byName: Record<string, Partial<Stack>>): void {
  cfn.reset();
  cfn.on(DescribeStacksCommand).callsFake(({ StackName }: { StackName: string }) => {
    const stack = byName[StackName];
    if (!stack) {
      throw Object.assign(new Error(`Stack with id ${StackName} does not exist`), {
        name: 'ValidationError',
      });
    }
    return { Stacks: [{ StackName, StackStatus: 'CREATE_COMPLETE', ...stack }] };
  });
}

const outputs = (values: Record<string, string>) =>
  Object.entries(values).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));
const parameters = (values: Record<string, string>) =>
  Object.entries(values).map(([ParameterKey, ParameterValue]) => ({
    ParameterKey,
    ParameterValue,
  }));

/** A deploy whose HTTP API stack gives `url` and has these parameters; no other stack. */
const httpApiStack = (url: string, values: Record<string, string> = {}) =>
  stacks({
    [HTTP_API]: { Outputs: outputs({ [API_URL_OUTPUT]: url }), Parameters: parameters(values) },
  });

/** The origins the API's CORS preflights came from. */
const preflightOrigins = (api: RecordingServer) =>
  api.asked.filter((r) => r.method === 'OPTIONS').map((r) => r.headers.origin);

/** An API that answers every request 500, keeping each request it was asked. */
const recordingApi = () => recordingServer(() => ({ status: 500 }));

/** The names of the checks in a JSON report printed on stdout. */
function checkNamesIn(json: string): string[] {
  return (JSON.parse(json) as { checks: { name: string }[] }).checks.map((c) => c.name);
}

/** The report on stdout; progress lines and what the bastion printed on stderr. */
let printed: ReturnType<typeof captureOutput>;
beforeEach(() => {
  printed = captureOutput();
});
afterEach(() => vi.restoreAllMocks());

describe('smokeRun on a deploy, without --url', () => {
  it('tests the URL the HTTP API stack gives, and says what to diagnose when it fails', async () => {
    const api = await recordingApi();
    try {
      httpApiStack(api.url);
      const error = await failure(smokeRun(options()));
      expect(error.what).toMatch(/^smoke: \d+ of \d+ checks failed$/);
      expect(error.next).toBe('npx zx scripts/diagnose.ts --env test');
      expect(api.asked.length).toBeGreaterThan(0);
      // No option is on: no CORS preflight, no request without a token expected to be refused.
      expect(api.asked.some((r) => r.method === 'OPTIONS')).toBe(false);
      expect(printed.stdout()).toMatch(
        /^FAIL 0\/\d+ checks; latency over \d+ requests: p50 \d+ ms, p95 \d+ ms, max \d+ ms\n$/,
      );
      expect(printed.stderr()).toContain(`[smoke] ==> smoke test of ${api.url}\n`);
      // A check's problems, each named: several of one check joined by '; '.
      expect(error.why).toMatch(/^[^|]+: [^|;]+; [^|]+( \| |$)/);
    } finally {
      await api.close();
    }
  });

  it('says what to deploy when the HTTP API stack does not exist', async () => {
    stacks({});
    const error = await failure(smokeRun(options()));
    expect(error.what).toBe('smoke: no URL to test');
    expect(error.why).toBe(`stack ${HTTP_API} does not exist`);
    expect(error.next).toBe('npx zx scripts/deploy.ts --env test   (or pass --url)');
  });

  it('says so when the stack has no URL output', async () => {
    stacks({ [HTTP_API]: { Outputs: outputs({ ApiId: 'abc123' }) } });
    const error = await failure(smokeRun(options()));
    expect(error.why).toBe(`stack ${HTTP_API} has no ${API_URL_OUTPUT} output`);
  });

  it('refuses to start without a token when the stack has the JWT authorizer on', async () => {
    httpApiStack('http://127.0.0.1:9', { JwtIssuer: 'https://issuer.example' });
    const error = await failure(smokeRun(options()));
    expect(error.what).toBe('smoke: the HTTP API needs a token');
    expect(error.why).toBe(
      `stack ${HTTP_API} has the JWT authorizer on (issuer https://issuer.example)`,
    );
    expect(error.next).toBe(
      'npx zx scripts/smoke.ts --env test --token <a token from https://issuer.example>',
    );
  });

  it("checks CORS from the first allowed origin that is not *, and the token, as the stack's parameters say", async () => {
    const api = await recordingApi();
    try {
      httpApiStack(api.url, {
        JwtIssuer: 'https://issuer.example',
        CorsAllowOrigins: '*, https://app.example.com,https://other.example.com',
      });
      await failure(smokeRun(options({ token: 'abc.def.ghi', json: true })));
      expect(checkNamesIn(printed.stdout())).toEqual(
        expect.arrayContaining([
          'api: a request without a token is refused (401)',
          'api: a request with the token is served',
        ]),
      );
      const origins = preflightOrigins(api);
      expect(origins).toContain('https://app.example.com');
      expect(origins).not.toContain('https://other.example.com');
      const tokens = new Set(api.asked.map((r) => r.headers.authorization));
      expect(tokens).toContain('Bearer abc.def.ghi');
      // The authorizer's own check: one request without the token.
      expect(tokens).toContain(undefined);
    } finally {
      await api.close();
    }
  });

  it('checks CORS from the origin given, over the stack parameters', async () => {
    const api = await recordingApi();
    try {
      httpApiStack(api.url, { CorsAllowOrigins: 'https://app.example.com' });
      await failure(
        smokeRun(
          options({ corsOrigin: 'https://given.example.com', region: 'eu-west-3', json: true }),
        ),
      );
      // No JwtIssuer: no check of the authorizer.
      expect(checkNamesIn(printed.stdout()).filter((name) => name.includes('token'))).toEqual([]);
      // The region given reaches the clients that read the stack.
      const call = cfn.commandCalls(DescribeStacksCommand)[0];
      expect(await call?.thisValue.config.region()).toBe('eu-west-3');
      const origins = preflightOrigins(api);
      expect(origins).toContain('https://given.example.com');
      expect(origins).not.toContain('https://app.example.com');
    } finally {
      await api.close();
    }
  });
});

describe('smokeRun --url', () => {
  it('asks AWS nothing, checks the options the flags turn on, and prints the report as JSON', async () => {
    const api = await recordingApi();
    try {
      stacks({});
      const error = await failure(
        smokeRun(
          options({
            env: undefined,
            url: api.url,
            token: 'tok',
            corsOrigin: 'https://app.example.com',
            json: true,
          }),
        ),
      );
      expect(cfn.calls()).toHaveLength(0);
      // A URL on this machine is npm start's: its output says what each request met.
      expect(error.next).toBe(
        "npm start's output: its access log and each replica's lines say what a request met",
      );
      const report = JSON.parse(printed.stdout()) as { passed: boolean; checks: unknown[] };
      expect(report.passed).toBe(false);
      expect(api.asked.some((r) => r.headers.origin === 'https://app.example.com')).toBe(true);
      // The token goes with the services' checks, the second service's too (the quota's and
      // the option checks' own requests are about what comes before the authorizer).
      const withToken = api.asked.filter((r) => r.headers.authorization === 'Bearer tok');
      expect(withToken.map((r) => r.url)).toEqual(
        expect.arrayContaining(['/api/authors/health', '/api/authors/1', '/api/authors/abc']),
      );
      expect(checkNamesIn(printed.stdout())).toEqual(
        expect.arrayContaining(['api: a request with the token is served']),
      );
    } finally {
      await api.close();
    }
  });

  it('takes --alb without a scheme as http, and checks it beside the API', async () => {
    const api = await recordingApi();
    const alb = await recordingApi();
    try {
      await failure(
        smokeRun(options({ url: api.url, alb: alb.url.replace('http://', ''), json: true })),
      );
      expect(alb.asked.length).toBeGreaterThan(0);
      expect(alb.asked[0]?.headers.host).toBe(alb.url.replace('http://', ''));
      expect(printed.stderr()).toContain(`[smoke] ==> smoke test of ${api.url} and ${alb.url}\n`);
    } finally {
      await api.close();
      await alb.close();
    }
  });
});

describe('smokeRun where part of it answers, or nothing does', () => {
  it('names the checks that failed when the API answered and the ALB did not', async () => {
    const api = await recordingApi();
    try {
      const error = await failure(smokeRun(options({ url: api.url, alb: 'http://127.0.0.1:9' })));
      expect(error.what).toMatch(/^smoke: \d+ of \d+ checks failed$/);
    } finally {
      await api.close();
    }
  });

  it('asks for a token when every failed check met a 401, naming where a local one comes from', async () => {
    const refusing = await recordingServer(() => ({ status: 401 }));
    try {
      const error = await failure(smokeRun(options({ env: undefined, url: refusing.url })));
      expect(error.next).toBe(
        `npx zx scripts/smoke.ts --url ${refusing.url} --token <a JWT its issuer signed>   (npm start -- --jwt prints one)`,
      );
      // With a token given, the 401s are the token's problem: npm start's output says why.
      const given = await failure(
        smokeRun(options({ env: undefined, url: refusing.url, token: 'expired' })),
      );
      expect(given.next).toMatch(/^npm start's output: /);
    } finally {
      await refusing.close();
    }
  });

  it('takes any 127.x.y.z address for this machine, and suggests npm start', async () => {
    const error = await failure(smokeRun(options({ url: 'http://127.10.20.30:9' })));
    expect(error.what).toBe('smoke: nothing answered at http://127.10.20.30:9');
    expect(error.next).toMatch(/^npm start /);
  });

  it('suggests diagnose for a host elsewhere, or checking the URL without an environment', async () => {
    const elsewhere = await failure(smokeRun(options({ url: 'http://localhost.invalid:9' })));
    expect(elsewhere.what).toBe('smoke: nothing answered at http://localhost.invalid:9');
    expect(elsewhere.next).toBe('npx zx scripts/diagnose.ts --env test');
    const noEnv = await failure(
      smokeRun(options({ url: 'http://localhost.invalid:9', env: undefined })),
    );
    expect(noEnv.next).toBe('check the URL and that it is reachable from here');
  });

  it('waits for the health checks when asked to, before it runs the checks', async () => {
    // Each health route is not ready at its first request, then is.
    const healthHits = new Map<string, number>();
    const api = await recordingServer((req) => {
      if (!req.url.endsWith('/health')) return { status: 500 };
      const hits = (healthHits.get(req.url) ?? 0) + 1;
      healthHits.set(req.url, hits);
      return hits === 1
        ? { status: 503 }
        : { status: 200, headers: { 'content-type': 'application/json' }, body: '{"status":"ok"}' };
    });
    try {
      await failure(smokeRun(options({ url: api.url, waitReady: 30 })));
      const progress = printed.stderr();
      expect(progress).toMatch(/waiting: .*: health/);
      expect(progress).not.toContain('running the checks anyway');
    } finally {
      await api.close();
    }
  });

  it('takes only localhost itself, not a name ending in it, for this machine', async () => {
    const error = await failure(smokeRun(options({ url: 'http://notlocalhost:9' })));
    expect(error.next).toBe('npx zx scripts/diagnose.ts --env test');
  });

  it('takes a URL without a scheme as http, even with a URL in its query', async () => {
    const error = await failure(smokeRun(options({ url: '127.0.0.1:9/?next=http://x' })));
    expect(error.what).toBe('smoke: nothing answered at http://127.0.0.1:9/?next=http://x');
  });
});

describe('smokeRun --from-bastion', () => {
  const checkNames = (api: string, alb: string) =>
    smokeChecks({ services: workspace.services, targets: { api, alb }, expectedItems: 6 }).map(
      (c) => c.name,
    );
  const ALB_DNS = 'internal-bookstore-test-123.us-east-1.elb.amazonaws.com';

  /** SSM answering the bastion's command with `stdout`, at `status`. */
  function bastion(
    stdoutText: string | undefined,
    status: CommandInvocationStatus = 'Success',
    stderrText?: string,
  ): void {
    ssm.reset();
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: status,
      ...(stdoutText === undefined ? {} : { StandardOutputContent: stdoutText }),
      ...(stderrText === undefined ? {} : { StandardErrorContent: stderrText }),
    });
  }

  /** The stacks of a deploy with a bastion. */
  function deployWithBastion(api: string): void {
    stacks({
      [HTTP_API]: { Outputs: outputs({ [API_URL_OUTPUT]: api }) },
      [BASTION]: { Outputs: outputs({ InstanceId: 'i-0abc' }) },
      [ENV_STACK]: { Outputs: outputs({ [ENV_OUTPUT.albDns]: ALB_DNS }) },
    });
  }

  it('says what to deploy when there is no bastion', async () => {
    stacks({ [HTTP_API]: { Outputs: outputs({ [API_URL_OUTPUT]: 'https://api.example' }) } });
    const error = await failure(smokeRun(options({ fromBastion: true })));
    expect(error.what).toBe('smoke: no bastion to run on');
    expect(error.why).toBe(`stack ${BASTION} does not exist`);
    expect(error.next).toBe('npx zx scripts/deploy.ts --env test --only bastion');
    stacks({
      [HTTP_API]: { Outputs: outputs({ [API_URL_OUTPUT]: 'https://api.example' }) },
      [BASTION]: { Outputs: [] },
    });
    const noInstance = await failure(smokeRun(options({ fromBastion: true })));
    expect(noInstance.why).toBe(`stack ${BASTION} has no InstanceId output`);
  });

  it("passes when the bastion's every line is ok, and checks the ALB by the environment's DNS name", async () => {
    const api = 'https://api.example';
    deployWithBastion(api);
    const names = checkNames(api, `http://${ALB_DNS}`);
    const lines = names.map((name) => `ok   ${name} (200, 0.01s)`).join('\n');
    bastion(lines, 'Success', 'curl: a warning');
    expect(await smokeRun(options({ fromBastion: true, timeout: 3 }))).toBe(0);
    expect(printed.stdout()).toBe(`PASS ${names.length}/${names.length} checks\n`);
    // What the bastion printed, its errors too, reach the user.
    expect(printed.stderr()).toContain(lines);
    expect(printed.stderr()).toContain('curl: a warning');
    const sent = ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(sent?.InstanceIds).toEqual(['i-0abc']);
    const script = JSON.stringify(sent?.Parameters);
    expect(script).toContain(ALB_DNS);
    // Each check's --timeout on the bastion, and the whole command's: 3 s a check, at least 60 s.
    expect(script).toContain('--max-time 3 ');
    expect(sent?.Parameters?.executionTimeout).toEqual([String(names.length * 3)]);
  });

  it('reports the bastion as JSON: its checks, their problems, no latency', async () => {
    const api = 'https://api.example';
    deployWithBastion(api);
    const names = checkNames(api, `http://${ALB_DNS}`);
    bastion(names.map((name) => `ok   ${name} (200, 0.01s)`).join('\n'));
    expect(await smokeRun(options({ fromBastion: true, json: true }))).toBe(0);
    expect(printed.stderr()).toContain(
      `[smoke] ==> running ${names.length} checks on bastion i-0abc through SSM\n`,
    );
    // The bastion printed no errors: nothing is printed for them.
    expect(printed.stderr()).not.toContain('undefined');
    const report = JSON.parse(printed.stdout());
    expect(report.passed).toBe(true);
    expect(report.targets).toEqual({ api, alb: `http://${ALB_DNS}` });
    expect(report.latency).toEqual({ count: 0, p50: 0, p95: 0, max: 0 });
    expect(report.checks[0]).toEqual({
      name: names[0],
      ok: true,
      url: expect.any(String),
      problems: [],
    });
  });

  it('fails when the command did not succeed, though every line it printed is ok', async () => {
    const api = 'https://api.example';
    deployWithBastion(api);
    const names = checkNames(api, `http://${ALB_DNS}`);
    bastion(names.map((name) => `ok   ${name} (200, 0.01s)`).join('\n'), 'TimedOut');
    const error = await failure(smokeRun(options({ fromBastion: true })));
    expect(error.what).toBe(`smoke: 0 of ${names.length} checks failed`);
  });

  it("fails with the bastion's own reasons, and a check it printed nothing for", async () => {
    const api = 'https://api.example';
    deployWithBastion(api);
    const [first, second, ...rest] = checkNames(api, `http://${ALB_DNS}`);
    bastion(
      [
        `FAIL ${first}: status 502, expected 200`,
        ...rest.map((name) => `ok   ${name} (200, 0.01s)`),
      ].join('\n'),
      'Failed',
    );
    const error = await failure(smokeRun(options({ fromBastion: true })));
    expect(error.what).toBe(`smoke: 2 of ${rest.length + 2} checks failed`);
    expect(error.why).toBe(
      `${first}: status 502, expected 200 | ${second}: no result (command Failed)`,
    );
    expect(error.next).toBe('npx zx scripts/diagnose.ts --env test');
  });

  it('fails on a FAIL line even when the command itself succeeded', async () => {
    const api = 'https://api.example';
    deployWithBastion(api);
    const [first, ...rest] = checkNames(api, `http://${ALB_DNS}`);
    bastion(
      [
        `FAIL ${first}: status 500, expected 200`,
        ...rest.map((n) => `ok   ${n} (200, 0.01s)`),
      ].join('\n'),
    );
    const error = await failure(smokeRun(options({ fromBastion: true })));
    expect(error.what).toBe(`smoke: 1 of ${rest.length + 1} checks failed`);
  });

  it('has no result for any check when the bastion printed nothing', async () => {
    const api = 'https://api.example';
    deployWithBastion(api);
    const names = checkNames(api, `http://${ALB_DNS}`);
    bastion(undefined, 'Failed');
    const error = await failure(smokeRun(options({ fromBastion: true })));
    expect(error.what).toBe(`smoke: ${names.length} of ${names.length} checks failed`);
    expect(error.why.split(' | ')[0]).toBe(`${names[0]}: no result (command Failed)`);
  });
});
