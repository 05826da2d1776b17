import type { Metadata } from '@grpc/grpc-js';
import { buildInferRequest, decodeInferResponse, type InferenceClient } from '../../../shared/client/index.js';
import { Code, InfermeshError, invalidArgument, notFound } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { MASK_EXCLUDED, SCORER_TENSORS } from '../export/index.js';
import { itemVector, userVector } from '../learning/index.js';
import type { RecommenderStore } from '../store/index.js';
import { Catalogue } from './catalogue.js';
import type { ServingModel } from './serving-model.js';
import { traceContextFrom } from './trace-context.js';

/** One Recommend request, as the engine takes it. */
export interface RecommendQuery {
  userId: string;
  k: number;
  excludeSeen?: boolean;
  excludeItems?: readonly string[];
  /** Only items carrying every one of these labels. */
  itemLabels?: Readonly<Record<string, string>>;
  requestId?: string;
}

export interface ScoredItem {
  itemId: string;
  score: number;
}

export interface RecommendAnswer {
  userId: string;
  items: ScoredItem[];
  traceId: string;
  modelVersion: number;
  coldStart: boolean;
  requestId: string;
}

/** Per-call context: cancellation, the caller's metadata (for its traceparent), the deadline. */
export interface CallContext {
  signal?: AbortSignal;
  metadata?: Metadata;
  timeoutMs?: number;
}

export interface RecommendEngineOptions {
  store: RecommenderStore;
  inference: InferenceClient;
  /** The registry model the scorer versions are registered under. */
  modelName: string;
  /** Largest k a request may ask for (and the k fixed in exported scorers). */
  maxK: number;
  /** Latest interactions a fold-in uses. */
  historyLimit: number;
  /** Deadline of a scoring call to the inference node when the caller set none, in ms. */
  inferTimeoutMs: number;
  logger: Logger;
}

/** Most interactions read to exclude what a user has seen. */
const SEEN_LIMIT = 10_000;

/**
 * The serving side of the recommender: user vectors (stored, or folded in
 * from the latest interactions when the user has news since training), masks
 * for exclusions and label filters, and scoring through an inference node
 * (ModelInfer on the promoted scorer version). Unknown users and users without
 * usable history get the most popular items (cold start).
 */
export interface RecommendEngine {
  readonly catalogue: Catalogue;
  /** The model serving, if any. */
  serving(): ServingModel | undefined;
  setServing(model: ServingModel): void;
  /** Re-reads the catalogue after an upsert. */
  refreshCatalogue(): void;
  /** Counts new interactions towards popularity. */
  noteInteractions(itemIdx: readonly number[]): void;
  recommend(q: RecommendQuery, ctx?: CallContext): Promise<RecommendAnswer>;
  similarItems(itemId: string, k: number, ctx?: CallContext): Promise<{ itemId: string; items: ScoredItem[]; traceId: string; modelVersion: number }>;
}

