import { evaluateLeaveOneOut, createFactorScorer, createPopularityScorer, holdOutLatest, itemPopularity } from '../evaluation/index.js';
import { buildUserItemCsr, createParallelIalsTrainer, trainAllEpochs, solveHalfStep, type EpochReport, type FactorModel, type IalsParams } from '../learning/index.js';

/** Interactions to train on, as typed columns (dense user and item indices). */
export interface TrainingData {
  users: number;
  items: number;
  user: Int32Array;
  item: Int32Array;
  weight: Float32Array;
  /** Event times (ms); the latest per user is held out for validation. */
  time: Float64Array;
}

/** What a training run produced. */
export interface TrainOutcome {
  model: FactorModel;
  /** Held-out metrics: `hr@10`, `ndcg@10`, `popularity_hr@10`, `popularity_ndcg@10`, `validation_users`. */
  metrics: Record<string, number>;
  epochs: EpochReport[];
}

/** The metric names of {@link TrainOutcome.metrics} at cutoff k. */
export function metricNames(k: number) {
  return { hr: `hr@${k}`, ndcg: `ndcg@${k}`, popHr: `popularity_hr@${k}`, popNdcg: `popularity_ndcg@${k}`, users: 'validation_users' } as const;
}

/**
 * Trains iALS with a held-out check: each user's latest interaction (users
 * with at least two) is set aside with up to 99 sampled negatives, the model is
 * trained on the rest and scored on them (with the popularity baseline beside
 * it), then the user factors are solved once more against all interactions so
 * that the served vectors include everything.
 */
export async function trainAndEvaluate(
  data: TrainingData,
  params: Partial<IalsParams>,
  options: { k?: number; onEpoch?: (r: EpochReport) => void; signal?: AbortSignal; threads?: number } = {},
): Promise<TrainOutcome> {
  const k = options.k ?? 10;
  const shape = { users: data.users, items: data.items };
  const split = holdOutLatest({ user: data.user, item: data.item, rating: data.weight, timestamp: data.time }, shape);
  const trainer = createParallelIalsTrainer({ ...shape, user: split.train.user, item: split.train.item, value: split.train.rating }, params, { threads: options.threads ?? 1 });
  const epochs = await trainAllEpochs(trainer, options);
  const names = metricNames(k);
  const ials = evaluateLeaveOneOut(createFactorScorer(trainer.model), split.cases, k);
  const popularity = evaluateLeaveOneOut(createPopularityScorer(itemPopularity(data.items, split.train.item)), split.cases, k);
  const full = buildUserItemCsr({ ...shape, user: data.user, item: data.item, value: data.weight });
  solveHalfStep(trainer.model.userFactors, trainer.model.itemFactors, full, trainer.params, options.signal);
  return {
    model: trainer.model,
    metrics: {
      [names.hr]: ials.hitRate,
      [names.ndcg]: ials.ndcg,
      [names.popHr]: popularity.hitRate,
      [names.popNdcg]: popularity.ndcg,
      [names.users]: ials.cases,
    },
    epochs,
  };
}
