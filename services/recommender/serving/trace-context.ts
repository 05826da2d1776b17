import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';

/** A W3C trace context for one request: its trace id, and the `traceparent` to send downstream unless a tracer's client span injects one. */
export interface TraceContext {
  traceId: string;
  metadata: Metadata | undefined;
}

/**
 * The trace of the current request. Inside an OpenTelemetry span (the server
 * span of a traced process) it is that span's trace, and the traced inference
 * client injects the context itself. Without telemetry it continues the
 * caller's `traceparent` when valid, else starts a trace, and the downstream
 * call gets a new span id under the same trace.
 */
export function traceContextFrom(incoming?: Metadata): TraceContext {
  const active = trace.getActiveSpan()?.spanContext();
  if (active && trace.isSpanContextValid(active)) return { traceId: active.traceId, metadata: undefined };
  const header = incoming?.get('traceparent')[0];
  const m = typeof header === 'string' ? /^00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$/.exec(header) : null;
  const traceId = m && !/^0+$/.test(m[1]!) ? m[1]! : randomBytes(16).toString('hex');
  const metadata = new Metadata();
  metadata.set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-${m ? m[2]! : '01'}`);
  return { traceId, metadata };
}
