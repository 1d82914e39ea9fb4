// The smoke test as the last step of a deploy plan (scripts/cloud/deploy-plan.ts): against
// --smoke-url, else the API the plan just deployed, else the HTTP API stack's URL output.
import { CliError, invocation } from '../cli/command.ts';
import { API_URL_OUTPUT, stackNames } from '../cloud/aws.ts';
import type { PlanStep } from '../cloud/deploy-plan.ts';
import { describeStack } from '../cloud/stack-deployer.ts';
import type { Service } from '../workspace/manifests.ts';
import { runSmoke } from './smoke-checks.ts';

interface SmokeStepOptions {
  cmd: string;
  app: string;
  env: string;
  services: Service[];
  smokeUrl: string | undefined;
}

export function smokeStep(o: SmokeStepOptions): PlanStep {
  const { httpApi } = stackNames(o.app, o.env);
  return {
    step: 'smoke',
    description: `smoke test of ${o.smokeUrl ?? `the ${API_URL_OUTPUT} output of ${httpApi}`}`,
    async run({ aws, log, result }) {
      const url =
        o.smokeUrl ??
        result.apiUrl ??
        (await describeStack(aws.cfn, httpApi))?.Outputs?.find(
          (out) => out.OutputKey === API_URL_OUTPUT,
        )?.OutputValue;
      if (!url) {
        throw new CliError(
          `${o.cmd}: nothing to smoke-test`,
          `stack ${httpApi} has no ${API_URL_OUTPUT} output`,
          `${invocation(o.cmd)} --env ${o.env} --only api`,
        );
      }
      result.apiUrl ??= url;
      const report = await runSmoke({
        services: o.services,
        targets: { api: url },
        timeoutMs: 10_000,
        samples: 5,
        waitReadyMs: 120_000,
        log,
      });
      if (!report.passed) {
        const failed = report.checks.filter((c) => !c.ok);
        throw new CliError(
          `${o.cmd}: the smoke test failed (${failed.length} of ${report.checks.length} checks)`,
          failed.map((c) => `${c.name}: ${c.problems.join('; ')}`).join(' | '),
          `${invocation('diagnose')} --env ${o.env}`,
        );
      }
      log.ok(`smoke test passed; p50 ${report.latency.p50} ms, p95 ${report.latency.p95} ms`);
    },
  };
}
