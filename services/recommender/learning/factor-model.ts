import type { IalsParams } from './params.js';

/**
 * A trained matrix factorisation: row-major FP32 factor matrices, users × dim
 * and items × dim, and the parameters that produced them. A user's score for
 * an item is the dot product of their rows.
 */
export interface FactorModel {
  users: number;
  items: number;
  dim: number;
  userFactors: Float32Array;
  itemFactors: Float32Array;
  params: IalsParams;
}

/** The score of one (user, item) pair. */
export function scorePair(model: FactorModel, user: number, item: number): number {
  return dot(model.userFactors, user * model.dim, model.itemFactors, item * model.dim, model.dim);
}

/** Scores of a user vector (length dim) against the given items, or all items. */
export function scoreItems(model: FactorModel, userVector: ArrayLike<number>, items?: ArrayLike<number>, out?: Float32Array): Float32Array {
  const d = model.dim;
  const n = items ? items.length : model.items;
  const result = out ?? new Float32Array(n);
  const v = model.itemFactors;
  for (let k = 0; k < n; k++) {
    const base = (items ? items[k]! : k) * d;
    let s = 0;
    for (let a = 0; a < d; a++) s += userVector[a]! * v[base + a]!;
    result[k] = s;
  }
  return result;
}

/** The factor row of a user, as a view (no copy). */
export function userVector(model: FactorModel, user: number): Float32Array {
  return model.userFactors.subarray(user * model.dim, (user + 1) * model.dim);
}

/** The factor row of an item, as a view (no copy). */
export function itemVector(model: FactorModel, item: number): Float32Array {
  return model.itemFactors.subarray(item * model.dim, (item + 1) * model.dim);
}

function dot(x: Float32Array, xo: number, y: Float32Array, yo: number, d: number): number {
  let s = 0;
  for (let a = 0; a < d; a++) s += x[xo + a]! * y[yo + a]!;
  return s;
}
