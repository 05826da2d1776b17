import { configDefaults, defineConfig } from 'vitest/config';

// Integration tests spawn real servers (nats-server, PostgreSQL clients, the
// services' own processes), so files run in forked workers, two at a time on
// this 2-core machine, with timeouts sized for process start-up.
//
// The multi-host test (three hosts in network namespaces, a NATS cluster, kill -9
// and a partition with time bounds on failover) runs in a group of its own, after
// every other file: on two cores a neighbouring test file stretches its failover
// windows past their bounds (the partition case measured 17 s beside other files,
// 2 s alone), and those bounds measure the mesh, not the neighbour.
const MULTI_HOST = 'test/integration/multi-host.test.ts';

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'infermesh', include: ['test/**/*.test.ts', 'services/**/*.test.ts', 'shared/**/*.test.ts'], exclude: [...configDefaults.exclude, MULTI_HOST], sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: 'multi-host', include: [MULTI_HOST], sequence: { groupOrder: 1 } } },
    ],
  },
});
