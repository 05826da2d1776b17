import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPopularityScorer, itemPopularity } from './scorers.js';
import { evaluateLeaveOneOut, rankOfHeldOut, type RankingScorer } from './leave-one-out.js';
import { formatNegatives, formatRatings, parseNegatives, parseRatings, readNegativesFile, readRatingsFile, writeNcfFiles } from './ncf-format.js';
import { holdOutLatest } from './holdout.js';
import { runOfflineEvaluation } from './offline.js';
import { tuneIals } from './tune.js';
import { generateSynthetic } from '../synth/index.js';

describe('leave-one-out metrics', () => {
  it('computes HR@k and NDCG@k as worked out by hand', () => {
    // Scores are fixed per item: the test item of user 0 beats all but one negative
    // (rank 1), user 1's test item is beaten by three (rank 3), user 2's by all four.
    const scoreOf: Record<number, number> = { 0: 0.9, 1: 0.5, 2: 0.4, 3: 0.3, 4: 0.2, 5: 0.7, 6: 0.35, 7: 0.1, 8: 0.05 };
    const scorer: RankingScorer = { scores: (_u, items) => Float64Array.from(items, (i) => scoreOf[i]!) };
    const cases = [
      { user: 0, item: 5, negatives: Int32Array.from([0, 1, 2, 3]) }, // only 0.9 beats 0.7 → rank 1
      { user: 1, item: 6, negatives: Int32Array.from([0, 1, 2, 4]) }, // 0.9, 0.5, 0.4 beat 0.35 → rank 3
      { user: 2, item: 8, negatives: Int32Array.from([0, 1, 2, 7]) }, // all four beat 0.05 → rank 4
    ];
    const at2 = evaluateLeaveOneOut(scorer, cases, 2);
    expect(at2.hitRate).toBeCloseTo(1 / 3, 12);
    expect(at2.ndcg).toBeCloseTo(1 / Math.log2(3) / 3, 12);
    const at4 = evaluateLeaveOneOut(scorer, cases, 4);
    expect(at4.hitRate).toBeCloseTo(2 / 3, 12);
    expect(at4.ndcg).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(5)) / 3, 12);
    expect(at4.cases).toBe(3);
  });

  it('ranks the held-out item after negatives with the same score (ties count against it)', () => {
    expect(rankOfHeldOut(1, [1, 1, 0])).toBe(2);
    expect(rankOfHeldOut(1, [0.5, 0.2])).toBe(0);
    // The popularity baseline therefore earns no hit from a tie with a popular negative.
    const pop = createPopularityScorer(itemPopularity(3, [0, 0, 1, 1, 2]));
    expect(evaluateLeaveOneOut(pop, [{ user: 0, item: 1, negatives: Int32Array.from([0]) }], 1).hitRate).toBe(0);
  });
});

describe('NCF files', () => {
  it('reads what it writes, and names the file and line of a malformed entry', () => {
    const text = '0\t3\t5\t978300760\n1\t2\t3\t978302109\n';
    const r = parseRatings(text);
    expect(Array.from(r.user)).toEqual([0, 1]);
    expect(Array.from(r.item)).toEqual([3, 2]);
    expect(formatRatings(r)).toBe(text);
    const neg = '(0,3)\t1\t2\n(1,2)\t0\t4\n';
    expect(formatNegatives(parseNegatives(neg))).toBe(neg);
    expect(() => parseRatings('0\t1\n1\tx\t3\t4\n', 'train.rating')).toThrow(/train.rating line 2/);
    expect(() => parseNegatives('0,3\t1\n', 'test.negative')).toThrow(/test.negative line 1/);
  });

  it('holds out each user\'s latest interaction with negatives the user never touched', () => {
    const r = parseRatings('0\t1\t5\t10\n0\t2\t5\t30\n0\t3\t5\t20\n1\t4\t5\t5\n2\t0\t1\t1\n2\t5\t1\t2\n');
    const { train, cases } = holdOutLatest(r, { users: 3, items: 8 }, { negatives: 3 });
    expect(cases.map((c) => [c.user, c.item])).toEqual([[0, 2], [2, 5]]);
    expect(train.user.length).toBe(4); // user 1 keeps its only interaction
    for (const c of cases) {
      expect(c.negatives.length).toBe(3);
      const seen = new Set(Array.from(r.item.filter((_, k) => r.user[k] === c.user)));
      for (const n of c.negatives) expect(seen.has(n)).toBe(false);
    }
  });
});

describe('on synthetic data with known latent structure', () => {
  const data = generateSynthetic({ users: 400, items: 500, dim: 8, interactions: 24_000, seed: 3 });

  it('writes NCF files with one test interaction per user and 99 unseen negatives', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-synth-'));
    try {
      const paths = writeNcfFiles(dir, data);
      const train = readRatingsFile(paths.train);
      const test = readRatingsFile(paths.test);
      const negatives = readNegativesFile(paths.negatives);
      expect(new Set(Array.from(test.user)).size).toBe(400);
      expect(test.user.length).toBe(400);
      expect(train.user.length + test.user.length).toBeGreaterThan(20_000);
      expect(negatives.every((c) => c.negatives.length === 99)).toBe(true);
      const seen = new Set<string>();
      for (let k = 0; k < train.user.length; k++) seen.add(`${train.user[k]},${train.item[k]}`);
      for (const c of negatives) for (const n of c.negatives) expect(seen.has(`${c.user},${n}`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('iALS beats the popularity baseline by a wide margin', async () => {
    const epochs: number[] = [];
    const r = await runOfflineEvaluation(data.train, data.negatives, {
      params: { dim: 16, epochs: 8, regularization: 0.005, unobservedWeight: 0.1 },
      onEpoch: (e) => epochs.push(e.loss),
    });
    expect(epochs).toHaveLength(8);
    expect(epochs[7]).toBeLessThan(epochs[0]!);
    expect(r.popularity.hitRate).toBeGreaterThan(0.1); // the baseline is not broken either
    expect(r.ials.hitRate).toBeGreaterThan(r.popularity.hitRate + 0.2);
    expect(r.ials.ndcg).toBeGreaterThan(r.popularity.ndcg + 0.1);
  });

  it('tunes on held-out training data and prefers a working configuration to a crippled one', async () => {
    const trials: number[] = [];
    const { best } = await tuneIals(data.train, { dim: [1, 16], regularization: [0.005], unobservedWeight: [0.1], maxEpochs: 3 }, { onTrial: () => trials.push(1) });
    expect(trials).toHaveLength(6);
    expect(best.params.dim).toBe(16);
    expect(best.params.epochs).toBeGreaterThanOrEqual(1);
    expect(best.metrics.cases).toBe(400);
  });
});
