import { context as contextApi, trace, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Metadata } from '@grpc/grpc-js';

/**
 * W3C trace context (`traceparent`, `tracestate`) across process boundaries:
 * gRPC metadata and NATS message headers. These helpers use their own
 * propagator instance, so they work without a global propagator.
 */
const propagator = new W3CTraceContextPropagator();

/** The header that carries the trace context (W3C Trace Context). */
export const TRACEPARENT_HEADER = 'traceparent';

const metadataSetter: TextMapSetter<Metadata> = {
  set: (metadata, key, value) => metadata.set(key, value),
};
const metadataGetter: TextMapGetter<Metadata> = {
  get: (metadata, key) => {
    const values = metadata.get(key);
    return values.length === 0 ? undefined : values.map((v) => (typeof v === 'string' ? v : v.toString()));
  },
  keys: (metadata) => Object.keys(metadata.getMap()),
};

/** Writes the trace context of `ctx` (default: the active context) into outgoing gRPC metadata. */
export function injectIntoMetadata(metadata: Metadata, ctx: Context = contextApi.active()): Metadata {
  propagator.inject(ctx, metadata, metadataSetter);
  return metadata;
}

/** The context carried by incoming gRPC metadata, on top of `ctx` (default: the active context). */
export function extractFromMetadata(metadata: Metadata | undefined, ctx: Context = contextApi.active()): Context {
  return metadata ? propagator.extract(ctx, metadata, metadataGetter) : ctx;
}

/**
 * Message headers as NATS exposes them (`MsgHdrs` from @nats-io/nats-core fits:
 * `get` returns `''` for a missing key), or any map-like carrier.
 */
export interface HeaderCarrier {
  get(key: string): string | undefined | null;
  set(key: string, value: string): void;
}

const headerSetter: TextMapSetter<HeaderCarrier> = { set: (headers, key, value) => headers.set(key, value) };
const headerGetter: TextMapGetter<HeaderCarrier> = {
  get: (headers, key) => headers.get(key) || undefined,
  keys: () => [TRACEPARENT_HEADER, 'tracestate'],
};

/** Writes the trace context of `ctx` (default: the active context) into message headers (NATS publish). */
export function injectIntoHeaders<H extends HeaderCarrier>(headers: H, ctx: Context = contextApi.active()): H {
  propagator.inject(ctx, headers, headerSetter);
  return headers;
}

/** The context carried by message headers (NATS consume), on top of `ctx` (default: the active context). */
export function extractFromHeaders(headers: HeaderCarrier | undefined, ctx: Context = contextApi.active()): Context {
  return headers ? propagator.extract(ctx, headers, headerGetter) : ctx;
}

/** The trace id (32 hex digits) of the span active in `ctx`, or undefined when there is none or it is invalid. */
export function traceIdOf(ctx: Context = contextApi.active()): string | undefined {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
