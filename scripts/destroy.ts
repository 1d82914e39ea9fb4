#!/usr/bin/env zx
// Tears down in reverse order of deployment: the HTTP API stack and the bastion stack first
// (they import the environment's exports, and an imported export cannot be deleted), then the
// services, the environment and the application. Refuses to run without --yes.
import { callerIdentity, createClients, stackNames } from './lib/aws.ts';
import {
  CliError,
  commonFlags,
  createProgress,
  type FlagSpecs,
  output,
  requireEnvironment,
  runCommand,
  workspaceOrExit,
} from './lib/cli.ts';
import { Copilot, copilotEnv } from './lib/copilot.ts';
import { repoRoot } from './lib/manifests.ts';
import { deleteStack, StackDeployError } from './lib/stack-deployer.ts';

const workspace = workspaceOrExit('destroy');
const flags = {
  ...commonFlags(workspace),
  yes: {
    type: 'boolean',
    description: 'Really delete (without it, only print what would be deleted)',
  },
  keepApp: {
    type: 'boolean',
    description: 'Keep the Copilot application (other environments use it)',
  },
  timeout: {
    type: 'number',
    default: 30,
    min: 1,
    valueName: 'minutes',
    description: 'Bound on each deletion',
  },
  json: { type: 'boolean', description: 'Print what was deleted as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: 'destroy',
  summary: 'Delete everything deploy.ts and init.ts created, in reverse order.',
  details: `Order: <app>-<env>-http-api stack, <app>-<env>-bastion stack (if present), each service
(copilot svc delete), the environment (copilot env delete), the application (copilot app delete).
Without --yes it prints that list and exits 2, deleting nothing.`,
  flags,
};

process.exitCode = await runCommand(spec, async (f) => {
  const log = createProgress('destroy');
  const env = requireEnvironment(workspace, f.env, 'destroy');
  const names = stackNames(f.app, env);
  const services = [...workspace.services.map((s) => s.name)].reverse();
  const plan = [
    `CloudFormation stack ${names.httpApi}`,
    `CloudFormation stack ${names.bastion} (if present)`,
    ...services.map((s) => `copilot svc delete --name ${s} --env ${env} --app ${f.app} --yes`),
    `copilot env delete --name ${env} --app ${f.app} --yes`,
    ...(f.keepApp ? [] : [`copilot app delete --name ${f.app} --yes`]),
  ];
  if (!f.yes) {
    output(`would delete, in this order:\n${plan.map((p, i) => `  ${i + 1}. ${p}`).join('\n')}`);
    throw new CliError(
      'destroy: refusing to delete without --yes',
      'nothing was deleted',
      `npx zx scripts/destroy.ts --env ${env} --yes`,
      2,
    );
  }

  const timeoutMs = f.timeout * 60_000;
  log.step('checking prerequisites');
  const { copilot } = await Copilot.open(
    {
      cwd: repoRoot,
      env: copilotEnv({ region: f.region, profile: f.profile }),
      log,
      defaultTimeoutMs: timeoutMs,
    },
    'destroy',
  );
  const aws = createClients({ region: f.region, profile: f.profile });
  const id = await callerIdentity(aws, 'destroy');
  log.ok(`AWS account ${id.account}, region ${id.region}`);
  const done: { what: string; result: string }[] = [];

  for (const stackName of [names.httpApi, names.bastion]) {
    log.step(`stack ${stackName}`);
    try {
      const r = await deleteStack({ cfn: aws.cfn, stackName, timeoutMs, log });
      if (r === 'absent') log.ok(`${stackName}: not present`);
      done.push({ what: stackName, result: r });
    } catch (error) {
      if (error instanceof StackDeployError) {
        throw new CliError(
          `destroy: deleting ${stackName} failed (${error.status})`,
          error.reasons.join('; '),
          `aws cloudformation describe-stack-events --stack-name ${stackName}   (then re-run destroy)`,
        );
      }
      throw error;
    }
  }

  const apps = await copilot.appNames();
  if (!apps.includes(f.app)) {
    log.ok(`application ${f.app} does not exist: nothing left to delete`);
  } else {
    const envs = await copilot.envNames(f.app);
    const registered = await copilot.serviceNames(f.app);
    if (envs.includes(env)) {
      for (const svc of services.filter((s) => registered.includes(s))) {
        log.step(`service ${svc} in ${env}`);
        await copilot.must(
          ['svc', 'delete', '--name', svc, '--env', env, '--app', f.app, '--yes'],
          {
            stream: true,
            timeoutMs,
            next: `copilot svc delete --name ${svc} --env ${env} --app ${f.app}`,
          },
        );
        done.push({ what: `service ${svc}`, result: 'deleted' });
      }
      log.step(`environment ${env}`);
      await copilot.must(['env', 'delete', '--name', env, '--app', f.app, '--yes'], {
        stream: true,
        timeoutMs,
        next: `copilot env delete --name ${env} --app ${f.app}`,
      });
      done.push({ what: `environment ${env}`, result: 'deleted' });
    } else log.ok(`environment ${env} does not exist`);
    if (!f.keepApp) {
      log.step(`application ${f.app}`);
      await copilot.must(['app', 'delete', '--name', f.app, '--yes'], {
        stream: true,
        timeoutMs,
        next: `copilot app delete --name ${f.app}`,
      });
      done.push({ what: `application ${f.app}`, result: 'deleted' });
    }
  }
  if (f.json) output(JSON.stringify({ app: f.app, env, deleted: done }, null, 2));
  else
    output(
      `destroyed: ${
        done
          .filter((d) => d.result === 'deleted')
          .map((d) => d.what)
          .join(', ') || 'nothing (already gone)'
      }`,
    );
  return 0;
});
