import { resourceExhausted } from '../../../shared/errors/index.js';

/**
 * What one ModelInferRequest may hold, checked while it is decoded from the
 * wire and before anything is allocated from a count or size it carries.
 */
export interface InferRequestLimits {
  /** Input tensors, and requested outputs, per request. Default 256. */
  maxTensors: number;
  /** Dimensions of one shape. Default 64. */
  maxShapeRank: number;
  /** Entries of one `parameters` map. Default 64. */
  maxParameters: number;
  /** Elements in typed `contents` fields, over all inputs of a request (raw inputs are views and do not count). Default 4194304 (4 Mi). */
  maxContentsElements: number;
  /** BYTES elements, raw or typed, over all inputs of a request. Default 1048576 (1 Mi). */
  maxBytesElements: number;
}

export const DEFAULT_INFER_REQUEST_LIMITS: Readonly<InferRequestLimits> = Object.freeze({
  maxTensors: 256,
  maxShapeRank: 64,
  maxParameters: 64,
  maxContentsElements: 4 * 1024 * 1024,
  maxBytesElements: 1024 * 1024,
});

/** Default largest request message, in bytes (`--max-request-bytes`). */
export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024;
/** Default node-wide budget of request bytes waiting or running (`--max-queued-request-bytes`). */
export const DEFAULT_MAX_QUEUED_REQUEST_BYTES = 512 * 1024 * 1024;
/** Default bound on requests read from one ModelStreamInfer stream and not yet answered. */
export const DEFAULT_MAX_UNANSWERED_PER_STREAM = 256;

/**
 * A node-wide budget of request bytes held between decode and answer. A
 * request that does not fit is refused with RESOURCE_EXHAUSTED instead of
 * being queued: with the per-request receive limit it bounds what clients can
 * make the node hold, however many connections they open.
 */
export class RequestByteBudget {
  #used = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held now. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Takes `bytes` from the budget, or throws RESOURCE_EXHAUSTED naming the flag. Pair with {@link release}. */
  acquire(bytes: number): void {
    if (this.#used + bytes > this.maxBytes && this.#used > 0) {
      throw resourceExhausted(
        `the node holds ${this.#used} bytes of requests; this one (${bytes} bytes) would pass its budget of ${this.maxBytes} (--max-queued-request-bytes): retry later`,
      );
    }
    this.#used += bytes;
  }

  release(bytes: number): void {
    this.#used -= bytes;
  }
}
