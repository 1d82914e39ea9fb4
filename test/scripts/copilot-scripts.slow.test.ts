// init, deploy and destroy end to end with the fake copilot first on PATH and moto_server as
// AWS: the order and flags of every copilot call, skip-on-rerun, the --dry-run guarantee (no
// AWS call, no copilot call), and the "stop at once, change nothing" prerequisites. Runs that
// change Copilot state run from a git copy of the repository (repo-copy.ts), so `git status`
// shows any file a script (or copilot) touched.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { MOTO, missing, needing } from '../helpers/tools.ts';
import {
  FAKE_BIN,
  type FakeCopilot,
  fakeCopilot,
  freePort,
  type Moto,
  motoClient,
  runScript,
  type Services,
  startMoto,
  startRecorder,
  startServices,
} from './harness.ts';
import { type RepoCopy, repoCopy } from './repo-copy.ts';

const skipMoto = missing(MOTO);

const ws = loadWorkspace();
const app = ws.application;
const env = ws.environments[0]?.name ?? 'test';
const services = ws.services.map((s) => s.name);
const standInAddon = path.join(FAKE_BIN, 'addon-standin.json');

let moto: Moto;
let api: Services;
const fakes: FakeCopilot[] = [];
const copies: RepoCopy[] = [];
const newFake = () => {
  const f = fakeCopilot();
  fakes.push(f);
  return f;
};
const newCopy = () => {
  const c = repoCopy();
  copies.push(c);
  return c;
};

beforeAll(async () => {
  if (skipMoto) return;
  // ECS tasks in moto never start unless told how many run.
  // Settled one by one, so one failing to start leaves the other to afterAll to stop.
  const [m, a] = await Promise.allSettled([
    startMoto({ MOTO_ECS_SERVICE_RUNNING: '2' }),
    startServices(),
  ]);
  if (m.status === 'fulfilled') moto = m.value;
  if (a.status === 'fulfilled') api = a.value;
  for (const r of [m, a]) if (r.status === 'rejected') throw r.reason;
});
afterAll(async () => {
  await Promise.all([moto?.stop(), api?.stop()]);
  for (const f of fakes) f.cleanup();
  for (const c of copies) c.cleanup();
});

