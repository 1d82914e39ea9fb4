// smoke.ts, run as a user runs it, passes against the local stack and fails, with the reason
// printed, when a replica set is down; --from-bastion reads the ALB's name from the environment
// stack. The bastion's curl script, generated from the same checks, passes with bash against
// the local stack's ALB. The checks' judgements, one by one, are in smoke-checks.test.ts.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bastionScript, smokeChecks } from '../../scripts/checks/smoke-checks.ts';
import { type LocalStack, startLocalStack } from '../../scripts/local/index.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { MOTO, missing, needing } from '../helpers/tools.ts';
import { type Moto, outputsStack, runScript, startMoto, startServices } from './harness.ts';

const skipMoto = missing(MOTO);

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
});

describe('the bastion', { timeout: 60_000 }, () => {
  const run = (script: string) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      const child = execFile('bash', ['-s'], { timeout: 30_000 }, (error, stdout) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, out: String(stdout) }),
      );
      child.stdin?.end(script);
    });

  it("runs the generated curl script with bash: passes on the local stack's API and ALB", async () => {
    const checks = smokeChecks({
      services: ws.services,
      targets: { api: stack.apiUrl, alb: stack.albUrl },
      albHost: stack.albHost,
    });
    const good = await run(bastionScript(checks, { api: stack.apiUrl, alb: stack.albUrl }, 5_000));
    expect(good.out).toMatch(new RegExp(`${checks.length}/${checks.length} checks passed`));
    expect(good.code).toBe(0);
    // How it reports failures: smoke-checks.test.ts.
  });
});

describe.skipIf(skipMoto)(needing(MOTO, 'smoke.ts --from-bastion'), { timeout: 60_000 }, () => {
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
