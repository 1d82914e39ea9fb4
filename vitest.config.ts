import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['services/**/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Tests that start servers and child processes share two cores with their servers.
    maxWorkers: 2,
    typecheck: { enabled: false },
  },
});
