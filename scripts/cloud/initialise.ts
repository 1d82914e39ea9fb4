// One-time setup, safe to re-run: the Copilot application, the environment (init and deploy)
// and each service's registration, every step skipped when already done. The plan is built
// once: --dry-run prints it, a run executes it. Deploying the services is deploy-plan.ts's job.
import { createProgress, invocation, output, type Progress } from '../cli/command.ts';
import { ENV_OUTPUT, stackNames } from './aws.ts';
import { findOnPath } from './copilot.ts';
import { envInitCredentials, redact } from './copilot-credentials.ts';
import type { Deployment } from './flags.ts';
import { openSession, type Session } from './session.ts';
import { stackOutputs } from './stack-deployer.ts';

type Outcome = 'done' | 'skipped';

interface InitOptions extends Deployment {
  dryRun: boolean;
  json: boolean;
}

/** What the run learnt before changing anything: the apps and environments Copilot knows. */
interface InitState extends Session {
  log: Progress;
  apps: string[];
  /** The flags `env init` needs, or undefined when the environment exists already. */
  creds: { args: string[]; source: string } | undefined;
}

interface InitStep {
  /** The progress heading the step belongs to. */
  section: string;
  /** How the JSON report names it. */
  name: string;
  /** What --dry-run prints. */
  description: string;
  isDone(s: InitState): Promise<boolean> | boolean;
  run(s: InitState): Promise<unknown>;
}

function planInit(o: InitOptions): InitStep[] {
  const must = (args: string[]) => (s: InitState) =>
    s.copilot.must(args, { stream: true, next: `copilot ${redact(args).join(' ')}` });
  const envInit = ['env', 'init', '--name', o.env, '--app', o.app, '--default-config'];
  const envDeploy = ['env', 'deploy', '--name', o.env, '--app', o.app];
  return [
    {
      section: `application ${o.app}`,
      name: `app ${o.app}`,
      description: `copilot app init ${o.app}`,
      isDone: (s) => s.apps.includes(o.app),
      run: must(['app', 'init', o.app]),
    },
    {
      section: `environment ${o.env}`,
      name: `env init ${o.env}`,
      description: `copilot ${envInit.join(' ')} --region ${o.region ?? '<the region the credentials resolve to>'}`,
      isDone: (s) => s.creds === undefined,
      // Always the region this run's own AWS calls use: env init asks for one when its session has
      // none (env_init.go askEnvRegion), and a session from temporary-credential flags reads
      // AWS_REGION only, never AWS_DEFAULT_REGION or the shared config (aws/aws-sdk-go
      // session/env_config.go regionEnvKeys; aws/sessions/sessions.go FromStaticCreds).
      run: (s) => must([...envInit, ...(s.creds?.args ?? []), '--region', s.id.region])(s),
    },
    {
      section: `environment ${o.env}`,
      name: `env deploy ${o.env}`,
      description: `copilot ${envDeploy.join(' ')}`,
      // `env init` only bootstraps; the VPC (and the VpcId output) exists once `env deploy` ran.
      isDone: async (s) =>
        Boolean((await stackOutputs(s.aws.cfn, stackNames(o.app, o.env).env))?.[ENV_OUTPUT.vpcId]),
      run: must(envDeploy),
    },
    ...o.services.map(
      (svc): InitStep => ({
        section: 'services',
        name: `svc init ${svc}`,
        description: `copilot svc init --name ${svc} --app ${o.app}`,
        isDone: async (s) => (await s.copilot.serviceNames(o.app)).includes(svc),
        run: must(['svc', 'init', '--name', svc, '--app', o.app]),
      }),
    ),
  ];
}

/** `open` checks the prerequisites and opens the session (tests hand in a double). */
export async function initialise(
  o: InitOptions,
  open: typeof openSession = openSession,
): Promise<number> {
  const log = createProgress(o.cmd);
  const plan = planInit(o);
  if (o.dryRun) {
    log.info(`dry run: nothing is called. copilot: ${findOnPath('copilot') ?? 'NOT on PATH'}`);
    const lines = ['check copilot, docker and AWS credentials', ...plan.map((s) => s.description)];
    output(
      o.json
        ? JSON.stringify({ dryRun: true, plan: lines }, null, 2)
        : lines.map((p, i) => `${i + 1}. ${p}`).join('\n'),
    );
    return 0;
  }
  const state = await readState(o, log, open);
  const steps = await executeInit(plan, state);
  const count = (outcome: Outcome) => steps.filter((s) => s.outcome === outcome).length;
  if (o.json)
    output(JSON.stringify({ app: o.app, env: o.env, account: state.id.account, steps }, null, 2));
  else
    output(
      `initialised ${o.app}/${o.env} (${count('done')} steps done, ${count('skipped')} already done); next: ${invocation('deploy')} --env ${o.env}`,
    );
  return 0;
}

// Read-only: what exists already. `env init` must be told its credentials on the command line
// (copilot-credentials.ts): settle that now, so a run that cannot stops before any change.
async function readState(
  o: InitOptions,
  log: Progress,
  open: typeof openSession,
): Promise<InitState> {
  const session = await open({
    ...o,
    timeoutMs: o.timeoutMinutes * 60_000,
    log,
    docker: true,
    dockerFirst: true,
  });
  const apps = await session.copilot.appNames();
  const envs = apps.includes(o.app) ? await session.copilot.envNames(o.app) : [];
  const creds = envs.includes(o.env)
    ? undefined
    : envInitCredentials({ profile: o.profile }, o.cmd);
  if (creds) log.ok(`copilot env init will use ${creds.source}`);
  return { ...session, log, apps, creds };
}

async function executeInit(plan: InitStep[], state: InitState) {
  const steps: { step: string; outcome: Outcome }[] = [];
  let section = '';
  for (const step of plan) {
    if (step.section !== section) {
      section = step.section;
      state.log.step(section);
    }
    if (await step.isDone(state)) {
      steps.push({ step: step.name, outcome: 'skipped' });
      state.log.ok(`${step.name}: already done`);
    } else {
      await step.run(state);
      steps.push({ step: step.name, outcome: 'done' });
    }
  }
  return steps;
}
