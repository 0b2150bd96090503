import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: two test files at a time keeps timing-sensitive tests honest.
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
  },
});
