// The tests Stryker runs against each mutant (npm run mutate): the ones that exercise the
// mutated modules in this process, so Stryker can tell which test covers which mutant. Tests
// that drive a module through a child process (the deploy scripts under the fake copilot) cover
// nothing Stryker can see: docs/mutation.md says which modules that leaves out, and why.
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
      'test/local/target-group.test.ts',
      'test/local/events.test.ts',
      'test/local/target-group-rules.test.ts',
      'test/local/cors.test.ts',
      'test/local/jwt-authorizer.test.ts',
    ],
  },
});
