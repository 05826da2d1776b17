import { buildUserItemCsr, transposeCsr, type CsrMatrix, type Interactions } from './csr.js';
import { choleskySolveInPlace, gramian } from './dense.js';
import type { FactorModel } from './factor-model.js';
import { observedTerms, resolveIalsParams, rowRegularization, type IalsParams } from './params.js';
import { createRandom } from './random.js';

/** What one epoch reports. */
export interface EpochReport {
  /** 1-based epoch number. */
  epoch: number;
  /** The full objective after the epoch (see IalsParams). */
  loss: number;
  /** Wall time of the epoch's two half-steps, without the loss. */
  seconds: number;
  /** Floating-point operations the two half-steps performed (an estimate from their sizes). */
  flops: number;
}

export interface TrainOptions {
  /** Called after each epoch with its report and the model as it stands (arrays are live: copy to keep). */
  onEpoch?: (report: EpochReport, model: FactorModel) => void;
  /** Stops between rows when aborted; the function then throws the signal's reason. */
  signal?: AbortSignal;
  /** Clock in ms (injectable for tests). Default performance.now. */
  now?: () => number;
}

/**
 * Trains an implicit-feedback matrix factorisation by alternating least
 * squares with the Gramian trick: each half-step computes G = Fᵀ F of the
 * fixed side once (O(n d²)), so a row's system α0·G + Σ_{observed} a·h hᵀ + λ_r I
 * costs O(|row| d² + d³) to build and solve by Cholesky.
 */
export function trainIals(data: Interactions | CsrMatrix, options: Partial<IalsParams> = {}, hooks: TrainOptions = {}): FactorModel {
  const trainer = createIalsTrainer(data, options);
  for (let e = 0; e < trainer.params.epochs; e++) {
    const report = trainer.epoch(hooks.signal, hooks.now);
    hooks.onEpoch?.(report, trainer.model);
  }
  return trainer.model;
}

/** An iALS run that advances one epoch at a time (for callers that yield or evaluate between epochs). */
export interface IalsTrainer {
  readonly params: IalsParams;
  readonly model: FactorModel;
  readonly userItems: CsrMatrix;
  readonly itemUsers: CsrMatrix;
  /** Runs one epoch: user half-step, then item half-step. */
  epoch(signal?: AbortSignal, now?: () => number): EpochReport;
  /** The objective at the current factors. */
  loss(): number;
}

/** Prepares the CSR matrices and the initial factors of an iALS run. */
export function createIalsTrainer(data: Interactions | CsrMatrix, options: Partial<IalsParams> = {}): IalsTrainer {
  const params = resolveIalsParams(options);
  const userItems = 'indptr' in data ? data : buildUserItemCsr(data);
  const itemUsers = transposeCsr(userItems);
  const d = params.dim;
  const rng = createRandom(params.seed);
  const std = params.initStddev / Math.sqrt(d);
  const init = (n: number) => {
    const f = new Float32Array(n * d);
    for (let k = 0; k < f.length; k++) f[k] = rng.normal() * std;
    return f;
  };
  const model: FactorModel = {
    users: userItems.rows,
    items: userItems.cols,
    dim: d,
    userFactors: init(userItems.rows),
    itemFactors: init(userItems.cols),
    params,
  };
  let epochs = 0;
  return {
    params,
    model,
    userItems,
    itemUsers,
    epoch(signal, now = () => performance.now()) {
      const start = now();
      solveHalfStep(model.userFactors, model.itemFactors, userItems, params, signal);
      solveHalfStep(model.itemFactors, model.userFactors, itemUsers, params, signal);
      const seconds = (now() - start) / 1000;
      epochs++;
      return { epoch: epochs, loss: ialsLoss(model, userItems, itemUsers), seconds, flops: epochFlops(userItems, d) };
    },
    loss: () => ialsLoss(model, userItems, itemUsers),
  };
}

/**
 * One half-step: every row of `target` (rows of `csr`) solved with `fixed`
 * held constant. Writes the solutions into `target`.
 */
export function solveHalfStep(target: Float32Array, fixed: Float32Array, csr: CsrMatrix, params: IalsParams, signal?: AbortSignal): void {
  const d = params.dim;
  const G = gramian(fixed, csr.cols, d);
  const solver = createRowSolver(G, fixed, csr.cols, params);
  for (let r = 0; r < csr.rows; r++) {
    if ((r & 1023) === 0) signal?.throwIfAborted();
    const start = csr.indptr[r]!;
    solver.solve(csr.indices, csr.values, start, csr.indptr[r + 1]!, target, r * d);
  }
}

/**
 * Solves single rows against a fixed factor matrix and its Gramian; the
 * scratch buffers are allocated once. Used by the half-steps and by fold-in,
 * so both compute exactly the same vector.
 */
export interface RowSolver {
  /**
   * Solves the row whose observed columns are `indices[start..end)` with
   * values `values[start..end)` (distinct columns), writing d numbers to `out` at `outOffset`.
   */
  solve(indices: ArrayLike<number>, values: ArrayLike<number>, start: number, end: number, out: Float32Array, outOffset: number): void;
}

