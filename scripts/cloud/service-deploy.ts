// deploy.ts's step for one service: `copilot svc deploy --detach`, then the service stack, then
// the ECS service, watching the new deployment all along. A deployment that fails (rollout
// FAILED, tasks that keep stopping, a stack rolling back) ends the step at once with why:
// stopped tasks, exit codes, service events and log lines on stderr, then the next command; or,
// when the stack failed on a function whose runtime Lambda refused, that function and its patch.
import type { Service as EcsService } from '@aws-sdk/client-ecs';
import { CliError, invocation, type Progress } from '../cli/command.ts';
import { type AwsClients, stackNames } from './aws.ts';
import type { Copilot } from './copilot.ts';
import { DeploymentWatch } from './deployment-watch.ts';
import { type Clock, DeploymentFailed, waitForEcsSteady, waitForServiceStack } from './ecs-wait.ts';
import { reportFailure } from './failure-report.ts';
import { lambdaRefusals, refusalError } from './lambda-refusal.ts';
import { describeStack, EventStream } from './stack-deployer.ts';
import type { BackoffOptions } from './wait.ts';

interface ServiceDeployOptions {
  copilot: Pick<Copilot, 'must'>;
  aws: Pick<AwsClients, 'cfn' | 'ecs' | 'logs'>;
  app: string;
  env: string;
  svc: string;
  timeoutMs: number;
  settleMs: number;
  log: Progress;
  backoff?: BackoffOptions;
  clock?: Clock;
  /** The day a refused runtime's replacement is chosen on (YYYY-MM-DD; default today). */
  today?: string;
}

export async function deployService(o: ServiceDeployOptions): Promise<EcsService> {
  const { aws, app, env, svc, log } = o;
  const names = stackNames(app, env);
  const serviceStack = names.service(svc);
  const events = new EventStream(aws.cfn, serviceStack);
  const before = await describeStack(aws.cfn, serviceStack);
  await events.baseline();
  const watch = new DeploymentWatch({
    cfn: aws.cfn,
    ecs: aws.ecs,
    envStack: names.env,
    serviceStack,
  });
  await watch.baseline();
  const since = (o.clock?.now ?? Date.now)();
  await o.copilot.must(['svc', 'deploy', '--name', svc, '--env', env, '--app', app, '--detach'], {
    stream: true,
    timeoutMs: o.timeoutMs,
    next: `copilot svc deploy --name ${svc} --env ${env} --app ${app}`,
  });
  const pacing = {
    ...(o.backoff ? { backoff: o.backoff } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
  };
  try {
    await waitForServiceStack({
      cfn: aws.cfn,
      serviceStack,
      svc: o.svc,
      env: o.env,
      events,
      watch,
      previousStatus: before?.StackStatus,
      settleMs: o.settleMs,
      timeoutMs: o.timeoutMs,
      log,
      ...pacing,
    });
    const seen = await watch.check();
    if (seen.failing) throw new DeploymentFailed(seen);
    if (!watch.target) {
      throw new CliError(
        `cannot find the ECS service of ${serviceStack}`,
        `stack ${names.env} has no ClusterId output or stack ${serviceStack} has no AWS::ECS::Service`,
        `aws cloudformation describe-stack-resources --stack-name ${serviceStack}`,
      );
    }
    return await waitForEcsSteady({ watch, timeoutMs: o.timeoutMs, log, ...pacing });
  } catch (error) {
    if (!(error instanceof DeploymentFailed || error instanceof CliError)) throw error;
    // The stack's last events first: a function Lambda refused explains the failure by itself.
    await events.poll((line) => log.info(line)).catch(() => undefined);
    const refusals = lambdaRefusals(events.failureReasons());
    if (refusals.length > 0) {
      const where = {
        cmd: 'deploy',
        env,
        stackName: serviceStack,
        again: `--only services --service ${svc}`,
      };
      const today = o.today ? { today: o.today } : {};
      throw refusalError(
        refusals,
        { ...where, ...today, stack: { kind: 'service', name: svc } },
        log,
      );
    }
    if (!(error instanceof DeploymentFailed)) throw error;
    throw await explain(o, error, { events, since });
  }
}

async function explain(
  o: ServiceDeployOptions,
  failure: DeploymentFailed,
  ctx: { events: EventStream; since: number },
): Promise<CliError> {
  const { svc, env, app, log } = o;
  const { reason, target, service } = failure.result;
  log.fail(`${svc}: the deployment is failing: ${reason}. Not waiting for it.`);
  for (const r of ctx.events.failureReasons()) log.info(`  stack: ${r}`);
  const tasks = await reportFailure(
    {
      ecs: o.aws.ecs,
      logs: o.aws.logs,
      target,
      service,
      logGroup: `/copilot/${app}-${env}-${svc}`,
      container: svc,
      since: ctx.since,
    },
    log,
  );
  const first = tasks[0];
  const exit = first?.containers?.find((c) => c.exitCode !== undefined && c.exitCode !== 0);
  const why = [
    reason,
    ...(first?.stoppedReason ? [`a stopped task: ${first.stoppedReason}`] : []),
    ...(exit
      ? [`container ${exit.name} exited ${exit.exitCode}${exit.reason ? ` (${exit.reason})` : ''}`]
      : []),
  ].join('; ');
  return new CliError(
    `deploy: service ${svc} failed to deploy`,
    `${why} (details above)`,
    `copilot svc logs --name ${svc} --env ${env} --since 30m   (fix the cause, then ${invocation('deploy')} --env ${env} --only services --service ${svc})`,
  );
}
