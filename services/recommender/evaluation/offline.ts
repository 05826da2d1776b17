import { createParallelIalsTrainer, trainAllEpochs, type EpochReport, type FactorModel, type IalsParams } from '../learning/index.js';
import { datasetShape, ratingsToInteractions } from './holdout.js';
import { evaluateLeaveOneOut, type RankingMetrics } from './leave-one-out.js';
import type { LeaveOneOutCase, Ratings } from './ncf-format.js';
import { createFactorScorer, createPopularityScorer, itemPopularity } from './scorers.js';
import { tuneIals, type TuneGrid, type TuneTrial } from './tune.js';

export interface OfflineEvaluationOptions {
  /** Cutoff. Default 10. */
  k?: number;
  /** Training parameters (defaults: DEFAULT_IALS_PARAMS). */
  params?: Partial<IalsParams>;
  /** When given, choose the parameters first by `tuneIals` on the training data with this grid. */
  tune?: TuneGrid;
  onEpoch?: (report: EpochReport) => void;
  onTrial?: (trial: TuneTrial) => void;
  signal?: AbortSignal;
  /** Threads the half-steps are split over. Default 1. */
  threads?: number;
}

/** What `runOfflineEvaluation` measured. */
export interface OfflineEvaluation {
  model: FactorModel;
  params: IalsParams;
  ials: RankingMetrics;
  popularity: RankingMetrics;
  /** The winning grid point when tuning ran. */
  tuned?: TuneTrial;
  epochs: EpochReport[];
}

/**
 * The NCF protocol end to end: (optionally tune on held-out training data,)
 * train iALS on all training interactions, rank each test item among its
 * negatives, and the same for the popularity baseline.
 */
export async function runOfflineEvaluation(train: Ratings, test: LeaveOneOutCase[], options: OfflineEvaluationOptions = {}): Promise<OfflineEvaluation> {
  const k = options.k ?? 10;
  const shape = datasetShape([train], test);
  let params = options.params;
  let tuned: TuneTrial | undefined;
  if (options.tune) {
    tuned = (await tuneIals(train, options.tune, { base: params, k, onTrial: options.onTrial, signal: options.signal, threads: options.threads })).best;
    params = tuned.params;
  }
  const trainer = createParallelIalsTrainer(ratingsToInteractions(train, shape), params, { threads: options.threads ?? 1 });
  const epochs = await trainAllEpochs(trainer, options);
  const model = trainer.model;
  return {
    model,
    params: model.params,
    ials: evaluateLeaveOneOut(createFactorScorer(model), test, k),
    popularity: evaluateLeaveOneOut(createPopularityScorer(itemPopularity(shape.items, train.item)), test, k),
    tuned,
    epochs,
  };
}
