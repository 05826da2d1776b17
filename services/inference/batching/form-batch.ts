import type { CurveView } from './throughput-curve.js';

/** What batch formation reads of a queued request. */
export interface BatchCandidate {
  /** Rows it adds to a batch (1 when the model does not batch). */
  readonly rows: number;
  /** Requests batch together only when their keys are equal (see shapeKey). */
  readonly key: string;
  /** Absolute deadline, in the executor clock's ms; Infinity for none. */
  readonly deadlineMs: number;
  /** When it was queued, in the executor clock's ms. */
  readonly enqueuedAtMs: number;
  /** Its caller's signal (only `aborted` is read): an aborted request is dropped, never run. */
  readonly signal?: { readonly aborted: boolean } | undefined;
}

/** The scheduling settings batch formation applies (resolved once by the executor). */
export interface BatchPolicy {
  /** Largest batch in rows; 0 = never batched (one request per run). */
  readonly maxBatchSize: number;
  /** Configured preferred sizes, largest first; when any, they decide instead of the curve. */
  readonly preferredBatchSizes: readonly number[];
  /** How long the oldest request may wait for a batch to fill, in ms. */
  readonly maxQueueDelayMs: number;
  /** The executor is draining: run what is queued without waiting. */
  readonly closing: boolean;
  /**
   * The recent gap between arrivals (a moving average), in ms; undefined: not
   * known yet. When requests arrive further apart than maxQueueDelay, a batch
   * would not fill within the window: it runs at once instead of waiting.
   */
  readonly arrivalGapMs: number | undefined;
  /**
   * The last batch left requests behind (it was formed at a smaller size than
   * the rows waiting): those go on at the best size for them without waiting
   * for the window again. Waiting to fill a batch is for a queue that was emptied.
   */
  readonly backlog: boolean;
}

/** What to do now with the queue. */
export type BatchDecision<E> =
  | { readonly kind: 'run'; readonly entries: E[]; readonly rows: number; readonly dropped: E[] | undefined }
  | { readonly kind: 'wait'; readonly untilMs: number; readonly dropped: E[] | undefined }
  | { readonly kind: 'idle'; readonly dropped: E[] | undefined };

/**
 * Forms the next batch for one free instance from the waiting requests
 * (`entries`, in service order), at `nowMs`. Pure: it changes nothing; the
 * caller runs, waits, or removes what it returns. Requests that are past
 * their deadline or cancelled are returned in `dropped` (never run).
 *
 * The batch is the first request and the later ones that share its key, in
 * service order, up to a target size:
 * - with `preferredBatchSizes`, the largest preferred size the waiting rows
 *   reach (or maxBatchSize), as configured;
 * - otherwise, once the curve is measured, the size with the most rows/s
 *   for the rows waiting ({@link CurveView.bestSize}): a deep queue gets the
 *   curve's peak, never a larger size that runs slower per row; only
 *   requests whose deadline would pass before a next batch could serve them
 *   join beyond it (up to maxBatchSize);
 * - with no curve, as many rows as fit in maxBatchSize.
 * Short of its target, a batch waits while the oldest request's
 * maxQueueDelay window is open, unless requests arrive further apart than
 * the window or the last batch left these behind; then it runs what it has (on the curve: its best size for
 * those rows).
 */
export function formBatch<E extends BatchCandidate>(entries: Iterable<E>, policy: BatchPolicy, curve: CurveView, nowMs: number): BatchDecision<E> {
  const { maxBatchSize } = policy;
  const useCurve = maxBatchSize > 0 && policy.preferredBatchSizes.length === 0 && curve.measured;
  // On the curve, rows beyond its peak are never worth taking (except urgent ones).
  const limit = useCurve ? curve.bestSize(maxBatchSize) : maxBatchSize;
  // A request that cannot wait out this batch and the next one must go now.
  const urgentBeforeMs = useCurve ? nowMs + 2 * curve.batchMs(limit) : -Infinity;
  let dropped: E[] | undefined;
  let head: E | undefined;
  const picked: E[] = [];
  let rows = 0;
  let oldestMs = Infinity;
  let full = false;
  for (const e of entries) {
    if (e.deadlineMs <= nowMs || e.signal?.aborted) {
      (dropped ??= []).push(e);
      continue;
    }
    if (!head) {
      head = e;
      picked.push(e);
      rows = e.rows;
      oldestMs = e.enqueuedAtMs;
      if (maxBatchSize === 0) break;
      continue;
    }
    if (e.key !== head.key) continue;
    const urgent = e.deadlineMs < urgentBeforeMs;
    if (rows >= limit) {
      // Full at the target: only urgent requests may still join.
      if (!urgent) break;
      if (rows + e.rows > maxBatchSize) continue;
    } else if (rows + e.rows > (urgent ? maxBatchSize : limit)) {
      // Rows are waiting that do not fit: the batch is as full as it gets.
      full = true;
      continue;
    }
    picked.push(e);
    rows += e.rows;
    if (e.enqueuedAtMs < oldestMs) oldestMs = e.enqueuedAtMs;
    if (rows >= maxBatchSize) break;
  }
  if (!head) return { kind: 'idle', dropped };
  if (maxBatchSize === 0 || policy.closing) return { kind: 'run', entries: picked, rows, dropped };

  if (!useCurve) {
    if (rows >= maxBatchSize || full) return { kind: 'run', entries: picked, rows, dropped };
    const preferred = policy.preferredBatchSizes.find((p) => p <= rows);
    if (preferred !== undefined) return { kind: 'run', ...take(picked, preferred, maxBatchSize, -Infinity), dropped };
    const untilMs = waitUntil(policy, oldestMs, nowMs);
    return untilMs === undefined ? { kind: 'run', entries: picked, rows, dropped } : { kind: 'wait', untilMs, dropped };
  }

  if (rows < limit && !full) {
    const untilMs = waitUntil(policy, oldestMs, nowMs);
    if (untilMs !== undefined) return { kind: 'wait', untilMs, dropped };
  }
  const target = curve.bestSize(Math.min(rows, limit));
  if (target >= rows) return { kind: 'run', entries: picked, rows, dropped };
  return { kind: 'run', ...take(picked, target, maxBatchSize, urgentBeforeMs), dropped };
}

/**
 * The first request, then those that fit in `target` rows, in order; urgent
 * ones (deadline before `urgentBeforeMs`) fit up to `maxRows`.
 */
function take<E extends BatchCandidate>(picked: readonly E[], target: number, maxRows: number, urgentBeforeMs: number): { entries: E[]; rows: number } {
  const entries: E[] = [picked[0]!];
  let rows = picked[0]!.rows;
  for (let i = 1; i < picked.length; i++) {
    const e = picked[i]!;
    if (rows + e.rows <= target || (e.deadlineMs < urgentBeforeMs && rows + e.rows <= maxRows)) {
      entries.push(e);
      rows += e.rows;
    }
  }
  return { entries, rows };
}

/** When the batch should next be looked at, if it is worth waiting for more rows; undefined: run now. */
function waitUntil(policy: BatchPolicy, oldestMs: number, nowMs: number): number | undefined {
  if (policy.backlog) return undefined;
  const untilMs = oldestMs + policy.maxQueueDelayMs;
  const leftMs = untilMs - nowMs;
  if (leftMs <= 0) return undefined;
  if (policy.arrivalGapMs !== undefined && policy.arrivalGapMs > policy.maxQueueDelayMs) return undefined;
  return untilMs;
}
