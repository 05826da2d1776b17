import { describe, expect, it } from 'vitest';
import { buildCsr, transposeCsr } from './csr.js';
import { createFoldIn } from './fold-in.js';
import { createIalsTrainer, ialsLoss, solveHalfStep } from './ials.js';
import { createRandom } from './random.js';
import { resolveIalsParams, rowRegularization, type IalsParams } from './params.js';

/** Solves a dense system by Gaussian elimination with partial pivoting (independent of the Cholesky under test). */
function gaussSolve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}

/** A small random problem: 6 users × 9 items, some repeated events. */
function tinyProblem(seed = 7) {
  const rng = createRandom(seed);
  const users = 6;
  const items = 9;
  const u: number[] = [];
  const i: number[] = [];
  const v: number[] = [];
  for (let a = 0; a < users; a++) {
    for (let b = 0; b < items; b++) {
      if (rng.next() < 0.35 || b === a) {
        u.push(a);
        i.push(b);
        v.push(1 + rng.int(3));
      }
    }
  }
  // A repeated event whose value must be summed with the first.
  u.push(0);
  i.push(0);
  v.push(2);
  return buildCsr(users, items, Int32Array.from(u), Int32Array.from(i), Float32Array.from(v));
}

/**
 * The user step written as dense weighted least squares over every (user, item) cell:
 * minimise Σ_i C_ui (w·h_i − P_ui)² + λ_u ‖w‖², i.e. (Σ_i C_ui h_i h_iᵀ + λ_u I) w = Σ_i C_ui P_ui h_i.
 */
function bruteForceUser(params: IalsParams, V: Float32Array, items: number, observed: Map<number, number>): number[] {
  const d = params.dim;
  const A = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const rhs = new Array<number>(d).fill(0);
  const a0 = params.unobservedWeight;
  for (let i = 0; i < items; i++) {
    const r = observed.get(i);
    let C: number;
    let P: number;
    if (r === undefined) {
      C = a0;
      P = 0;
    } else if (params.observed === 'binary') {
      // (ŷ−1)² + α0 ŷ² = (1+α0)(ŷ − 1/(1+α0))² + const
      C = 1 + a0;
      P = 1 / (1 + a0);
    } else {
      C = 1 + params.alpha * r;
      P = 1;
    }
    for (let x = 0; x < d; x++) {
      rhs[x]! += C * P * V[i * d + x]!;
      for (let y = 0; y < d; y++) A[x]![y]! += C * V[i * d + x]! * V[i * d + y]!;
    }
  }
  const lambda = rowRegularization(params, observed.size, items);
  for (let x = 0; x < d; x++) A[x]![x]! += lambda;
  return gaussSolve(A, rhs);
}

const variants: [string, Partial<IalsParams>][] = [
  ['Rendle (binary, frequency-scaled λ)', { dim: 4, regularization: 0.05, regularizationExponent: 1, unobservedWeight: 0.3, observed: 'binary' }],
  ['Hu et al. (confidence, plain λ)', { dim: 3, regularization: 0.1, regularizationExponent: 0, unobservedWeight: 1, observed: 'confidence', alpha: 2 }],
];

describe('iALS', () => {
  for (const [name, options] of variants) {
    it(`solves each user exactly as the dense all-entries normal equations do: ${name}`, () => {
      const csr = tinyProblem();
      const params = resolveIalsParams({ ...options, seed: 3 });
      const rng = createRandom(11);
      const V = Float32Array.from({ length: csr.cols * params.dim }, () => rng.normal() * 0.5);
      const W = new Float32Array(csr.rows * params.dim);
      solveHalfStep(W, V, csr, params);
      for (let u = 0; u < csr.rows; u++) {
        const observed = new Map<number, number>();
        for (let k = csr.indptr[u]!; k < csr.indptr[u + 1]!; k++) observed.set(csr.indices[k]!, csr.values[k]!);
        const expected = bruteForceUser(params, V, csr.cols, observed);
        const got = Array.from(W.subarray(u * params.dim, (u + 1) * params.dim));
        for (let x = 0; x < params.dim; x++) expect(got[x]).toBeCloseTo(expected[x]!, 4);
      }
    });

    it(`never increases the objective, half-step after half-step: ${name}`, () => {
      const csr = tinyProblem(5);
      const trainer = createIalsTrainer(csr, { ...options, epochs: 6 });
      const { model, params } = trainer;
      const itemUsers = transposeCsr(csr);
      let last = trainer.loss();
      for (let e = 0; e < 6; e++) {
        solveHalfStep(model.userFactors, model.itemFactors, csr, params);
        const afterUsers = ialsLoss(model, csr, itemUsers);
        solveHalfStep(model.itemFactors, model.userFactors, itemUsers, params);
        const afterItems = ialsLoss(model, csr, itemUsers);
        expect(afterUsers).toBeLessThanOrEqual(last * (1 + 1e-6));
        expect(afterItems).toBeLessThanOrEqual(afterUsers * (1 + 1e-6));
        last = afterItems;
      }
    });
  }

  it('reports each epoch with a falling loss, its time and its work', () => {
    const reports: { epoch: number; loss: number; seconds: number; flops: number }[] = [];
    const trainer = createIalsTrainer(tinyProblem(), { dim: 4, epochs: 3 });
    for (let e = 0; e < 3; e++) reports.push(trainer.epoch());
    expect(reports.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(reports[2]!.loss).toBeLessThan(reports[0]!.loss);
    for (const r of reports) {
      expect(r.seconds).toBeGreaterThanOrEqual(0);
      expect(r.flops).toBeGreaterThan(0);
    }
  });

  it('folds a user in exactly as the full solve computes that user', () => {
    const csr = tinyProblem(9);
    const trainer = createIalsTrainer(csr, { dim: 4, epochs: 4 });
    for (let e = 0; e < 4; e++) trainer.epoch();
    const { model, params } = trainer;
    const foldIn = createFoldIn(model);
    // The full user step with the final item factors.
    const W = new Float32Array(model.users * model.dim);
    solveHalfStep(W, model.itemFactors, csr, params);
    for (let u = 0; u < model.users; u++) {
      // Events in any order with repeats, as a live history would hold them.
      const items: number[] = [];
      const values: number[] = [];
      for (let k = csr.indptr[u + 1]! - 1; k >= csr.indptr[u]!; k--) {
        items.push(csr.indices[k]!, csr.indices[k]!);
        values.push(csr.values[k]! / 2, csr.values[k]! / 2);
      }
      const v = foldIn.userVector(items, values);
      for (let x = 0; x < model.dim; x++) expect(v[x]).toBeCloseTo(W[u * model.dim + x]!, 5);
    }
    expect(() => foldIn.userVector([model.items])).toThrow(/outside/);
  });

  it('rejects parameters that cannot train, naming them', () => {
    expect(() => resolveIalsParams({ dim: 0 })).toThrow(/dim/);
    expect(() => resolveIalsParams({ regularization: 0, unobservedWeight: 0 })).toThrow(/regularization/);
    expect(() => resolveIalsParams({ observed: 'x' as 'binary' })).toThrow(/observed/);
  });
});