/** Creates a row solver over `fixed` (fixedRows × d) with its Gramian G. */
export function createRowSolver(G: Float64Array, fixed: Float32Array, fixedRows: number, params: IalsParams): RowSolver {
  const d = params.dim;
  const A = new Float64Array(d * d);
  const b = new Float64Array(d);
  const alpha0 = params.unobservedWeight;
  // The row's observed factors gathered transposed (component-major), plain and
  // weighted by a, so that Σ_k a_k h_k h_kᵀ is d² contiguous dot products: two
  // loads per multiply-add and no store, rather than a store per rank-1 update.
  let capacity = 0;
  let Ht = new Float64Array(0);
  let Hw = new Float64Array(0);
  let bw = new Float64Array(0);
  return {
    solve(indices, values, start, end, out, outOffset) {
      const n = end - start;
      if (n > capacity) {
        capacity = Math.max(n, capacity * 2, 64);
        Ht = new Float64Array(capacity * d);
        Hw = new Float64Array(capacity * d);
        bw = new Float64Array(capacity);
      }
      for (let k = 0; k < n; k++) {
        const base = indices[start + k]! * d;
        const t = observedTerms(params, values[start + k]!);
        bw[k] = t.b;
        for (let a = 0; a < d; a++) {
          const x = fixed[base + a]!;
          Ht[a * capacity + k] = x;
          Hw[a * capacity + k] = t.a * x;
        }
      }
      const lambda = rowRegularization(params, n, fixedRows);
      for (let a = 0; a < d; a++) {
        const ra = a * capacity;
        let rhs = 0;
        for (let k = 0; k < n; k++) rhs += bw[k]! * Ht[ra + k]!;
        b[a] = rhs;
        const row = a * d;
        let c = 0;
        // Four columns of A's lower triangle per pass share the loads of row a.
        for (; c + 3 <= a; c += 4) {
          const r0 = c * capacity;
          const r1 = r0 + capacity;
          const r2 = r1 + capacity;
          const r3 = r2 + capacity;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let k = 0; k < n; k++) {
            const x = Hw[ra + k]!;
            s0 += x * Ht[r0 + k]!;
            s1 += x * Ht[r1 + k]!;
            s2 += x * Ht[r2 + k]!;
            s3 += x * Ht[r3 + k]!;
          }
          A[row + c] = alpha0 * G[row + c]! + s0;
          A[row + c + 1] = alpha0 * G[row + c + 1]! + s1;
          A[row + c + 2] = alpha0 * G[row + c + 2]! + s2;
          A[row + c + 3] = alpha0 * G[row + c + 3]! + s3;
        }
        for (; c <= a; c++) {
          const rc = c * capacity;
          let s = 0;
          for (let k = 0; k < n; k++) s += Hw[ra + k]! * Ht[rc + k]!;
          A[row + c] = alpha0 * G[row + c]! + s;
        }
        A[row + a]! += lambda;
      }
      if (!choleskySolveInPlace(A, b, d)) {
        // Only reachable with λ = 0 and a rank-deficient system: leave the row at zero.
        b.fill(0);
      }
      for (let a = 0; a < d; a++) out[outOffset + a] = b[a]!;
    },
  };
}

/**
 * The full objective: Σ_observed (a ŷ² − 2 b ŷ + b) + α0 Σ_all ŷ² + the
 * regularisation terms. Σ_all ŷ² = ⟨WᵀW, HᵀH⟩ costs O((U + I) d²), not O(U I d).
 */
export function ialsLoss(model: FactorModel, userItems: CsrMatrix, itemUsers: CsrMatrix): number {
  const { dim: d, params } = model;
  const W = model.userFactors;
  const H = model.itemFactors;
  let observed = 0;
  for (let u = 0; u < userItems.rows; u++) {
    for (let k = userItems.indptr[u]!; k < userItems.indptr[u + 1]!; k++) {
      const i = userItems.indices[k]!;
      let y = 0;
      for (let a = 0; a < d; a++) y += W[u * d + a]! * H[i * d + a]!;
      const t = observedTerms(params, userItems.values[k]!);
      observed += t.a * y * y - 2 * t.b * y + t.b;
    }
  }
  const Gu = gramian(W, model.users, d);
  const Gi = gramian(H, model.items, d);
  let all = 0;
  for (let k = 0; k < d * d; k++) all += Gu[k]! * Gi[k]!;
  const reg = (F: Float32Array, csr: CsrMatrix) => {
    let s = 0;
    for (let r = 0; r < csr.rows; r++) {
      let n2 = 0;
      for (let a = 0; a < d; a++) n2 += F[r * d + a]! ** 2;
      s += rowRegularization(params, csr.indptr[r + 1]! - csr.indptr[r]!, csr.cols) * n2;
    }
    return s;
  };
  return observed + params.unobservedWeight * all + reg(W, userItems) + reg(H, itemUsers);
}

/**
 * Floating-point operations of one epoch: per half-step the Gramian (n d²,
 * lower triangle, multiply-add = 2), the rank-1 updates (nnz d², likewise),
 * right-hand sides (2 nnz d) and one Cholesky factorisation and two triangular
 * solves per row (d³/3 + 2 d²).
 */
export function epochFlops(userItems: CsrMatrix, d: number): number {
  const nnz = userItems.indices.length;
  const rows = userItems.rows + userItems.cols;
  const gramians = rows * d * (d + 1); // both sides
  const updates = 2 * (nnz * d * (d + 1) + 2 * nnz * d);
  const solves = rows * (d ** 3 / 3 + 2 * d * d + d * d); // + building α0 G + λ I
  return gramians + updates + solves;
}