describe.skipIf(skipMoto)(needing(MOTO, 'init, deploy, destroy'), { timeout: 120_000 }, () => {
  it('init runs every step in order, and a re-run skips them all', async () => {
    const fake = newFake();
    const copy = newCopy();
    const run = (name: string, args: string[], extra: Record<string, string> = {}) =>
      runScript(name, args, { ...moto.env, ...fake.env, ...extra }, 60_000, copy.root);
    const first = await run('init', []);
    expect(first.stderr).not.toMatch(/^next:/m);
    expect(first.code).toBe(0);
    expect(fake.mutations()).toEqual([
      `app init ${app}`,
      // Always the region of the script's own session (env_init.go askEnvRegion).
      `env init --name ${env} --app ${app} --default-config --region us-east-1`,
      `env deploy --name ${env} --app ${app}`,
      ...services.map((s) => `svc init --name ${s} --app ${app}`),
    ]);
    const before = fake.mutations().length;
    const again = await run('init', ['--json']);
    expect(again.code).toBe(0);
    expect(fake.mutations()).toHaveLength(before);
    const report = JSON.parse(again.stdout) as { steps: { outcome: string }[] };
    expect(report.steps.every((s) => s.outcome === 'skipped')).toBe(true);

    // deploy: env, then each service one after the other, then the API stack, then smoke.
    const deployArgs = [
      '--addon-template',
      standInAddon,
      '--smoke-url',
      api.apiUrl,
      '--settle',
      '1',
    ];
    const calls = fake.calls().length;
    const planned = await run('deploy', [...deployArgs, '--dry-run']);
    // The dry run's preview: Copilot's own package commands (read-only), after the listings.
    expect(planned.code, planned.stderr).toBe(0);
    expect(
      fake
        .calls()
        .slice(calls)
        .map((c) => c.slice(0, 2).join(' ')),
    ).toEqual([
      '--version',
      'app ls',
      'env ls',
      'svc ls',
      'env package',
      ...services.map(() => 'svc package'),
    ]);
    for (const s of services) {
      expect(planned.stderr).toContain(
        `ok ${app}-${env}-${s}: .cache/rendered/${app}-${env}/${s}-${env}.stack.yml; Lambda: EnvControllerFunction nodejs24.x, RulePriorityFunction nodejs24.x, DynamicDesiredCountFunction nodejs24.x`,
      );
    }
    const deployed = await run('deploy', deployArgs);
    // The plan is built once: --dry-run lists exactly the steps the run executes, in order.
    const executed = [...deployed.stderr.matchAll(/^\[deploy\] ==> \[(\d+)\/\d+\] (.*)$/gm)];
    expect(executed.map((m) => `${m[1]}. ${m[2]}`)).toEqual(planned.stdout.trim().split('\n'));
    expect(executed).toHaveLength(services.length + 4);
    expect(executed[0]?.[2]).toMatch(/^\[preview\] render with copilot env package/);
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
    const refused = await run('destroy', []);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/would delete/);
    expect(refused.stderr).toMatch(/refusing to delete without --yes[\s\S]*next: .*--yes/);
    expect(fake.mutations()).toHaveLength(mark);

    const destroyed = await run('destroy', ['--yes']);
    expect(destroyed.stderr).not.toMatch(/^next:/m);
    expect(destroyed.code).toBe(0);
    expect(destroyed.stderr.indexOf(`${app}-${env}-http-api: deleted`)).toBeGreaterThan(-1);
    expect(fake.mutations().slice(mark)).toEqual([
      ...[...services]
        .reverse()
        .map((s) => `svc delete --name ${s} --env ${env} --app ${app} --yes`),
      `env delete --name ${env} --app ${app} --yes`,
      `app delete --name ${app} --yes`,
    ]);
    // The whole order, CloudFormation deletions included: the addon stacks go first (they import
    // the environment's exports), then the services, the environment, the application.
    const teardown = [
      ...destroyed.stderr.matchAll(
        /^\[destroy\] (?: ok (\S+: (?:deleted|not present))|\s+\$ copilot (\w+ delete --name \S+))/gm,
      ),
    ].map((m) => m[1] ?? m[2]);
    expect(teardown).toEqual([
      `${app}-${env}-http-api: deleted`,
      `${app}-${env}-bastion: not present`,
      ...[...services].reverse().map((s) => `svc delete --name ${s}`),
      `env delete --name ${env}`,
      `app delete --name ${app}`,
    ]);
    // app_delete.go deleteWs removes copilot/.workspace when run inside the workspace: a
    // destroy must leave the repository as it found it.
    expect(copy.status()).toBe('');
  });

  it('destroy puts copilot/.workspace back if copilot deleted it anyway', async () => {
    const fake = newFake();
    const copy = newCopy();
    // A temporary directory inside the workspace: app delete, run from there, finds it.
    const tmp = path.join(copy.root, 'tmp-inside');
    mkdirSync(tmp);
    const run = (name: string, args: string[]) =>
      runScript(name, args, { ...moto.env, ...fake.env, TMPDIR: tmp }, 60_000, copy.root);
    expect((await run('init', [])).code).toBe(0);
    const r = await run('destroy', ['--yes']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/WARN copilot deleted copilot\/\.workspace: restored it/);
    expect(fake.calls().at(-1)?.slice(0, 2)).toEqual(['app', 'delete']);
    expect(copy.status()).toBe('');
  });

  it('init hands env init the AWS_PROFILE it runs with (env init ignores AWS_PROFILE)', async () => {
    const fake = newFake();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aws-config-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'config'), '[profile moto]\nregion = us-east-1\n');
    writeFileSync(
      path.join(dir, 'credentials'),
      '[moto]\naws_access_key_id = testing\naws_secret_access_key = testing\n',
    );
    const copy = newCopy();
    const profileEnv = {
      ...moto.env,
      ...fake.env,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_CONFIG_FILE: path.join(dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
      AWS_PROFILE: 'moto',
    };
    const r = await runScript('init', [], profileEnv, 60_000, copy.root);
    expect(r.stderr).not.toMatch(/^next:/m);
    expect(r.code).toBe(0);
    expect(fake.mutations()).toContain(
      `env init --name ${env} --app ${app} --default-config --profile moto --region us-east-1`,
    );
    expect((await runScript('destroy', ['--yes'], profileEnv, 60_000, copy.root)).code).toBe(0);
  });

  it('init hands env init the region, which a temporary-credential session would not find', async () => {
    const fake = newFake();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aws-config-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    // A config file to read (so init passes the credential flags), no default profile in it, and
    // the region only in AWS_DEFAULT_REGION: Copilot's static-credential session reads
    // AWS_REGION alone (aws-sdk-go session/env_config.go), so without --region it would ask.
    writeFileSync(path.join(dir, 'config'), '[profile other]\nregion = eu-west-1\n');
    const copy = newCopy();
    const regionless = {
      ...moto.env,
      ...fake.env,
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: path.join(dir, 'config'),
    };
    const r = await runScript('init', [], regionless, 60_000, copy.root);
    expect(r.stderr).not.toMatch(/^next:/m);
    expect(r.code).toBe(0);
    expect(fake.mutations()[1]).toBe(
      `env init --name ${env} --app ${app} --default-config --aws-access-key-id testing --aws-secret-access-key **** --region us-east-1`.replace(
        '****',
        'testing',
      ),
    );
    expect(
      (await runScript('destroy', ['--yes'], { ...moto.env, ...fake.env }, 60_000, copy.root)).code,
    ).toBe(0);
  });

  it('deploy --only api on an environment with no service says what to deploy first', async () => {
    const fake = newFake();
    const copy = newCopy();
    const cfn = motoClient(moto, CloudFormationClient);
    const run = (name: string, args: string[]) =>
      runScript(name, args, { ...moto.env, ...fake.env }, 60_000, copy.root);
    expect((await run('init', [])).code).toBe(0);
    const r = await run('deploy', ['--only', 'api', '--addon-template', standInAddon]);
    // environment/cf.yml: the internal ALB's outputs and exports exist only once a Backend
    // Service with http is deployed (condition CreateInternalALB).
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`${app}-${env} does not export ${app}-${env}-InternalHTTPListenerArn`),
    );
    expect(r.stderr).toMatch(/^next: npx zx scripts\/deploy\.ts --env \S+ --only services,api$/m);
    await expect(
      cfn.send(new DescribeStacksCommand({ StackName: `${app}-${env}-http-api` })),
    ).rejects.toThrow(/does not exist/);
    expect((await run('destroy', ['--yes'])).code).toBe(0);
    expect(copy.status()).toBe('');
  });

  it('deploy fails with a bounded wait when the ECS service never becomes steady', async () => {
    const fake = newFake();
    const copy = newCopy();
    const run = (name: string, args: string[], extra: Record<string, string> = {}) =>
      runScript(name, args, { ...moto.env, ...fake.env, ...extra }, 60_000, copy.root);
    await run('init', []);
    const r = await run(
      'deploy',
      ['--only', 'services', '--service', services[0] ?? '', '--timeout', '0.05', '--settle', '1'],
      { FAKE_COPILOT_DESIRED_COUNT: '3' },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not reach a steady state: .*2\/3 running/);
    expect(r.stderr).toMatch(/^next: aws ecs describe-services/m);
    await run('destroy', ['--yes']);
  });
});

