#!/usr/bin/env zx
// Tears down in reverse order of deployment: the HTTP API stack and the bastion stack first
// (they import the environment's exports, and an imported export cannot be deleted), then the
// services, the environment and the application. Refuses to run without --yes.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CliError,
  commandName,
  createProgress,
  type FlagSpecs,
  invocation,
  output,
  type Progress,
  runCommand,
} from './cli/command.ts';
import { callerIdentity, createClients, stackNames } from './cloud/aws.ts';
import { Copilot, copilotEnv } from './cloud/copilot.ts';
import { commonFlags, requireEnvironment, workspaceOrExit } from './cloud/flags.ts';
import { deleteStack, StackDeployError } from './cloud/stack-deployer.ts';
import { repoRoot } from './workspace/manifests.ts';

const NAME = commandName(import.meta.url);
const workspace = workspaceOrExit(NAME);
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
  name: NAME,
  summary: 'Delete everything deploy.ts and init.ts created, in reverse order.',
  details: `Order: <app>-<env>-http-api stack, <app>-<env>-bastion stack (if present), each service
(copilot svc delete), the environment (copilot env delete), the application (copilot app delete,
run from a temporary directory: inside the workspace it would delete copilot/.workspace).
Without --yes it prints that list and exits 2, deleting nothing.`,
  flags,
};

process.exitCode = await runCommand(spec, async (f) => {
  const log = createProgress(NAME);
  const env = requireEnvironment(workspace, f.env, NAME);
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
      `${invocation(NAME)} --env ${env} --yes`,
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
  const id = await callerIdentity(aws, NAME);
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

  done.push(...(await deleteCopilotResources(copilot, { ...f, env, services, timeoutMs, log })));
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

interface Teardown {
  app: string;
  env: string;
  services: string[];
  keepApp: boolean;
  timeoutMs: number;
  log: Progress;
}

/** The services (in reverse manifest order), the environment, then the application. */
async function deleteCopilotResources(copilot: Copilot, t: Teardown) {
  const { app, env, log } = t;
  const done: { what: string; result: string }[] = [];
  const apps = await copilot.appNames();
  if (!apps.includes(app)) {
    log.ok(`application ${app} does not exist: nothing left to delete`);
    return done;
  }
  const run = (args: string[], next: string) =>
    copilot.must(args, { stream: true, timeoutMs: t.timeoutMs, next });
  const envs = await copilot.envNames(app);
  const registered = await copilot.serviceNames(app);
  if (envs.includes(env)) {
    for (const svc of t.services.filter((s) => registered.includes(s))) {
      log.step(`service ${svc} in ${env}`);
      const args = ['svc', 'delete', '--name', svc, '--env', env, '--app', app, '--yes'];
      await run(args, `copilot svc delete --name ${svc} --env ${env} --app ${app}`);
      done.push({ what: `service ${svc}`, result: 'deleted' });
    }
    log.step(`environment ${env}`);
    await run(
      ['env', 'delete', '--name', env, '--app', app, '--yes'],
      `copilot env delete --name ${env} --app ${app}`,
    );
    done.push({ what: `environment ${env}`, result: 'deleted' });
  } else log.ok(`environment ${env} does not exist`);
  if (!t.keepApp) {
    log.step(`application ${app}`);
    await outsideWorkspace(log, (cwd) =>
      copilot.must(['app', 'delete', '--name', app, '--yes'], {
        stream: true,
        timeoutMs: t.timeoutMs,
        cwd,
        next: `copilot app delete --name ${app}   (from a directory outside this repository)`,
      }),
    );
    done.push({ what: `application ${app}`, result: 'deleted' });
  }
  return done;
}

/**
 * `copilot app delete` deletes copilot/.workspace when it runs inside the application's
 * workspace (aws/copilot-cli v1.33.2 internal/pkg/cli/app_delete.go deleteWs; the workspace is
 * the first copilot/ directory found from the working directory, internal/pkg/workspace/
 * workspace.go). So it runs from an empty temporary directory; should the file be gone anyway
 * (a copilot/ directory above the temporary one), it is put back: a destroy leaves the
 * repository as it found it.
 */
async function outsideWorkspace<T>(log: Progress, run: (cwd: string) => Promise<T>): Promise<T> {
  const summaryFile = path.join(repoRoot, 'copilot', '.workspace');
  const summary = readFileSync(summaryFile, 'utf8');
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'copilot-app-delete-'));
  try {
    return await run(cwd);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
    if (!existsSync(summaryFile)) {
      writeFileSync(summaryFile, summary);
      log.warn(`copilot deleted ${path.relative(repoRoot, summaryFile)}: restored it`);
    }
  }
}
