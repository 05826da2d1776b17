import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { formBatch, type BatchCandidate, type BatchDecision, type BatchPolicy } from './form-batch.js';
import type { CurveView } from './throughput-curve.js';

/** What dispatch reads of the queue: its entries in service order at a time. */
export interface OrderedQueue<E> {
  ordered(nowMs: number): Iterable<E>;
}

/** What dispatch reads of the free instance it decides for. */
export interface DispatchSlot {
  /** Its curve is to be measured on the first request's shapes. */
  readonly probePending: boolean;
  /** Undefined when the model does not batch. */
  readonly curve: CurveView | undefined;
}

/** What to do with one free instance: measure its curve on a request's shapes, or {@link formBatch}'s decision. */
export type Dispatch<E> = { readonly kind: 'probe'; readonly head: E; readonly dropped: undefined } | BatchDecision<E>;

/** The curve of a model that does not batch: nothing measured. */
export const NO_CURVE: CurveView = { measured: false, bestSize: (limit: number) => limit, batchMs: () => 0 };

/**
 * Decides what the free instance `slot` does next with the queue at `nowMs`.
 * Pure: the caller runs, waits, or removes what it returns. An instance whose
 * curve is pending measures it on the first live request (unless closing);
 * otherwise the batch is {@link formBatch}'s, on the slot's curve.
 */
export function nextDispatch<E extends BatchCandidate>(queue: OrderedQueue<E>, slot: DispatchSlot, policy: BatchPolicy, nowMs: number): Dispatch<E> {
  if (slot.probePending && !policy.closing) {
    const head = firstLive(queue.ordered(nowMs), nowMs);
    if (head) return { kind: 'probe', head, dropped: undefined };
  }
  return formBatch(queue.ordered(nowMs), policy, slot.curve ?? NO_CURVE, nowMs);
}

/** The first entry still worth running (deadline ahead, not cancelled). */
export function firstLive<E extends BatchCandidate>(entries: Iterable<E>, nowMs: number): E | undefined {
  for (const e of entries) if (isLive(e, nowMs)) return e;
  return undefined;
}

/** Entries past their deadline or cancelled; undefined when none. */
export function expiredEntries<E extends BatchCandidate>(entries: Iterable<E>, nowMs: number): E[] | undefined {
  let dead: E[] | undefined;
  for (const e of entries) if (!isLive(e, nowMs)) (dead ??= []).push(e);
  return dead;
}

/** Why a waiting entry is dropped: CANCELLED when its caller aborted, else DEADLINE_EXCEEDED with how long it waited. */
export function dropReason(entry: BatchCandidate, nowMs: number): InfermeshError {
  return entry.signal?.aborted
    ? new InfermeshError(Code.CANCELLED, 'the request was cancelled while it waited in the queue; it did not run')
    : new InfermeshError(Code.DEADLINE_EXCEEDED, `the deadline passed after ${Math.round(nowMs - entry.enqueuedAtMs)} ms in the queue; the request did not run`);
}

function isLive(e: BatchCandidate, nowMs: number): boolean {
  return e.deadlineMs > nowMs && !e.signal?.aborted;
}
