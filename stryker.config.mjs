// Mutation testing (npm run mutate): Stryker puts small, realistic bugs into the modules where a
// silent bug costs users most, one at a time, and runs the tests that cover each; a mutant no
// test kills is a bug the suite would let through. Scores and accepted survivors: docs/mutation.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: true },
  coverageAnalysis: 'perTest',
  mutate: [
    // The local HTTP API's CORS, JWT authorizer and throttling (TokenBucket); the ALB's listener
    // rules (the constructor and match()) and target group. Line ranges: the rest of
    // load-balancer.ts runs only inside a whole stack (docs/mutation.md).
    'scripts/local/gateway/cors.ts',
    'scripts/local/gateway/jwt-authorizer.ts',
    'scripts/local/gateway/throttling.ts',
    'scripts/local/alb/load-balancer.ts:81-91',
    'scripts/local/alb/load-balancer.ts:99-110',
    'scripts/local/alb/target-group.ts',
    // The services' shared code.
    'services/common/src/service-app.ts',
    'services/common/src/catalog-routes.ts',
    'services/common/src/problem.ts',
    'services/common/src/lifecycle.ts',
    // The deploy and destroy planning; the smoke checks (judgements, the bastion's script).
    'scripts/cloud/deploy-plan.ts',
    'scripts/cloud/teardown.ts',
    'scripts/checks/smoke-checks.ts',
  ],
  incremental: true,
  incrementalFile: '.cache/stryker/incremental.json',
  tempDirName: '.cache/stryker/tmp',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: '.cache/stryker/report.json' },
  thresholds: { high: 90, low: 80, break: 80 },
  concurrency: 2,
  // Added to 1.5x the covering tests' own time: a mutant that hangs (a wait that never ends) costs
  // this much, and a run has a few dozen of them.
  timeoutMS: 10_000,
};
