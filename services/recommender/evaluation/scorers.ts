import { scoreItems, userVector, type FactorModel } from '../learning/index.js';
import type { RankingScorer } from './leave-one-out.js';

/** Counts of each item in `item` (a training set's item column). */
export function itemPopularity(items: number, item: ArrayLike<number>): Float64Array {
  const counts = new Float64Array(items);
  for (let k = 0; k < item.length; k++) counts[item[k]!]!++;
  return counts;
}

/** The popularity baseline: every user gets the items ranked by training count. */
export function createPopularityScorer(counts: Float64Array): RankingScorer {
  return { scores: (_user, items) => Float64Array.from(items, (i) => (i < counts.length ? counts[i]! : 0)) };
}

/** Scores by the dot product of a factor model's user and item vectors. */
export function createFactorScorer(model: FactorModel): RankingScorer {
  return { scores: (user, items) => scoreItems(model, userVector(model, user), items) };
}
