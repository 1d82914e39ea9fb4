// Tears down in reverse order of deployment: the HTTP API stack and the bastion stack first
// (they import the environment's exports, and an imported export cannot be deleted), then the
// services, the environment and the application. Without `yes` it prints the list and refuses.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError, createProgress, invocation, output, type Progress } from '../cli/command.ts';
import { repoRoot } from '../workspace/manifests.ts';
import { type AwsClients, stackNames } from './aws.ts';
import type { Copilot } from './copilot.ts';
import type { Deployment } from './flags.ts';
import { openSession } from './session.ts';
import { deleteStack, StackDeployError } from './stack-deployer.ts';

export interface TeardownOptions extends Deployment {
  keepApp: boolean;
  yes: boolean;
  json: boolean;
}

type Done = { what: string; result: string }[];

/** `open` is the session's source: the real prerequisites, or a test's doubles. */
export async function teardown(
  o: TeardownOptions,
  open: typeof openSession = openSession,
): Promise<number> {
  const log = createProgress(o.cmd);
  const names = stackNames(o.app, o.env);
  const services = [...o.services].reverse();
  if (!o.yes) refuse(o, names, services);
  const timeoutMs = o.timeoutMinutes * 60_000;
  const { copilot, aws } = await open({ ...o, timeoutMs, log, docker: false });
  const done = await deleteAddonStacks(o.cmd, aws, [names.httpApi, names.bastion], timeoutMs, log);
  done.push(...(await deleteCopilotResources(copilot, { ...o, services, timeoutMs, log })));
  if (o.json) output(JSON.stringify({ app: o.app, env: o.env, deleted: done }, null, 2));
  else {
    const deleted = done.filter((d) => d.result === 'deleted').map((d) => d.what);
    output(`destroyed: ${deleted.join(', ') || 'nothing (already gone)'}`);
  }
  return 0;
}

function refuse(
  o: TeardownOptions,
  names: ReturnType<typeof stackNames>,
  services: string[],
): never {
  const plan = [
    `CloudFormation stack ${names.httpApi}`,
    `CloudFormation stack ${names.bastion} (if present)`,
    ...services.map((s) => `copilot svc delete --name ${s} --env ${o.env} --app ${o.app} --yes`),
    `copilot env delete --name ${o.env} --app ${o.app} --yes`,
    ...(o.keepApp ? [] : [`copilot app delete --name ${o.app} --yes`]),
  ];
  output(`would delete, in this order:\n${plan.map((p, i) => `  ${i + 1}. ${p}`).join('\n')}`);
  throw new CliError(
    `${o.cmd}: refusing to delete without --yes`,
    'nothing was deleted',
    `${invocation(o.cmd)} --env ${o.env} --yes`,
    2,
  );
}

async function deleteAddonStacks(
  cmd: string,
  aws: AwsClients,
  stacks: string[],
  timeoutMs: number,
  log: Progress,
): Promise<Done> {
  const done: Done = [];
  for (const stackName of stacks) {
    log.step(`stack ${stackName}`);
    try {
      const r = await deleteStack({ cfn: aws.cfn, stackName, timeoutMs, log });
      if (r === 'absent') log.ok(`${stackName}: not present`);
      done.push({ what: stackName, result: r });
    } catch (error) {
      if (error instanceof StackDeployError) {
        throw new CliError(
          `${cmd}: deleting ${stackName} failed (${error.status})`,
          error.reasons.join('; '),
          `aws cloudformation describe-stack-events --stack-name ${stackName}   (then re-run ${cmd})`,
        );
      }
      throw error;
    }
  }
  return done;
}

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
