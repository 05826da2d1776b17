import { createParallelIalsTrainer, resolveIalsParams, type IalsParams } from '../learning/index.js';
import { datasetShape, holdOutLatest, ratingsToInteractions } from './holdout.js';
import { evaluateLeaveOneOut, type RankingMetrics } from './leave-one-out.js';
import type { Ratings } from './ncf-format.js';
import { createFactorScorer } from './scorers.js';

/** The values `tuneIals` tries; every combination, each evaluated after every epoch up to `maxEpochs`. */
export interface TuneGrid {
  dim: readonly number[];
  regularization: readonly number[];
  unobservedWeight: readonly number[];
  /** Epochs 1..maxEpochs are all candidates (evaluated as training proceeds). */
  maxEpochs: number;
}

/** A grid small enough to run on ML-1M-sized data in minutes, around the defaults. */
export const DEFAULT_TUNE_GRID: Readonly<TuneGrid> = {
  dim: [32, 64, 128],
  regularization: [0.002, 0.005, 0.01],
  unobservedWeight: [0.1, 0.2, 0.3],
  maxEpochs: 12,
};

/** One evaluated point of the grid. */
export interface TuneTrial {
  params: IalsParams;
  metrics: RankingMetrics;
}

export interface TuneOptions {
  /** Parameters not in the grid (ν, seed, ...). */
  base?: Partial<IalsParams>;
  /** Cutoff. Default 10. */
  k?: number;
  /** Which metric picks the winner. Default 'ndcg' (smoother than HR on a few thousand users). */
  select?: 'hitRate' | 'ndcg';
  /** Seed of the validation negatives. */
  seed?: number;
  /** Called for each (configuration, epoch) as it is evaluated. */
  onTrial?: (trial: TuneTrial) => void;
  signal?: AbortSignal;
  /** Threads each training's half-steps are split over. Default 1. */
  threads?: number;
}

/**
 * Chooses iALS hyper-parameters by the NCF protocol on held-out data: each
 * training user's latest interaction becomes a validation case (with 99
 * sampled negatives), every grid point is trained on the rest, and the best
 * (configuration, epoch) by the selected metric wins. The test set is never
 * touched.
 */
export async function tuneIals(train: Ratings, grid: TuneGrid, options: TuneOptions = {}): Promise<{ best: TuneTrial; trials: TuneTrial[] }> {
  const shape = datasetShape([train]);
  const split = holdOutLatest(train, shape, { seed: options.seed });
  const data = ratingsToInteractions(split.train, shape);
  const select = options.select ?? 'ndcg';
  const trials: TuneTrial[] = [];
  let best: TuneTrial | undefined;
  for (const dim of grid.dim) {
    for (const regularization of grid.regularization) {
      for (const unobservedWeight of grid.unobservedWeight) {
        const trainer = createParallelIalsTrainer(data, { ...options.base, dim, regularization, unobservedWeight, epochs: grid.maxEpochs }, { threads: options.threads ?? 1 });
        try {
          for (let e = 1; e <= grid.maxEpochs; e++) {
            await trainer.epoch(options.signal);
            const metrics = evaluateLeaveOneOut(createFactorScorer(trainer.model), split.cases, options.k ?? 10);
            const trial = { params: resolveIalsParams({ ...trainer.params, epochs: e }), metrics };
            trials.push(trial);
            options.onTrial?.(trial);
            if (!best || metrics[select] > best.metrics[select]) best = trial;
          }
        } finally {
          await trainer.close();
        }
      }
    }
  }
  if (!best) throw new RangeError('the tuning grid is empty');
  return { best, trials };
}
