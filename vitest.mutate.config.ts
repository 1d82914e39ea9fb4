// The tests Stryker runs against each mutant (npm run mutate): the ones that exercise the
// mutated modules in this process, so Stryker can tell which test covers which mutant. Tests
// that drive a module through a child process (the scripts under the fake copilot) cover
// nothing Stryker can see, so each mutated module has in-process tests of its own. Left out on
// purpose: tests that start a stack or real timers before or between their tests
// (target-group.test.ts, events.test.ts, the *.slow.test.ts files). Code that runs outside any
// test is a "static" mutant to Stryker, which must then run every related test against it:
// stryker.config.mjs leaves those out (ignoreStatic), and tests here start what they need in
// the test, not in beforeAll. target-group-rules.test.ts covers the target group on a clock of
// its own; smoke-checks.test.ts the smoke checks. isolate: false comes from the base config.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// Spread, not mergeConfig: mergeConfig would append these to the base's include list.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'services/**/test/**/*.test.ts',
      'test/contract/**/*.test.ts',
      'test/reliability/fuzz-services.test.ts',
      'test/local/target-group-rules.test.ts',
      'test/local/routing-rules.test.ts',
      'test/local/listener-rule-near-misses.test.ts',
      'test/local/cors.test.ts',
      'test/local/cors-origins.test.ts',
      'test/local/jwt-authorizer.test.ts',
      'test/local/jwt-near-misses.test.ts',
      'test/local/gateway-rules.test.ts',
      'test/local/gateway-in-process.test.ts',
      'test/local/gateway-early-answers.test.ts',
      'test/local/jwt-bearer.test.ts',
      'test/local/alb-in-process.test.ts',
      'test/local/alb-edges.test.ts',
      'test/local/alb-exchange.test.ts',
      'test/local/request-body.test.ts',
      'test/local/request-body-close.test.ts',
      'test/local/jwt-issuer.test.ts',
      'test/local/scheduling.test.ts',
      'test/local/scheduler-in-process.test.ts',
      'test/local/scheduler-decisions.test.ts',
      'test/local/startup-watch.test.ts',
      'test/local/startup-rules.test.ts',
      'test/local/console/request-rules.test.ts',
      'test/local/console/server-actions.test.ts',
      'test/local/console/server.test.ts',
      'test/local/console/server-edges.test.ts',
      'test/local/console/event-streams.test.ts',
      'test/scripts/diagnose.test.ts',
      'test/scripts/diagnose-verdicts.test.ts',
      'test/scripts/diagnose-integration.test.ts',
      'test/scripts/diagnose-messages.test.ts',
      'test/scripts/diagnose-run.test.ts',
      'test/scripts/diagnose-run-verdicts.test.ts',
      'test/scripts/diagnose-runtimes-checks.test.ts',
      'test/scripts/diagnose-edges.test.ts',
      'test/scripts/failure-report.test.ts',
      'test/scripts/failure-report-sparse.test.ts',
      'test/workspace/template-evaluation.test.ts',
      'test/workspace/template-yaml.test.ts',
      'test/workspace/access-log-format.test.ts',
      'test/workspace/template-edges.test.ts',
      'test/scripts/plan.test.ts',
      'test/scripts/deploy-steps.test.ts',
      'test/scripts/stack-deployer-rules.test.ts',
      'test/scripts/smoke-checks.test.ts',
      'test/scripts/units.test.ts',
      'test/scripts/cli-command.test.ts',
      'test/local/listeners.test.ts',
      'test/local/request-head.test.ts',
      'test/local/route-table.test.ts',
      'test/local/head-meter.test.ts',
      'test/local/one-at-a-time.test.ts',
      'test/workspace/manifests-rules.test.ts',
      'test/scripts/secrets-rules.test.ts',
      'test/scripts/smoke-run.test.ts',
      'test/scripts/smoke-run-aws.test.ts',
      'test/scripts/rendered-check.test.ts',
      'test/scripts/runtimes.test.ts',
      'test/scripts/runtime-checks.test.ts',
      'test/scripts/smoke-options.test.ts',
      'test/scripts/policy-rules.test.ts',
      'test/scripts/smoke-quotas.test.ts',
    ],
  },
});
