import type { Logger } from '../../../shared/logging/index.js';
import type { ServedVersion } from './version-leases.js';
import type { VersionStatistics } from './version-statistics.js';

/**
 * Closes executors that were swapped out or unloaded, each once its last lease
 * is released, folding its counts into the version's statistics so a swap
 * keeps the version's totals. {@link settled} waits for every one under way.
 */
export class VersionRetirement {
  readonly #logger: Logger;
  readonly #retiring = new Set<Promise<void>>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Retires `served` once idle; resolves when its executor is closed (never rejects: a failure is logged). */
  retire(served: ServedVersion, stats: VersionStatistics): Promise<void> {
    const done = (async () => {
      await served.whenIdle();
      const executor = served.loaded.executor;
      await executor.close();
      stats.retire(executor.executionCount(), executor.batchStatistics());
    })().catch((err: unknown) => this.#logger.error('closing a model executor failed', { err }));
    this.#retiring.add(done);
    void done.finally(() => this.#retiring.delete(done));
    return done;
  }

  /** Executors still being retired. */
  get pending(): number {
    return this.#retiring.size;
  }

  /** Resolves once every retirement under way has finished. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#retiring]);
  }
}