describe.skipIf(skipMoto)(needing(MOTO, 'guarantees'), { timeout: 60_000 }, () => {
  it('deploy --dry-run of steps Copilot renders nothing for makes no AWS call and no copilot call', async () => {
    const recorder = await startRecorder();
    const fake = newFake();
    try {
      // Credentials present and every client's endpoint on the recorder: an AWS call a dry run
      // made (even one whose failure it ignored) would be signed, sent and counted.
      const endpoints = Object.fromEntries(
        [
          'CLOUDFORMATION',
          'STS',
          'ECS',
          'ELASTIC_LOAD_BALANCING_V2',
          'EC2',
          'CLOUDWATCH_LOGS',
          'SSM',
          'APIGATEWAYV2',
        ].map((service) => [`AWS_ENDPOINT_URL_${service}`, recorder.url]),
      );
      // The steps Copilot renders nothing for: a dry run of them calls nothing at all.
      const r = await runScript('deploy', ['--dry-run', '--only', 'api,smoke'], {
        ...fake.env,
        ...endpoints,
        AWS_ENDPOINT_URL: recorder.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
      });
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^1\. \[api\] stack .*-http-api/);
      expect(lines[1]).toMatch(/^2\. \[smoke\]/);
      expect(recorder.hits()).toBe(0);
      expect(fake.calls()).toEqual([]);
    } finally {
      await recorder.stop();
    }
  });

  it('deploy --parameter reaches the HTTP API stack only, and is checked against the template first', async () => {
    const fake = newFake();
    const dry = (...args: string[]) =>
      runScript('deploy', ['--dry-run', ...args], { ...fake.env, AWS_REGION: 'us-east-1' });
    const ok = await dry(
      '--parameter',
      'CorsAllowOrigins=https://app.example.com',
      '--only',
      'api,bastion',
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /\[api\] stack \S+-http-api .*\(CorsAllowOrigins=https:\/\/app\.example\.com, App=/,
    );
    expect(ok.stdout).toMatch(/\[bastion\] stack \S+-bastion .*\(App=[^,]+, Env=\S+\)/);

    const unknown = await dry('--parameter', 'CorsOrigins=x');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/invalid --parameter: .*has no parameter CorsOrigins; it has /);
    const own = await dry('--parameter', 'App=other');
    expect(own.code).toBe(2);
    expect(own.stderr).toMatch(
      /--parameter App: App and Env are not parameters to set; they come from --app and --env/,
    );
    // The template's Rules: an issuer needs an audience, a hosted zone a domain.
    const rule = await dry('--parameter', 'JwtIssuer=https://issuer.example.com');
    expect(rule.code).toBe(2);
    expect(rule.stderr).toMatch(/JwtAudience must list at least one audience/);
    const malformed = await dry('--parameter', 'JwtIssuer');
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/--parameter "JwtIssuer" must look like Name=Value/);
    expect(fake.calls()).toEqual([]);
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

    it(`${script} tells no route to AWS from bad credentials, having changed nothing`, async () => {
      const fake = newFake();
      const port = await freePort();
      const r = await runScript(script, [], {
        ...fake.env,
        AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        /cannot reach AWS STS at http:\/\/127\.0\.0\.1:\d+ \(nothing was changed\): .*ECONNREFUSED/,
      );
      expect(r.stderr).not.toMatch(/credentials/);
      expect(fake.mutations()).toEqual([]);
    });

    it(`${script} stops at once without a copilot binary`, async () => {
      const r = await runScript(script, [], { ...moto.env, PATH: path.dirname(process.execPath) });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/the copilot CLI is not on PATH: .*nothing was changed/);
      expect(r.stderr).toMatch(
        /^next: npx zx scripts\/install-copilot\.ts .*export PATH="\$PWD\/\.cache\/bin:\$PATH"/m,
      );
    });
  }

  it('warns about copilot versions other than the one README names, mentioning end of support', async () => {
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
