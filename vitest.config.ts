// Two commands, one configuration. `npm test` runs every test but the slow ones: what a
// contributor runs after each change, in about a minute. `npm run test:slow` runs the files
// named `*.slow.test.ts`: builds of the Dockerfiles, a whole local stack per case, fuzzing and
// load, and the scripts run end to end as child processes. `.ci/run` runs both; so does
// `npx vitest run` (and `npx vitest run <file>` runs any one file).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['services/**/test/**/*.test.ts', 'test/**/*.test.ts'],
    // Bounds against a hang, not measurements: generous, so a busy machine never reaches them.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests that start servers and child processes share two cores with their servers.
    maxWorkers: 2,
    // Forks (the default pool: tests send signals and start child processes), each reused for
    // the next file rather than one per file: a third less CPU for npm test (README, "Tests").
    // So a test restores what it changes (timers, mocks of SDK clients); stubbed variables are
    // restored after each test here.
    pool: 'forks',
    isolate: false,
    unstubEnvs: true,
    typecheck: { enabled: false },
    // A temporary directory per run, and a check that nothing is left behind (processes,
    // files), passing or failing.
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
