import { describe, expect, it } from 'vitest';
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Code, InfermeshError } from '../errors/index.js';
import { CLIPPED_MARKER, MAX_CLIENT_ATTRIBUTE_CHARS, MAX_CLIENT_ATTRIBUTE_ITEMS, MAX_SPAN_ERROR_MESSAGE_CHARS } from './client-attributes.js';
import { clientAttributes, recordSpanError, setClientAttribute, setClientAttributes } from './client-attributes.js';
import { endRpcSpan } from './rpc-spans.js';

function tracer() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { tracer: provider.getTracer('test'), spans: (): ReadableSpan[] => exporter.getFinishedSpans() };
}

describe('client attributes', () => {
  it('cuts strings to the cap with a marker, arrays to the count, and leaves short values and numbers alone', () => {
    const long = 'm'.repeat(10_000);
    const capped = clientAttributes({ name: long, short: 'mlp', n: 7, list: Array.from({ length: 100 }, (_, i) => `v${i}`), longs: [long] });
    expect(capped.name).toHaveLength(MAX_CLIENT_ATTRIBUTE_CHARS);
    expect((capped.name as string).endsWith(CLIPPED_MARKER)).toBe(true);
    expect(capped.short).toBe('mlp');
    expect(capped.n).toBe(7);
    expect(capped.list).toHaveLength(MAX_CLIENT_ATTRIBUTE_ITEMS);
    expect((capped.longs as string[])[0]).toHaveLength(MAX_CLIENT_ATTRIBUTE_CHARS);
    expect(clientAttributes({ s: 'x'.repeat(MAX_CLIENT_ATTRIBUTE_CHARS) }).s).toBe('x'.repeat(MAX_CLIENT_ATTRIBUTE_CHARS));
  });

  it('redacts secret-named keys and credential-shaped text', () => {
    const { tracer: t, spans } = tracer();
    const span = t.startSpan('s');
    setClientAttribute(span, 'http.request.header.authorization', 'Bearer abc.def.ghi');
    setClientAttributes(span, { 'user_agent.original': 'agent Bearer xyz123', 'infermesh.model.name': 'mlp' });
    span.end();
    const attrs = spans()[0]!.attributes;
    expect(attrs['http.request.header.authorization']).toBe('<redacted>');
    expect(attrs['user_agent.original']).toBe('agent Bearer <redacted>');
    expect(attrs['infermesh.model.name']).toBe('mlp');
  });

  it("span errors carry the logMessage, cut, in the status and the exception event (stack included), never the caller's data", () => {
    const { tracer: t, spans } = tracer();
    const err = new InfermeshError(Code.INVALID_ARGUMENT, `element 3 (424242.5) is not a number ${'z'.repeat(5000)}`, { logMessage: 'element 3 is not a number' });
    const a = t.startSpan('a');
    endRpcSpan(a, err);
    const b = t.startSpan('b');
    recordSpanError(b, new Error(`q${'y'.repeat(5000)}`));
    b.end();
    const [sa, sb] = spans();
    expect(sa!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'INVALID_ARGUMENT: element 3 is not a number' });
    expect(JSON.stringify(sa!.events)).not.toContain('424242');
    expect(sa!.events[0]!.attributes!['exception.message']).toBe('element 3 is not a number');
    expect(String(sa!.events[0]!.attributes!['exception.stacktrace'])).toMatch(/^InfermeshError: element 3 is not a number\n {4}at /);
    expect(sb!.status.message).toHaveLength(MAX_SPAN_ERROR_MESSAGE_CHARS);
    expect(sb!.status.message!.endsWith(CLIPPED_MARKER)).toBe(true);
  });
});
