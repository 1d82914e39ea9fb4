// init, deploy and destroy end to end with the fake copilot first on PATH and moto_server as
// AWS: the order and flags of every copilot call, skip-on-rerun, the --dry-run guarantee (no
// AWS call, no copilot call), and the "stop at once, change nothing" prerequisites.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../scripts/lib/manifests.ts';
import {
  FAKE_BIN,
  type FakeCopilot,
  fakeCopilot,
  type Moto,
  runScript,
  type Services,
  startMoto,
  startRecorder,
  startServices,
} from './harness.ts';

const ws = loadWorkspace();
const app = ws.application;
const env = ws.environments[0]?.name ?? 'test';
const services = ws.services.map((s) => s.name);
const standInAddon = path.join(FAKE_BIN, 'addon-standin.json');

let moto: Moto;
let api: Services;
const fakes: FakeCopilot[] = [];
const newFake = () => {
  const f = fakeCopilot();
  fakes.push(f);
  return f;
};

beforeAll(async () => {
  // ECS tasks in moto never start unless told how many run.
  [moto, api] = await Promise.all([startMoto({ MOTO_ECS_SERVICE_RUNNING: '2' }), startServices()]);
});
afterAll(async () => {
  await Promise.all([moto?.stop(), api?.stop()]);
  for (const f of fakes) f.cleanup();
});

