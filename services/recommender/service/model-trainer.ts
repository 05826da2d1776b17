import { randomUUID } from 'node:crypto';
import { Code, InfermeshError, failedPrecondition, invalidArgument } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { PRODUCTION_ALIAS, type RegistryClient } from '../../../shared/registry-client/index.js';
import { exportScorerOnnx } from '../export/index.js';
import { resolveIalsParams, type EpochReport, type IalsParams } from '../learning/index.js';
import { createServingModel, type RecommendEngine } from '../serving/index.js';
import type { RecommenderStore, StoredModel } from '../store/index.js';
import { metricNames, runTraining } from '../training/index.js';

/** The outcome of one training run. */
export interface TrainResult {
  version: number;
  promoted: boolean;
  reason: string;
  metrics: Record<string, number>;
  previousProductionVersion: number;
  interactions: number;
  users: number;
  items: number;
  seconds: number;
}

export interface ModelTrainerOptions {
  store: RecommenderStore;
  registry: RegistryClient;
  engine: RecommendEngine;
  /** Registry model name of the scorer. */
  modelName: string;
  params: Partial<IalsParams>;
  /** k fixed in the exported scorer (capped by the catalogue). */
  maxK: number;
  /** The metric the quality gate compares (higher is better). Default `ndcg@10`. */
  gateMetric?: string;
  /** Train in a worker thread when possible. Default true. */
  inWorker?: boolean;
  /** Threads each half-step is split over. Default 1. */
  threads?: number;
  /** The serving config registered with each version (the inference node's config.json). */
  servingConfig?: object;
  logger: Logger;
  clock?: () => number;
}

/** Dynamic batching for the scorer on the node: users from concurrent requests share one batch. */
export const DEFAULT_SCORER_CONFIG = { maxBatchSize: 64, maxQueueDelayUs: 500 } as const;

/**
 * Trains on everything recorded, exports the ONNX scorer, registers it in the
 * registry with its lineage (parameters, data size, held-out metrics, parent
 * version) and promotes it to `production` only when its held-out gate metric
 * is at least the current production version's (or when forced). The promoted
 * model starts serving at once. One run at a time.
 */
export interface ModelTrainer {
  /** `params` override the trainer's parameters for this run. */
  train(options?: { force?: boolean; params?: Partial<IalsParams>; onEpoch?: (r: EpochReport) => void; signal?: AbortSignal }): Promise<TrainResult>;
  readonly running: boolean;
  /** Interactions recorded since the last run started. */
  pendingInteractions(): number;
}

export function createModelTrainer(o: ModelTrainerOptions): ModelTrainer {
  const clock = o.clock ?? Date.now;
  const gate = o.gateMetric ?? metricNames(10).ndcg;
  let running = false;
  let trainedThrough = o.store.latestPromoted()?.maxSeq ?? 0;

  const productionVersion = async (signal?: AbortSignal) => {
    try {
      return await o.registry.getVersion(o.modelName, { alias: PRODUCTION_ALIAS }, { signal });
    } catch (err) {
      if (InfermeshError.from(err).code === Code.NOT_FOUND) return undefined;
      throw err;
    }
  };

  return {
    get running() {
      return running;
    },
    pendingInteractions: () => Math.max(0, o.store.interactionCount() - trainedThrough),
    async train(options = {}) {
      if (running) throw failedPrecondition('a training run is already in progress');
      // Validate overrides before anything runs (INVALID_ARGUMENT naming the parameter).
      try {
        resolveIalsParams({ ...o.params, ...options.params });
      } catch (err) {
        throw invalidArgument(`params_json: ${(err as Error).message}`);
      }
      running = true;
      const started = clock();
      try {
        const snap = o.store.snapshot();
        if (snap.user.length === 0) throw failedPrecondition('no interactions recorded yet: nothing to train on');
        trainedThrough = snap.user.length;
        o.logger.info('training', { interactions: snap.user.length, users: snap.users, items: snap.items });
        const outcome = await runTraining(
          { users: snap.users, items: snap.items, user: snap.user, item: snap.item, weight: snap.weight, time: snap.time },
          { ...o.params, ...options.params },
          {
            inWorker: o.inWorker,
            threads: o.threads,
            signal: options.signal,
            onEpoch: (r) => {
              o.logger.info('epoch', { epoch: r.epoch, loss: r.loss, seconds: r.seconds, gflops: r.flops / Math.max(r.seconds, 1e-9) / 1e9 });
              options.onEpoch?.(r);
            },
          },
        );
        const { model, metrics } = outcome;
        const production = await productionVersion(options.signal);
        const previous = production?.version ?? 0;
        const bytes = exportScorerOnnx(model, { k: Math.min(o.maxK, model.items), mask: true });
        const labels = Object.fromEntries(Object.entries(model.params).map(([k, v]) => [`ials.${k}`, String(v)]));
        const pushed = await o.registry.pushVersion(o.modelName, bytes, {
          description: `iALS scorer: ${snap.user.length} interactions, ${model.users} users, ${model.items} items`,
          labels: { ...labels, 'training.interactions': String(snap.user.length), 'training.users': String(model.users), 'training.items': String(model.items), 'scorer.k': String(Math.min(o.maxK, model.items)) },
          lineage: {
            trainingRunId: randomUUID(),
            dataset: `recommender interactions through seq ${snap.maxSeq}: ${snap.user.length} interactions, ${model.users} users, ${model.items} items`,
            metrics,
            parentVersion: previous,
          },
          config: o.servingConfig ?? DEFAULT_SCORER_CONFIG,
          signal: options.signal,
        });
        const prodScore = production?.lineage?.metrics?.[gate];
        const better = prodScore === undefined || (metrics[gate] ?? -Infinity) >= prodScore;
        const promote = better || options.force === true;
        const reason = production === undefined
          ? 'no production version yet'
          : better
            ? `${gate} ${fmt(metrics[gate])} ≥ production v${previous}'s ${fmt(prodScore)}`
            : options.force
              ? `forced: ${gate} ${fmt(metrics[gate])} < production v${previous}'s ${fmt(prodScore)}`
              : `not promoted: ${gate} ${fmt(metrics[gate])} < production v${previous}'s ${fmt(prodScore)}`;
        const stored: StoredModel = {
          version: pushed.version,
          trainedAtMs: clock(),
          maxSeq: snap.maxSeq,
          interactions: snap.user.length,
          users: model.users,
          items: model.items,
          dim: model.dim,
          params: model.params,
          metrics,
          promoted: false,
          userFactors: model.userFactors,
          itemFactors: model.itemFactors,
        };
        o.store.saveModel(stored);
        if (promote) {
          await o.registry.setAlias(o.modelName, PRODUCTION_ALIAS, pushed.version, undefined, { signal: options.signal });
          o.store.setPromoted(pushed.version, true);
          o.engine.setServing(createServingModel({ ...stored, promoted: true }));
        }
        o.logger.info(promote ? 'promoted' : 'kept production', { version: pushed.version, reason, metrics });
        return {
          version: pushed.version,
          promoted: promote,
          reason,
          metrics,
          previousProductionVersion: previous,
          interactions: snap.user.length,
          users: model.users,
          items: model.items,
          seconds: (clock() - started) / 1000,
        };
      } finally {
        running = false;
      }
    },
  };
}

function fmt(x: number | undefined): string {
  return x === undefined ? 'n/a' : x.toFixed(4);
}
