import type { Metadata } from '@grpc/grpc-js';
import { ROOT_CONTEXT, type Context, type Span, type Tracer } from '@opentelemetry/api';
import {
  DECIDED_SAMPLED_ROOT,
  RandomIds,
  TRACEPARENT_HEADER,
  decideSampled,
  extractFromMetadata,
  parseTraceparent,
  startDecidedServerSpan,
  unsampledContext,
  type TraceParent,
} from '../../../shared/telemetry/index.js';

/** A request that was decided sampled: its SERVER span and the context holding it (what every downstream span site hangs off). */
export interface RequestTrace {
  readonly span: Span;
  readonly context: Context;
  readonly traceId: string;
}

/** What {@link createRequestTracing} needs. */
export interface RequestTracingOptions {
  tracer: Tracer;
  /**
   * The node's `--trace-sampling` ratio for new traces (0..1). Absent: the
   * tracer's own sampler decides new traces that the model's rate does not
   * (a span is started and dropped when it does not record; for tests and
   * embedders that hand the node only a tracer).
   */
  nodeRatio?: number;
  /** Uniform draws in [0, 1). Default Math.random. */
  draw?: () => number;
}

/**
 * The inference node's per-request sampling (shared/telemetry
 * request-sampling.ts for the precedence): decided once, when the request's
 * model version is known, before any span object exists. A request that is
 * not sampled gets a trace id (its caller's, or a fresh random one) and
 * nothing else: no span, no context, no attributes.
 */
export class RequestTracing {
  readonly #tracer: Tracer;
  readonly #nodeRatio: number | undefined;
  readonly #draw: () => number;
  readonly #ids = new RandomIds();

  constructor(options: RequestTracingOptions) {
    this.#tracer = options.tracer;
    this.#nodeRatio = options.nodeRatio;
    this.#draw = options.draw ?? Math.random;
  }

  /** The caller's trace context from a call's metadata; null when it has none (or an invalid one). */
  parentOf(metadata: Metadata | undefined): TraceParent | null {
    const value = metadata?.get(TRACEPARENT_HEADER)[0];
    return parseTraceparent(typeof value === 'string' ? value : value?.toString()) ?? null;
  }

  /**
   * Decides whether the request is traced (`parent`: the caller's context,
   * from {@link parentOf}; `modelRate`: the model's `tracing.sampleRate`,
   * absent when it has none or the model is not known) and, when it is,
   * starts its SERVER span `spanName` (a child of the caller's context, read
   * with its `tracestate` from `metadata`). Undefined: not traced.
   */
  start(spanName: string, parent: TraceParent | null, modelRate: number | undefined, metadata: Metadata | undefined): RequestTrace | undefined {
    if (parent) {
      if (!parent.sampled) return undefined;
      return this.#started(spanName, extractFromMetadata(metadata, DECIDED_SAMPLED_ROOT));
    }
    if (modelRate === undefined && this.#nodeRatio === undefined) {
      // No ratio of our own: the tracer's sampler decides (a span object either way).
      const started = startDecidedServerSpan(this.#tracer, spanName, ROOT_CONTEXT);
      return started.span.isRecording() ? { ...started, traceId: started.span.spanContext().traceId } : undefined;
    }
    if (!decideSampled(undefined, modelRate, this.#nodeRatio ?? 1, this.#draw)) return undefined;
    return this.#started(spanName, DECIDED_SAMPLED_ROOT);
  }

  /** The trace id a request that is not traced reports: its caller's, or a fresh random one. */
  unsampledTraceId(parent: TraceParent | null): string {
    return parent ? parent.traceId : this.#ids.traceId();
  }

  /** The context that work done elsewhere for an untraced request runs under (a forward, registry calls): unsampled, in its trace id. */
  unsampledContext(traceId: string): Context {
    return unsampledContext(traceId, this.#ids.spanId());
  }

  #started(spanName: string, parent: Context): RequestTrace {
    const started = startDecidedServerSpan(this.#tracer, spanName, parent);
    return { span: started.span, context: started.context, traceId: started.span.spanContext().traceId };
  }
}

/** The node's request tracing, or undefined when it does not trace (no tracer: sampling `off`). */
export function createRequestTracing(tracer: Tracer | undefined, nodeRatio: number | undefined): RequestTracing | undefined {
  return tracer ? new RequestTracing({ tracer, ...(nodeRatio !== undefined ? { nodeRatio } : {}) }) : undefined;
}
