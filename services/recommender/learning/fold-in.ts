import { gramian } from './dense.js';
import { createRowSolver } from './ials.js';
import type { FactorModel } from './factor-model.js';

/**
 * Computes user vectors from interactions with the item factors held fixed:
 * one d×d solve per user, exactly the user half-step of training. Create it
 * once per model (it computes the item Gramian, O(items · d²)).
 */
export interface FoldIn {
  /**
   * The vector of a user who interacted with `items` (repeats are summed, as
   * training does), with optional values per interaction (default 1).
   * Item ids must be valid (0..items-1).
   */
  userVector(items: ArrayLike<number>, values?: ArrayLike<number>): Float32Array;
}

/** Creates the fold-in for a trained model. */
export function createFoldIn(model: FactorModel): FoldIn {
  const G = gramian(model.itemFactors, model.items, model.dim);
  const solver = createRowSolver(G, model.itemFactors, model.items, model.params);
  return {
    userVector(items, values) {
      const summed = new Map<number, number>();
      for (let k = 0; k < items.length; k++) {
        const i = items[k]!;
        if (!Number.isInteger(i) || i < 0 || i >= model.items) throw new RangeError(`item ${i} is outside 0..${model.items - 1}`);
        summed.set(i, (summed.get(i) ?? 0) + (values ? values[k]! : 1));
      }
      const sorted = [...summed.keys()].sort((a, b) => a - b);
      const out = new Float32Array(model.dim);
      solver.solve(Int32Array.from(sorted), Float32Array.from(sorted, (i) => summed.get(i)!), 0, sorted.length, out, 0);
      return out;
    },
  };
}
