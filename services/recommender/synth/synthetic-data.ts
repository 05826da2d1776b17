import { createRandom, type Random } from '../learning/index.js';
import type { LeaveOneOutCase, Ratings } from '../evaluation/index.js';

/** Shape of a synthetic data set. */
export interface SynthOptions {
  users: number;
  items: number;
  /** Dimension of the true latent factors. */
  dim: number;
  /** Total interactions to sample (approximately: per-user counts are rounded and capped). */
  interactions: number;
  /** Zipf exponent of item popularity (0 = none). Default 0.8. */
  popularitySkew?: number;
  /** Scale of the latent affinity against popularity in the sampling logits. Default 2.5. */
  affinity?: number;
  /** Fewest interactions of one user (at least 2: one trains, one tests). Default min(20, ...). */
  minPerUser?: number;
  /** Sampled negatives per test case. Default 99. */
  negatives?: number;
  /** Default 1. */
  seed?: number;
}

/** A synthetic data set in the NCF layout, with the true factors it came from. */
export interface SynthData {
  users: number;
  items: number;
  train: Ratings;
  /** The latest interaction of every user. */
  test: Ratings;
  negatives: LeaveOneOutCase[];
  /** True user factors (users × dim) and item factors (items × dim). */
  truth: { dim: number; userFactors: Float32Array; itemFactors: Float32Array; itemBias: Float32Array };
}

/**
 * Generates interactions from a known latent model: user and item factors
 * ~ N(0, 1/√dim) per component (so w·h has unit variance), Zipf item
 * popularity, and each user's items drawn without replacement from
 * softmax(affinity·w·h + log popularity) (Gumbel top-n). Per-user counts are
 * log-normal around interactions/users. Each user's last interaction (in a
 * random time order) is the test item, with `negatives` items they never
 * touched sampled uniformly.
 */
export function generateSynthetic(options: SynthOptions): SynthData {
  const { users, items, dim } = options;
  const skew = options.popularitySkew ?? 0.8;
  const affinity = options.affinity ?? 2.5;
  const nNeg = options.negatives ?? 99;
  const rng = createRandom(options.seed ?? 1);
  if (!(users >= 1 && items >= 2 && dim >= 1 && options.interactions >= 2 * users)) {
    throw new RangeError(`synthetic data needs users ≥ 1, items ≥ 2, dim ≥ 1 and interactions ≥ 2·users; got ${users}, ${items}, ${dim}, ${options.interactions}`);
  }
  const std = 1 / Math.pow(dim, 0.25);
  const W = Float32Array.from({ length: users * dim }, () => rng.normal() * std);
  const H = Float32Array.from({ length: items * dim }, () => rng.normal() * std);
  // Popularity rank is a random permutation of the items; bias = −skew·log(rank+1).
  const perm = shuffle(Int32Array.from({ length: items }, (_, k) => k), rng);
  const bias = new Float32Array(items);
  for (let r = 0; r < items; r++) bias[perm[r]!] = -skew * Math.log(r + 1);

  const maxPerUser = Math.max(2, Math.floor(items / 2));
  const minPerUser = Math.min(maxPerUser, Math.max(2, options.minPerUser ?? Math.min(20, Math.floor(options.interactions / users / 2))));
  const mean = options.interactions / users;
  const sigma = 0.8;
  const counts = Int32Array.from({ length: users }, () => Math.exp(Math.log(mean) - sigma * sigma / 2 + sigma * rng.normal()));
  // Rescale to the requested total, then clamp.
  const total = counts.reduce((a, b) => a + b, 0);
  for (let u = 0; u < users; u++) counts[u] = Math.min(maxPerUser, Math.max(minPerUser, Math.round((counts[u]! * options.interactions) / total)));

  const trainRows: number[][] = [];
  const testRows: number[][] = [];
  const negatives: LeaveOneOutCase[] = [];
  const key = new Float64Array(items);
  const order = new Int32Array(items);
  let clock = 978_300_000;
  for (let u = 0; u < users; u++) {
    const base = u * dim;
    for (let i = 0; i < items; i++) {
      let s = 0;
      for (let a = 0; a < dim; a++) s += W[base + a]! * H[i * dim + a]!;
      let g = rng.next();
      while (g === 0) g = rng.next();
      key[i] = affinity * s + bias[i]! - Math.log(-Math.log(g)); // + Gumbel noise
      order[i] = i;
    }
    const n = counts[u]!;
    const chosen = topN(order, key, n);
    shuffle(chosen, rng); // the time order of the user's interactions
    for (let k = 0; k < n; k++) {
      const row = [u, chosen[k]!, 1 + rng.int(5), clock + k];
      (k === n - 1 ? testRows : trainRows).push(row);
    }
    clock += n;
    const seen = new Set(chosen);
    const neg: number[] = [];
    const want = Math.min(nNeg, items - seen.size);
    const picked = new Set<number>();
    while (neg.length < want) {
      const i = rng.int(items);
      if (!seen.has(i) && !picked.has(i)) {
        picked.add(i);
        neg.push(i);
      }
    }
    negatives.push({ user: u, item: chosen[n - 1]!, negatives: Int32Array.from(neg) });
  }
  return { users, items, train: toRatings(trainRows), test: toRatings(testRows), negatives, truth: { dim, userFactors: W, itemFactors: H, itemBias: bias } };
}

function toRatings(rows: number[][]): Ratings {
  return {
    user: Int32Array.from(rows, (r) => r[0]!),
    item: Int32Array.from(rows, (r) => r[1]!),
    rating: Float32Array.from(rows, (r) => r[2]!),
    timestamp: Float64Array.from(rows, (r) => r[3]!),
  };
}

/** The n entries of `order` with the largest keys (partial quickselect, then the n are returned unsorted). */
function topN(order: Int32Array, key: Float64Array, n: number): Int32Array {
  let lo = 0;
  let hi = order.length - 1;
  while (lo < hi) {
    const pivot = key[order[(lo + hi) >> 1]!]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (key[order[i]!]! > pivot) i++;
      while (key[order[j]!]! < pivot) j--;
      if (i <= j) {
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
        i++;
        j--;
      }
    }
    if (n - 1 <= j) hi = j;
    else if (n - 1 >= i) lo = i;
    else break;
  }
  return order.slice(0, n);
}

function shuffle(a: Int32Array, rng: Random): Int32Array {
  for (let k = a.length - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    const t = a[k]!;
    a[k] = a[j]!;
    a[j] = t;
  }
  return a;
}
