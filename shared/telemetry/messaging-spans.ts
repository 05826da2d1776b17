import { context as contextApi, trace, SpanKind, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { ATTR_MESSAGING_DESTINATION, ATTR_MESSAGING_SYSTEM } from './attributes.js';
import { recordSpanError } from './client-attributes.js';
import { extractFromHeaders, injectIntoHeaders, type HeaderCarrier } from './propagation.js';
import { runInSpan } from './run-in-span.js';

/**
 * Spans for NATS messages (OpenTelemetry messaging conventions:
 * `messaging.system=nats`, `messaging.destination.name`, names
 * `publish <subject>` / `process <subject>`), with the trace context carried
 * in the message headers (`traceparent`).
 */

function endWith(span: Span, err?: unknown): void {
  if (err !== undefined) recordSpanError(span, err);
  span.end();
}

/**
 * Runs a publish in a PRODUCER span: `fn` receives `headers` (e.g. NATS
 * `headers()`) with the span's trace context written into them, to pass to
 * `publish`.
 */
export async function withPublishSpan<H extends HeaderCarrier, T>(
  tracer: Tracer,
  subject: string,
  headers: H,
  fn: (headers: H, span: Span) => Promise<T> | T,
  attributes?: Attributes,
): Promise<T> {
  const span = tracer.startSpan(`publish ${subject}`, {
    kind: SpanKind.PRODUCER,
    attributes: { [ATTR_MESSAGING_SYSTEM]: 'nats', [ATTR_MESSAGING_DESTINATION]: subject, ...attributes },
  });
  const ctx = trace.setSpan(contextApi.active(), span);
  injectIntoHeaders(headers, ctx);
  return runInSpan(span, ctx, () => fn(headers, span), endWith);
}

/**
 * Runs the handling of one consumed message in a CONSUMER span, a child of
 * the trace context in the message's headers (a root span when it has none).
 */
export async function withConsumeSpan<T>(
  tracer: Tracer,
  subject: string,
  headers: HeaderCarrier | undefined,
  fn: (span: Span) => Promise<T> | T,
  attributes?: Attributes,
): Promise<T> {
  const parent = extractFromHeaders(headers, contextApi.active());
  const span = tracer.startSpan(
    `process ${subject}`,
    { kind: SpanKind.CONSUMER, attributes: { [ATTR_MESSAGING_SYSTEM]: 'nats', [ATTR_MESSAGING_DESTINATION]: subject, ...attributes } },
    parent,
  );
  return runInSpan(span, trace.setSpan(parent, span), () => fn(span), endWith);
}
