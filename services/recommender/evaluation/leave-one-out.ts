import type { LeaveOneOutCase } from './ncf-format.js';

/** Scores items for a user (higher is better). */
export interface RankingScorer {
  scores(user: number, items: Int32Array): ArrayLike<number>;
}

/** Hit rate and NDCG at a cutoff, averaged over the cases. */
export interface RankingMetrics {
  /** Fraction of cases whose held-out item ranks in the top k. */
  hitRate: number;
  /** Mean of 1/log2(rank + 2) over cases with rank < k (rank 0-based), else 0. */
  ndcg: number;
  /** Number of cases. */
  cases: number;
  k: number;
}

/**
 * The 0-based rank of the held-out item among itself and its negatives. Ties
 * count against it (it ranks after every negative scoring the same), as in the
 * NCF reference code where the held-out item comes last in a stable top-k.
 */
export function rankOfHeldOut(heldOutScore: number, negativeScores: ArrayLike<number>, negatives = negativeScores.length): number {
  let rank = 0;
  for (let k = 0; k < negatives; k++) if (negativeScores[k]! >= heldOutScore) rank++;
  return rank;
}

/**
 * Evaluates a scorer by the leave-one-out protocol of He et al. 2017: each
 * case's held-out item is ranked among its sampled negatives; HR@k and NDCG@k.
 */
export function evaluateLeaveOneOut(scorer: RankingScorer, cases: readonly LeaveOneOutCase[], k = 10): RankingMetrics {
  let hits = 0;
  let ndcg = 0;
  for (const c of cases) {
    const items = new Int32Array(c.negatives.length + 1);
    items.set(c.negatives, 0);
    items[c.negatives.length] = c.item;
    const s = scorer.scores(c.user, items);
    // The held-out item sits after the negatives: its score is the last one.
    const rank = rankOfHeldOut(s[c.negatives.length]!, s, c.negatives.length);
    if (rank < k) {
      hits++;
      ndcg += 1 / Math.log2(rank + 2);
    }
  }
  const n = cases.length;
  return { hitRate: n ? hits / n : 0, ndcg: n ? ndcg / n : 0, cases: n, k };
}
