import { defineConfig } from 'vitest/config';

// Integration tests spawn real servers (nats-server, PostgreSQL clients, the
// services' own processes), so files run in forked workers, two at a time on
// this 2-core machine, with timeouts sized for process start-up.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'services/**/*.test.ts', 'shared/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
