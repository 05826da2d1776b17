import { context as contextApi, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { clientAttributes, injectIntoHeaders, recordSpanError, TRACEPARENT_HEADER, type RegistryMetrics } from '../../../shared/telemetry/index.js';

/**
 * What the registry traces and counts with, created once at the process entry
 * point (`createTelemetry`) and passed to the service: SERVER spans for every
 * call, `upload`, `commit` and `publish` spans, and the registry's metrics.
 */
export interface RegistryTelemetry {
  readonly tracer: Tracer;
  /** `telemetry.metrics.registry`; none = no metrics. */
  readonly metrics?: RegistryMetrics;
}

/** Names of the registry's own spans. */
export const REGISTRY_SPAN_NAMES = {
  /** Receiving, hashing and checking an uploaded artifact. */
  upload: 'upload',
  /** One database transaction that changes the registry (and appends its event). */
  commit: 'commit',
} as const;

/** Runs `fn` in an INTERNAL span `name`, a child of the active context, when `tracer` is given; ERROR when it throws. `attributes` may name what a client sent (a model): bounded. */
export async function withSpan<T>(tracer: Tracer | undefined, name: string, fn: () => Promise<T>, attributes?: Attributes): Promise<T> {
  if (!tracer) return fn();
  const span = tracer.startSpan(name, attributes ? { attributes: clientAttributes(attributes) } : {});
  try {
    return await contextApi.with(trace.setSpan(contextApi.active(), span), fn);
  } catch (err) {
    recordSpanError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** The W3C `traceparent` of the active context, to store with an outbox event; undefined outside a trace. */
export function activeTraceparent(): string | undefined {
  return injectIntoHeaders(new Map<string, string>()).get(TRACEPARENT_HEADER);
}
