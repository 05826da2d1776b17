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

/** Random bytes drawn 4 KiB at a time, turned into hex in one call: an id is then a substring. */
const POOL_BYTES = 4096;

/**
 * Trace and span ids: hex from a pool of crypto-random bytes refilled 4 KiB
 * at a time (one `randomFillSync` and one hex conversion per 256 trace ids;
 * an id is a substring of it), never all zeros. The tracer provider's id
 * generator too (telemetry.ts): the SDK's draws Math.random() per 4 bytes
 * and converts each id through a Buffer, about 10% of a sampled span's cost
 * on the traced thread.
 */
export class RandomIds {
  readonly #pool = Buffer.allocUnsafe(POOL_BYTES);
  #hex = '';
  /** Next unused hex digit in `#hex`. */
  #offset = 0;

  /** 32 lowercase hex digits. */
  traceId(): string {
    return this.#take(32, ZERO_TRACE_ID);
  }

  /** 16 lowercase hex digits. */
  spanId(): string {
    return this.#take(16, ZERO_SPAN_ID);
  }

  /** The SDK's IdGenerator. */
  generateTraceId(): string {
    return this.#take(32, ZERO_TRACE_ID);
  }

  generateSpanId(): string {
    return this.#take(16, ZERO_SPAN_ID);
  }

  #take(digits: number, zero: string): string {
    for (;;) {
      if (this.#offset + digits > this.#hex.length) {
        randomFillSync(this.#pool);
        this.#hex = this.#pool.toString('hex');
        this.#offset = 0;
      }
      const id = this.#hex.substring(this.#offset, this.#offset + digits);
      this.#offset += digits;
      // All zeros is an invalid id (probability 2^-64 or less): draw again.
      if (id !== zero) return id;
    }
  }
}

/**
 * `ms` since the epoch (sub-ms precision, e.g. shared/clock's epochClock) as
 * the SDK's HrTime, converted as the SDK's own millisToHrTime does. Spans
 * given HrTimes take them as they are: given numbers, the SDK reads
 * performance.now() once more per start and per end to tell epoch times from
 * performance times.
 */
export function epochMsToHrTime(ms: number): [number, number] {
  const seconds = Math.trunc(ms / 1000);
  return [seconds, Math.round((ms % 1000) * 1e6)];
}