describe('init, deploy, destroy', { timeout: 120_000 }, () => {
  it('init runs every step in order, and a re-run skips them all', async () => {
    const fake = newFake();
    const first = await runScript('init', [], { ...moto.env, ...fake.env });
    expect(first.stderr).not.toMatch(/^next:/m);
    expect(first.code).toBe(0);
    expect(fake.mutations()).toEqual([
      `app init ${app}`,
      `env init --name ${env} --app ${app} --default-config`,
      `env deploy --name ${env} --app ${app}`,
      ...services.map((s) => `svc init --name ${s} --app ${app}`),
    ]);
    const before = fake.mutations().length;
    const again = await runScript('init', ['--json'], { ...moto.env, ...fake.env });
    expect(again.code).toBe(0);
    expect(fake.mutations()).toHaveLength(before);
    const report = JSON.parse(again.stdout) as { steps: { outcome: string }[] };
    expect(report.steps.every((s) => s.outcome === 'skipped')).toBe(true);

    // deploy: env, then each service one after the other, then the API stack, then smoke.
    const deployed = await runScript(
      'deploy',
      ['--addon-template', standInAddon, '--smoke-url', api.apiUrl, '--settle', '1'],
      { ...moto.env, ...fake.env },
    );
    expect(deployed.stderr).not.toMatch(/^next:/m);
    expect(deployed.code).toBe(0);
    expect(deployed.stdout.trim()).toBe(api.apiUrl);
    expect(fake.mutations().slice(before)).toEqual([
      `env deploy --name ${env} --app ${app}`,
      ...services.map((s) => `svc deploy --name ${s} --env ${env} --app ${app} --detach`),
    ]);
    const order = [
      ...services.map((s) => deployed.stderr.indexOf(`${app}-${env}-${s}: CREATE_COMPLETE`)),
      deployed.stderr.indexOf(`${app}-${env}-http-api: CREATE_COMPLETE`),
      deployed.stderr.indexOf('smoke test passed'),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(deployed.stderr).toMatch(/2\/2 tasks running, one deployment/);

    // destroy: refuses without --yes, then API stack, services (reverse), env, app.
    const mark = fake.mutations().length;
    const refused = await runScript('destroy', [], { ...moto.env, ...fake.env });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/would delete/);
    expect(refused.stderr).toMatch(/refusing to delete without --yes[\s\S]*next: .*--yes/);
    expect(fake.mutations()).toHaveLength(mark);

    const destroyed = await runScript('destroy', ['--yes'], { ...moto.env, ...fake.env });
    expect(destroyed.code).toBe(0);
    expect(destroyed.stderr.indexOf(`${app}-${env}-http-api: deleted`)).toBeGreaterThan(-1);
    expect(fake.mutations().slice(mark)).toEqual([
      ...[...services]
        .reverse()
        .map((s) => `svc delete --name ${s} --env ${env} --app ${app} --yes`),
      `env delete --name ${env} --app ${app} --yes`,
      `app delete --name ${app} --yes`,
    ]);
  });

  it('deploy fails with a bounded wait when the ECS service never becomes steady', async () => {
    const fake = newFake();
    await runScript('init', [], { ...moto.env, ...fake.env });
    const r = await runScript(
      'deploy',
      ['--only', 'services', '--service', services[0] ?? '', '--timeout', '0.05', '--settle', '1'],
      {
        ...moto.env,
        ...fake.env,
        FAKE_COPILOT_DESIRED_COUNT: '3',
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not reach a steady state: .*2\/3 running/);
    expect(r.stderr).toMatch(/^next: aws ecs describe-services/m);
  });
});

describe('guarantees', { timeout: 60_000 }, () => {
  it('deploy --dry-run prints the ordered plan with no AWS call and no copilot call', async () => {
    const recorder = await startRecorder();
    const fake = newFake();
    try {
      const r = await runScript('deploy', ['--dry-run'], {
        ...fake.env,
        AWS_ENDPOINT_URL: recorder.url,
        AWS_REGION: 'us-east-1',
      });
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^1\. \[env\] copilot env deploy/);
      expect(lines.slice(1, 1 + services.length).map((l) => /--name (\S+)/.exec(l)?.[1])).toEqual(
        services,
      );
      expect(lines[services.length + 1]).toMatch(/\[api\] stack .*-http-api/);
      expect(lines[services.length + 2]).toMatch(/\[smoke\]/);
      expect(recorder.hits()).toBe(0);
      expect(fake.calls()).toEqual([]);
    } finally {
      await recorder.stop();
    }
  });

  for (const script of ['init', 'deploy']) {
    it(`${script} stops at once without credentials, having changed nothing`, async () => {
      const recorder = await startRecorder();
      const fake = newFake();
      try {
        const r = await runScript(script, [], {
          ...fake.env,
          AWS_ENDPOINT_URL: recorder.url,
          AWS_REGION: 'us-east-1',
        });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/no usable AWS credentials \(STS GetCallerIdentity failed\)/);
        expect(r.stderr).toMatch(/^next: aws sts get-caller-identity/m);
        expect(fake.mutations()).toEqual([]);
        expect(recorder.hits()).toBe(0);
      } finally {
        await recorder.stop();
      }
    });

    it(`${script} stops at once without a copilot binary`, async () => {
      const r = await runScript(script, [], { ...moto.env, PATH: path.dirname(process.execPath) });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/the copilot CLI is not on PATH: .*nothing was changed/);
      expect(r.stderr).toMatch(/^next: install Copilot v1\.34\.1/m);
    });
  }

  it('warns about copilot versions other than v1.34.x, mentioning end of support', async () => {
    const fake = newFake();
    const r = await runScript('init', [], {
      ...moto.env,
      ...fake.env,
      FAKE_COPILOT_VERSION: 'v1.32.0',
    });
    expect(r.stderr).toMatch(/WARN copilot v1\.32\.0 found.*end of support/);
  });

  it('every script answers --help', async () => {
    const scripts = ['init', 'deploy', 'smoke', 'diagnose', 'destroy'];
    const results = await Promise.all(scripts.map((script) => runScript(script, ['--help'], {})));
    for (const [i, script] of scripts.entries()) {
      const r = results[i] as Awaited<ReturnType<typeof runScript>>;
      expect(r.code, script).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`usage: npx zx scripts/${script}\\.ts`));
      expect(r.stdout).toMatch(/--region <region>/);
    }
  });
});
