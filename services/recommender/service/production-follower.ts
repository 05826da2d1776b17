import type { Logger } from '../../../shared/logging/index.js';
import type { RegistryClient } from '../../../shared/registry-client/index.js';
import { createServingModel, type RecommendEngine } from '../serving/index.js';
import type { RecommenderStore } from '../store/index.js';

/**
 * Follows the registry's `production` alias of the scorer model: when an
 * operator moves it (a rollback, or a promotion by hand) to a version this
 * recommender trained, that version's factors serve from then on; a version
 * it has no factors for is logged and the current one kept. Reconnects after
 * a registry outage. `close()` stops it.
 */
export function followProduction(o: { registry: RegistryClient; store: RecommenderStore; engine: RecommendEngine; modelName: string; logger: Logger }): { close(): Promise<void> } {
  const controller = new AbortController();
  const apply = (version: number) => {
    if (version === 0 || o.engine.serving()?.stored.version === version) return;
    const stored = o.store.model(version);
    if (!stored) {
      o.logger.warn('production points at a version without factors here; keeping the current one', { version, serving: o.engine.serving()?.stored.version });
      return;
    }
    const current = o.engine.serving()?.stored.version;
    if (current !== undefined) o.store.setPromoted(current, false);
    o.store.setPromoted(version, true);
    o.engine.setServing(createServingModel({ ...stored, promoted: true }));
    o.logger.info('serving the version production now points at', { version, previous: current });
  };
  const loop = (async () => {
    while (!controller.signal.aborted) {
      try {
        for await (const ev of o.registry.watch({ model: o.modelName, signal: controller.signal })) {
          const change = ev.aliasChanged;
          if (change && change.model === o.modelName && change.alias === 'production') apply(change.version);
        }
      } catch (err) {
        if (controller.signal.aborted) return;
        o.logger.debug('registry watch ended; retrying', { err });
      }
      await new Promise((r) => setTimeout(r, 1000).unref());
    }
  })();
  return {
    async close() {
      controller.abort();
      await loop;
    },
  };
}
