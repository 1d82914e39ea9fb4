#!/usr/bin/env zx
import {
  commandName,
  createProgress,
  type FlagSpecs,
  invocation,
  output,
  runCommand,
} from './cli/command.ts';
// One-time setup, safe to re-run: checks the prerequisites, then creates the Copilot
// application, the environment (init and deploy) and registers each service, skipping every
// step that is already done. Deploying the services is scripts/deploy.ts's job.
import { callerIdentity, createClients, ENV_OUTPUT, stackNames } from './cloud/aws.ts';
import { Copilot, checkDocker, copilotEnv, findOnPath } from './cloud/copilot.ts';
import { envInitCredentials, redact } from './cloud/copilot-credentials.ts';
import { commonFlags, requireEnvironment, workspaceOrExit } from './cloud/flags.ts';
import { stackOutputs } from './cloud/stack-deployer.ts';
import { repoRoot } from './workspace/manifests.ts';

const NAME = commandName(import.meta.url);
const workspace = workspaceOrExit(NAME);
const flags = {
  ...commonFlags(workspace),
  timeout: {
    type: 'number',
    default: 30,
    min: 1,
    valueName: 'minutes',
    description: 'Bound on each copilot command',
  },
  dryRun: { type: 'boolean', description: 'Print the steps; no AWS call, no copilot call' },
  json: { type: 'boolean', description: 'Print what was done and skipped as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: NAME,
  summary: 'Create the Copilot application and environment and register the services (idempotent).',
  details: `Steps (each skipped when already done):
  1. prerequisites: copilot (v1.34.x), docker, AWS credentials (STS)
  2. copilot app init <app>
  3. copilot env init --name <env> --app <app> --default-config, with --profile (--profile,
     else AWS_PROFILE) or the temporary-credential flags: env init ignores AWS_PROFILE
  4. copilot env deploy --name <env> --app <app>
  5. copilot svc init --name <svc> --app <app>   (each service in copilot/)
Then: ${invocation('deploy')}`,
  flags,
};

type Outcome = 'done' | 'skipped' | 'planned';

process.exitCode = await runCommand(spec, async (f) => {
  const log = createProgress(NAME);
  const env = requireEnvironment(workspace, f.env, NAME);
  const names = stackNames(f.app, env);
  const services = workspace.services.map((s) => s.name);
  const steps: { step: string; outcome: Outcome }[] = [];

  if (f.dryRun) {
    log.info(`dry run: nothing is called. copilot: ${findOnPath('copilot') ?? 'NOT on PATH'}`);
    const plan = [
      'check copilot, docker and AWS credentials',
      `copilot app init ${f.app}`,
      `copilot env init --name ${env} --app ${f.app} --default-config`,
      `copilot env deploy --name ${env} --app ${f.app}`,
      ...services.map((s) => `copilot svc init --name ${s} --app ${f.app}`),
    ];
    output(
      f.json
        ? JSON.stringify({ dryRun: true, plan }, null, 2)
        : plan.map((p, i) => `${i + 1}. ${p}`).join('\n'),
    );
    return 0;
  }

  log.step('checking prerequisites');
  const { copilot } = await Copilot.open(
    {
      cwd: repoRoot,
      env: copilotEnv({ region: f.region, profile: f.profile }),
      log,
      defaultTimeoutMs: f.timeout * 60_000,
    },
    'init',
  );
  await checkDocker(log, NAME);
  const aws = createClients({ region: f.region, profile: f.profile });
  const id = await callerIdentity(aws, NAME);
  log.ok(`AWS account ${id.account} (${id.arn}), region ${id.region}`);

  const record = (step: string, outcome: Outcome) => {
    steps.push({ step, outcome });
    if (outcome === 'skipped') log.ok(`${step}: already done`);
  };

  // Read-only: what exists already. `env init` must be told its credentials on the command line
  // (copilot-credentials.ts): settle that now, so a run that cannot stops before any change.
  const apps = await copilot.appNames();
  const envs = apps.includes(f.app) ? await copilot.envNames(f.app) : [];
  const creds = envs.includes(env) ? undefined : envInitCredentials({ profile: f.profile }, NAME);
  if (creds) log.ok(`copilot env init will use ${creds.source}`);

  log.step(`application ${f.app}`);
  if (apps.includes(f.app)) record(`app ${f.app}`, 'skipped');
  else {
    await copilot.must(['app', 'init', f.app], { stream: true, next: `copilot app init ${f.app}` });
    record(`app ${f.app}`, 'done');
  }

  log.step(`environment ${env}`);
  if (!creds) record(`env init ${env}`, 'skipped');
  else {
    const args = ['env', 'init', '--name', env, '--app', f.app, '--default-config', ...creds.args];
    if (f.region) args.push('--region', f.region);
    await copilot.must(args, { stream: true, next: `copilot ${redact(args).join(' ')}` });
    record(`env init ${env}`, 'done');
  }
  // `env init` only bootstraps; the VPC (and the VpcId output) exists once `env deploy` ran.
  const envOutputs = await stackOutputs(aws.cfn, names.env);
  if (envOutputs?.[ENV_OUTPUT.vpcId]) record(`env deploy ${env}`, 'skipped');
  else {
    await copilot.must(['env', 'deploy', '--name', env, '--app', f.app], {
      stream: true,
      next: `copilot env deploy --name ${env} --app ${f.app}`,
    });
    record(`env deploy ${env}`, 'done');
  }

  log.step('services');
  const registered = await copilot.serviceNames(f.app);
  for (const svc of services) {
    if (registered.includes(svc)) record(`svc init ${svc}`, 'skipped');
    else {
      await copilot.must(['svc', 'init', '--name', svc, '--app', f.app], {
        stream: true,
        next: `copilot svc init --name ${svc} --app ${f.app}`,
      });
      record(`svc init ${svc}`, 'done');
    }
  }

  if (f.json) output(JSON.stringify({ app: f.app, env, account: id.account, steps }, null, 2));
  else
    output(
      `initialised ${f.app}/${env} (${steps.filter((s) => s.outcome === 'done').length} steps done, ${steps.filter((s) => s.outcome === 'skipped').length} already done); next: ${invocation('deploy')} --env ${env}`,
    );
  return 0;
});
