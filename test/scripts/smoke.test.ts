// smoke.ts passes against the local stack and fails, with the reason printed, when a replica
// set is down or a response is wrong. The bastion's curl script is generated from the same
// checks: it is run here with bash against the local stack, and the SSM request is checked.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BodyExpectation,
  bastionCommandInput,
  bastionScript,
  evaluate,
  latencySummary,
  runOnBastion,
  smokeChecks,
} from '../../scripts/checks/smoke-checks.ts';
import { createProgress } from '../../scripts/cli/command.ts';
import { type LocalStack, startLocalStack } from '../../scripts/local/index.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { type Moto, outputsStack, runScript, startMoto, startServices } from './harness.ts';

const ws = loadWorkspace();
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    apiPort: 0,
    healthCheckScale: 0.1,
    replicaOutput: 'ignore',
    accessLog: false,
    log: () => {},
  });
}, 30_000);
afterAll(async () => {
  await stack?.stop();
});

describe('smoke.ts', { timeout: 60_000 }, () => {
  it('passes against the local stack, API and ALB, with a JSON report', async () => {
    const r = await runScript(
      'smoke',
      [
        '--url',
        stack.apiUrl,
        '--alb',
        stack.albUrl,
        '--alb-host',
        stack.albHost,
        '--samples',
        '3',
        '--json',
      ],
      {},
    );
    expect(r.stderr).not.toMatch(/FAIL/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      passed: boolean;
      checks: { name: string; ok: boolean }[];
      latency: { count: number; p50: number; p95: number; max: number };
    };
    expect(report.passed).toBe(true);
    // Five checks a service through the API and through the ALB, two Host checks a service, one
    // 404, and the two request-head quota checks (scripts/checks/smoke-quotas.ts).
    expect(report.checks).toHaveLength(ws.services.length * 12 + 1 + 2);
    expect(report.checks.map((c) => c.name)).toContain(
      `alb: ${ws.services[0]?.name} with a wrong Host is 503`,
    );
    expect(report.latency.count).toBeGreaterThan(report.checks.length);
    expect(report.latency.p50).toBeLessThanOrEqual(report.latency.p95);
  });

  it('fails with the reason when a replica set is down', async () => {
    const down = ws.services[1]?.name ?? '';
    const services = await startServices({ skip: [down] });
    try {
      const r = await runScript('smoke', ['--url', services.apiUrl, '--samples', '0'], {});
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^FAIL /);
      expect(r.stderr).toMatch(new RegExp(`FAIL ${down}: health: status 503`));
      expect(r.stderr).toMatch(/^smoke: 5 of \d+ checks failed: /m);
      expect(r.stderr).toMatch(/^next: /m);
    } finally {
      await services.stop();
    }
  });

  it('fails with the reason when a response is wrong (five books)', async () => {
    const books = ws.services.find((s) => s.name === 'book-service') ?? ws.services[0];
    const server = http.createServer((req, res) => {
      const five = JSON.stringify([1, 2, 3, 4, 5].map((id) => ({ id })));
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(req.url === books?.pathPrefix ? five : '{"id":1,"status":"ok"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await runScript('smoke', ['--url', url, '--samples', '0'], {});
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`${books?.name}: list has 6 items: list has 5 items, expected 6`),
      );
      expect(r.stderr).toMatch(/missing id is a 404 problem: status 200, expected 404/);
    } finally {
      server.close();
    }
  });
  it("fails when an answer drifts from the service's OpenAPI document, naming the field", async () => {
    // Six items, as many as expected, but not the shape book-service's document gives a book.
    const six = JSON.stringify([1, 2, 3, 4, 5, 6].map((id) => ({ id, title: `book ${id}` })));
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(six);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await runScript('smoke', ['--url', url, '--samples', '0'], {});
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /FAIL book-service: list has 6 items: GET \/api\/books 200 body: \/0 must have required property 'isbn'/,
      );
    } finally {
      server.close();
    }
  });
});

