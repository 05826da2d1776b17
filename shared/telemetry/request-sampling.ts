import { randomFillSync } from 'node:crypto';
import { createContextKey, ROOT_CONTEXT, trace, TraceFlags, type Context, type SpanContext } from '@opentelemetry/api';

/**
 * Sampling decided once, where a request enters, before any span object
 * exists: a request that is not sampled then makes no span, no context and no
 * attribute object anywhere downstream (every span site checks one field).
 *
 * Precedence (highest first): the node's `--trace-sampling off` (no tracer at
 * all: nothing here runs) > the caller's `traceparent` (parent-based: a
 * sampled parent is always traced, an unsampled one never) > the model's own
 * `tracing.sampleRate` (config.json) > the node's `--trace-sampling` ratio.
 */

/** The part of a W3C `traceparent` the decision needs. */
export interface TraceParent {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  /** The caller's sampled flag. */
  sampled: boolean;
}

// version 00 (and future versions, which keep this prefix) - trace id - parent id - flags.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/**
 * Parses a `traceparent` header value as the W3C propagator does (version
 * `ff` and all-zero ids are invalid; version 00 takes nothing after the
 * flags); undefined when absent or invalid (then the request is a new root).
 */
export function parseTraceparent(value: string | undefined): TraceParent | undefined {
  if (value === undefined) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & TraceFlags.SAMPLED) !== 0 };
}

/**
 * Whether a request is traced, by the precedence above (the node's `off` is
 * decided before: an untraced node never asks). `draw` returns a uniform
 * number in [0, 1): a rate of 1 always samples, 0 never.
 */
export function decideSampled(parent: TraceParent | undefined, modelRate: number | undefined, nodeRatio: number, draw: () => number = Math.random): boolean {
  if (parent) return parent.sampled;
  const rate = modelRate ?? nodeRatio;
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return draw() < rate;
}

/**
 * A context value that tells the project's sampler (telemetry.ts) that the
 * decision to sample was made already (the model's rate can sample where the
 * node's ratio would not): a root span started in {@link DECIDED_SAMPLED_ROOT}
 * is sampled whatever the ratio.
 */
export const SAMPLING_DECIDED_KEY = createContextKey('infermesh.sampling-decided');

/** The parent context of a root span that was decided sampled: made once. */
export const DECIDED_SAMPLED_ROOT: Context = ROOT_CONTEXT.setValue(SAMPLING_DECIDED_KEY, true);

/** The parent context of a span under the caller's sampled `parent` (decided, like {@link DECIDED_SAMPLED_ROOT}). */
export function sampledParentContext(parent: TraceParent): Context {
  const spanContext: SpanContext = { traceId: parent.traceId, spanId: parent.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true };
  return trace.setSpanContext(DECIDED_SAMPLED_ROOT, spanContext);
}

/**
 * A context that holds a non-recording, unsampled span of `traceId`: what
 * calls made on behalf of an unsampled request run under (a forward to a
 * peer, registry calls), so they are not traced either and the peer continues
 * the same trace id, unsampled. Made only off the hot path (a request that
 * leaves the node).
 */
export function unsampledContext(traceId: string, spanId: string): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.NONE, isRemote: false });
}

/** Random bytes drawn 4 KiB at a time: a trace id then costs one hex conversion. */
const POOL_BYTES = 4096;

/**
 * Trace and span ids for requests that are not sampled but still report a
 * trace id: hex from a pool of crypto-random bytes refilled 4 KiB at a time
 * (one `randomFillSync` per 256 trace ids), never all zeros.
 */
export class RandomIds {
  readonly #pool = Buffer.allocUnsafe(POOL_BYTES);
  #offset = POOL_BYTES;

  /** 32 lowercase hex digits. */
  traceId(): string {
    return this.#hex(16);
  }

  /** 16 lowercase hex digits. */
  spanId(): string {
    return this.#hex(8);
  }

  #hex(bytes: number): string {
    if (this.#offset + bytes > POOL_BYTES) {
      randomFillSync(this.#pool);
      this.#offset = 0;
    }
    const start = this.#offset;
    this.#offset += bytes;
    // All zeros is an invalid id (probability 2^-64 or less): make one bit non-zero.
    if (this.#pool[start] === 0) this.#pool[start] = 1;
    return this.#pool.toString('hex', start, start + bytes);
  }
}
