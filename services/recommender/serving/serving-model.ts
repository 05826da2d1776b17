import { createFoldIn, type FactorModel, type FoldIn } from '../learning/index.js';
import type { StoredModel } from '../store/index.js';

/** The promoted model the recommender serves: its factors (for fold-in) and what it covers. */
export interface ServingModel {
  readonly stored: StoredModel;
  readonly model: FactorModel;
  readonly foldIn: FoldIn;
}

/** Prepares a stored model for serving (computes the item Gramian once). */
export function createServingModel(stored: StoredModel): ServingModel {
  const model: FactorModel = {
    users: stored.users,
    items: stored.items,
    dim: stored.dim,
    userFactors: stored.userFactors,
    itemFactors: stored.itemFactors,
    params: stored.params,
  };
  return { stored, model, foldIn: createFoldIn(model) };
}