export function createRecommendEngine(o: RecommendEngineOptions): RecommendEngine {
  const { store, inference } = o;
  const catalogue = new Catalogue(store.items());
  let counts = store.itemCounts();
  let popularOrder: Int32Array | undefined;
  let serving: ServingModel | undefined;

  const checkK = (k: number) => {
    if (!Number.isInteger(k) || k < 1 || k > o.maxK) throw invalidArgument(`k must be an integer from 1 to ${o.maxK}, got ${k}`);
  };

  /** Scores `vector` on the node; `mask` has one entry per model item. */
  const score = async (vector: Float32Array, mask: Float32Array, k: number, requestId: string, ctx: CallContext, trace: ReturnType<typeof traceContextFrom>): Promise<ScoredItem[]> => {
    const m = serving!;
    const T = SCORER_TENSORS;
    const response = await inference.modelInfer(
      buildInferRequest({
        modelName: o.modelName,
        modelVersion: String(m.stored.version),
        id: requestId,
        inputs: [
          { name: T.user, datatype: 'FP32', shape: [1, m.model.dim], data: vector },
          { name: T.mask, datatype: 'FP32', shape: [1, m.model.items], data: mask },
        ],
      }),
      { signal: ctx.signal, metadata: trace.metadata, timeoutMs: ctx.timeoutMs ?? o.inferTimeoutMs },
    );
    const out = decodeInferResponse(response);
    const items = out[T.items]?.data;
    const scores = out[T.scores]?.data;
    if (!(items instanceof BigInt64Array) || !(scores instanceof Float32Array)) {
      throw new InfermeshError(Code.INTERNAL, `the scorer ${o.modelName}:${m.stored.version} answered without '${T.items}' INT64 and '${T.scores}' FP32 outputs`);
    }
    const result: ScoredItem[] = [];
    for (let j = 0; j < items.length && result.length < k; j++) {
      if (scores[j]! <= MASK_EXCLUDED / 2) break; // only excluded items remain
      result.push({ itemId: catalogue.idOf(Number(items[j]!)), score: scores[j]! });
    }
    return result;
  };

  const popular = (k: number, excluded: Set<number>, labels: Readonly<Record<string, string>> | undefined): ScoredItem[] => {
    if (!popularOrder || popularOrder.length !== counts.length) {
      popularOrder = Int32Array.from(counts.keys()).sort((a, b) => counts[b]! - counts[a]! || a - b);
    }
    const out: ScoredItem[] = [];
    for (const i of popularOrder) {
      if (out.length >= k) break;
      if (excluded.has(i) || (labels && !catalogue.matches(i, labels))) continue;
      out.push({ itemId: catalogue.idOf(i), score: counts[i]! });
    }
    return out;
  };

  return {
    catalogue,
    serving: () => serving,
    setServing(m) {
      serving = m;
    },
    refreshCatalogue() {
      catalogue.replace(store.items());
      if (counts.length < catalogue.size) {
        const grown = new Float64Array(catalogue.size);
        grown.set(counts);
        counts = grown;
        popularOrder = undefined;
      }
    },
    noteInteractions(itemIdx) {
      for (const i of itemIdx) if (i < counts.length) counts[i]!++;
      popularOrder = undefined;
    },

    async recommend(q, ctx = {}) {
      if (!q.userId) throw invalidArgument('user_id must be a non-empty string');
      checkK(q.k);
      const trace = traceContextFrom(ctx.metadata);
      const requestId = q.requestId ?? '';
      const labels = q.itemLabels && Object.keys(q.itemLabels).length > 0 ? q.itemLabels : undefined;
      const u = store.userIdx(q.userId);
      const history = u === undefined ? [] : store.userHistory(u, q.excludeSeen ? Math.max(SEEN_LIMIT, o.historyLimit) : o.historyLimit);
      const excluded = new Set<number>();
      for (const id of q.excludeItems ?? []) {
        const i = catalogue.indexOf(id);
        if (i !== undefined) excluded.add(i);
      }
      if (q.excludeSeen) for (const h of history) excluded.add(h.itemIdx);
      const m = serving;
      const recent = history.slice(0, o.historyLimit).filter((h) => m && h.itemIdx < m.model.items);
      if (!m || recent.length === 0) {
        return { userId: q.userId, items: popular(q.k, excluded, labels), traceId: trace.traceId, modelVersion: m?.stored.version ?? 0, coldStart: true, requestId };
      }
      // The stored vector when nothing happened since training, else fold in the latest history.
      const vector =
        u! < m.model.users && history[0]!.seq <= m.stored.maxSeq
          ? userVector(m.model, u!)
          : m.foldIn.userVector(recent.map((h) => h.itemIdx), recent.map((h) => h.weight));
      const mask = new Float32Array(m.model.items);
      for (const i of excluded) if (i < mask.length) mask[i] = MASK_EXCLUDED;
      if (labels) for (let i = 0; i < mask.length; i++) if (!catalogue.matches(i, labels)) mask[i] = MASK_EXCLUDED;
      const items = await score(vector, mask, q.k, requestId, ctx, trace);
      return { userId: q.userId, items, traceId: trace.traceId, modelVersion: m.stored.version, coldStart: false, requestId };
    },

    async similarItems(itemId, k, ctx = {}) {
      if (!itemId) throw invalidArgument('item_id must be a non-empty string');
      checkK(k);
      const i = catalogue.indexOf(itemId);
      if (i === undefined) throw notFound(`item_id '${itemId}' is not in the catalogue`);
      const m = serving;
      if (!m || i >= m.model.items) {
        throw new InfermeshError(Code.FAILED_PRECONDITION, `item_id '${itemId}' has no trained factors yet (no model, or the item arrived after version ${m?.stored.version ?? 0} was trained)`);
      }
      const trace = traceContextFrom(ctx.metadata);
      const mask = new Float32Array(m.model.items);
      mask[i] = MASK_EXCLUDED;
      const items = await score(itemVector(m.model, i), mask, k, '', ctx, trace);
      return { itemId, items, traceId: trace.traceId, modelVersion: m.stored.version };
    },
  };
}
