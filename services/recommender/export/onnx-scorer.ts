import { buildOnnxModel, type InitializerSpec, type NodeSpec, type ValueSpec } from '../../../shared/onnx/index.js';
import type { FactorModel } from '../learning/index.js';

/** Tensor names of the exported scorer, shared by the exporter and its callers. */
export const SCORER_TENSORS = {
  /** Input: user vectors [N, dim] FP32. */
  user: 'user',
  /** Input (when k is not fixed): INT64 [1]. */
  k: 'k',
  /** Input (when masked): [N, items] FP32 added to the scores (use a large negative to exclude). */
  mask: 'mask',
  /** Output: top-k scores [N, k] FP32, best first. */
  scores: 'scores',
  /** Output: top-k item indices [N, k] INT64. */
  items: 'items',
} as const;

/** A mask value that removes an item from the top k (finite, so that sums stay well defined). */
export const MASK_EXCLUDED = -1e30;

export interface ScorerExportOptions {
  /** k fixed in the graph (clamped to the catalogue size); absent: `k` is an INT64 [1] input. */
  k?: number;
  /** Whether the graph takes the `mask` input. Default true. */
  mask?: boolean;
  /** Extra metadata_props (the exporter adds dim, items and the training parameters). */
  metadata?: Record<string, string>;
}

/**
 * Exports a factor model's item side as an ONNX top-k scorer: the item factors
 * are an initializer [items, dim]; for a batch of user vectors `user` [N, dim]
 * it computes Gemm(user, itemsᵀ) (+ `mask`), then TopK along the items.
 * The first dimension is dynamic on every input and output, so an inference
 * node's dynamic batcher can merge requests for different users.
 */
export function exportScorerOnnx(model: Pick<FactorModel, 'items' | 'dim' | 'itemFactors'> & { params?: object }, options: ScorerExportOptions = {}): Uint8Array {
  const { items, dim } = model;
  const withMask = options.mask ?? true;
  const fixedK = options.k === undefined ? undefined : Math.max(1, Math.min(items, Math.floor(options.k)));
  const T = SCORER_TENSORS;
  const inputs: ValueSpec[] = [{ name: T.user, datatype: 'FP32', shape: ['batch', dim] }];
  if (withMask) inputs.push({ name: T.mask, datatype: 'FP32', shape: ['batch', items] });
  const initializers: InitializerSpec[] = [{ name: 'item_factors', datatype: 'FP32', dims: [items, dim], values: model.itemFactors.subarray(0, items * dim) }];
  if (fixedK === undefined) inputs.push({ name: T.k, datatype: 'INT64', shape: [1] });
  else initializers.push({ name: T.k, datatype: 'INT64', dims: [1], values: BigInt64Array.of(BigInt(fixedK)) });
  const nodes: NodeSpec[] = [{ op: 'Gemm', inputs: [T.user, 'item_factors'], outputs: ['raw_scores'], attributes: { transB: 1 } }];
  if (withMask) nodes.push({ op: 'Add', inputs: ['raw_scores', T.mask], outputs: ['masked_scores'] });
  nodes.push({ op: 'TopK', inputs: [withMask ? 'masked_scores' : 'raw_scores', T.k], outputs: [T.scores, T.items], attributes: { axis: -1, largest: 1, sorted: 1 } });
  const kDim = fixedK ?? 'k';
  return buildOnnxModel({
    name: 'infermesh_recommender_scorer',
    inputs,
    outputs: [
      { name: T.scores, datatype: 'FP32', shape: ['batch', kDim] },
      { name: T.items, datatype: 'INT64', shape: ['batch', kDim] },
    ],
    nodes,
    initializers,
    metadata: {
      'infermesh.recommender.dim': String(dim),
      'infermesh.recommender.items': String(items),
      ...(model.params ? { 'infermesh.recommender.params': JSON.stringify(model.params) } : {}),
      ...options.metadata,
    },
  });
}