describe('the bastion', { timeout: 60_000 }, () => {
  const run = (script: string) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      const child = execFile('bash', ['-s'], { timeout: 30_000 }, (error, stdout) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, out: String(stdout) }),
      );
      child.stdin?.end(script);
    });

  it('runs the generated curl script with bash: passes on the local ALB, fails on a wrong Host', async () => {
    const checks = smokeChecks({
      services: ws.services,
      targets: { api: stack.apiUrl, alb: stack.albUrl },
      albHost: stack.albHost,
    });
    const good = await run(bastionScript(checks, { api: stack.apiUrl, alb: stack.albUrl }, 5_000));
    expect(good.out).toMatch(new RegExp(`${checks.length}/${checks.length} checks passed`));
    expect(good.code).toBe(0);

    const wrongHost = smokeChecks({
      services: ws.services,
      targets: { alb: stack.albUrl },
      albHost: 'nobody.invalid',
    });
    const bad = await run(bastionScript(wrongHost, { alb: stack.albUrl }, 5_000));
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/FAIL alb: \S+: health: status 503, expected 200/);
  });

  it('fails each check whose body is wrong, for every kind of body expectation', async () => {
    // The right status and content type, the wrong body: only the script's body tests can fail.
    const wrong = (body: BodyExpectation): BodyExpectation => {
      switch (body.kind) {
        case 'array':
          return { kind: 'array', length: body.length + 1 };
        case 'object':
          return { kind: 'object', fields: { ...body.fields, id: 999_999 } };
        case 'problem':
          return { kind: 'problem', status: body.status + 1 };
        case 'equals':
          return { kind: 'equals', value: { ...body.value, extra: 'field' } };
      }
    };
    const checks = smokeChecks({ services: ws.services, targets: { api: stack.apiUrl } }).flatMap(
      (c) => (c.body ? [{ ...c, body: wrong(c.body) }] : []),
    );
    expect(new Set(checks.map((c) => c.body.kind))).toEqual(
      new Set(['array', 'object', 'problem', 'equals']),
    );
    const bad = await run(bastionScript(checks, { api: stack.apiUrl }, 5_000));
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(new RegExp(`^0/${checks.length} checks passed$`, 'm'));
    for (const c of checks) expect(bad.out).toContain(`FAIL ${c.name}: unexpected body`);
  });

  it('sends AWS-RunShellScript to the instance and returns the invocation result', async () => {
    const ssm = mockClient(SSMClient);
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    ssm
      .on(GetCommandInvocationCommand)
      .rejectsOnce(Object.assign(new Error('not yet'), { name: 'InvocationDoesNotExist' }))
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', StandardOutputContent: '2/2 checks passed\n' });
    const script = '#!/bin/bash\necho one\necho two\n';
    const out = await runOnBastion({
      ssm: new SSMClient({ region: 'us-east-1' }),
      instanceId: 'i-0abc',
      script,
      timeoutMs: 60_000,
      log: createProgress('t', () => {}),
      backoff: { initialDelayMs: 1, maxDelayMs: 2 },
    });
    expect(out.Status).toBe('Success');
    const sent = ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(sent).toEqual(bastionCommandInput('i-0abc', script, 60));
    expect(sent?.DocumentName).toBe('AWS-RunShellScript');
    expect(sent?.InstanceIds).toEqual(['i-0abc']);
    expect(sent?.Parameters?.commands).toEqual(['#!/bin/bash', 'echo one', 'echo two']);
    expect(ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(3);
    ssm.restore();
  });
});

describe('smoke.ts --from-bastion', { timeout: 60_000 }, () => {
  let moto: Moto;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it("adds the ALB checks, reading the ALB's DNS name from the environment stack's real output key", async () => {
    const app = ws.application;
    const env = ws.environments[0]?.name ?? 'test';
    const dns = 'internal-bookstore-test-123.us-east-1.elb.amazonaws.com';
    // The OUTPUT key is InternalLoadBalancerDNSName; only the export is named
    // <app>-<env>-InternalLoadBalancerDNS (copilot-cli v1.33.2, environment/cf.yml, Outputs).
    await outputsStack(moto, `${app}-${env}`, { InternalLoadBalancerDNSName: dns });
    await outputsStack(moto, `${app}-${env}-bastion`, { InstanceId: 'i-0abc' });
    const r = await runScript(
      'smoke',
      ['--from-bastion', '--url', 'https://api.example.invalid', '--json'],
      moto.env,
    );
    // moto's SSM answers Success with no output, so every check reports "no result": what is
    // checked here is which checks were sent to the bastion.
    const report = JSON.parse(r.stdout) as {
      targets: { alb?: string };
      checks: { name: string }[];
    };
    expect(report.targets.alb).toBe(`http://${dns}`);
    expect(report.checks.filter((c) => c.name.startsWith('alb: '))).not.toEqual([]);
  });
});

describe('check evaluation', () => {
  const [svc] = ws.services;
  const checks = smokeChecks({ services: ws.services, targets: { api: 'http://x' } });
  const find = (suffix: string) =>
    checks.find((c) => c.service === svc?.name && c.name.endsWith(suffix));

  it('requires problem+json with type, title, status and detail', () => {
    const missing = find('missing id is a 404 problem');
    if (!missing) throw new Error('no check');
    expect(
      evaluate(missing, {
        status: 404,
        contentType: 'application/problem+json',
        body: '{"type":"about:blank","title":"Not Found","status":404,"detail":"x"}',
      }),
    ).toEqual([]);
    expect(
      evaluate(missing, { status: 404, contentType: 'text/html', body: '<h1>nope</h1>' }),
    ).toEqual([
      'content-type "text/html", expected application/problem+json',
      'body is not JSON (body: <h1>nope</h1>)',
    ]);
    expect(
      evaluate(missing, {
        status: 404,
        contentType: 'application/problem+json',
        body: '{"title":"Not Found","status":400}',
      }),
    ).toEqual([
      'problem+json field "type" missing',
      'problem+json field "detail" missing',
      'problem+json status is 400, expected 404',
    ]);
  });

  it('summarises latency with nearest-rank percentiles', () => {
    expect(latencySummary([5, 1, 4, 2, 3, 10, 9, 8, 7, 6])).toEqual({
      count: 10,
      p50: 5,
      p95: 10,
      max: 10,
    });
    expect(latencySummary([])).toEqual({ count: 0, p50: 0, p95: 0, max: 0 });
  });
});
