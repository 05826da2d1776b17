import { afterEach, describe, expect, it } from 'vitest';
import { Metadata } from '@grpc/grpc-js';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createTelemetry, type Telemetry } from '../../../shared/telemetry/index.js';
import { RequestTracing } from './request-tracing.js';

const NAME = 'inference.GRPCInferenceService/ModelInfer';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

const open: Telemetry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.shutdown()));
});
async function tracerAt(samplingRatio: number) {
  const t = await createTelemetry({ serviceName: 'unit', exporter: new InMemorySpanExporter(), samplingRatio, defaultMetrics: false });
  open.push(t);
  return t.tracer;
}
const metadataWith = (traceparent: string) => {
  const m = new Metadata();
  m.set('traceparent', traceparent);
  m.set('tracestate', 'vendor=x');
  return m;
};

describe('RequestTracing', () => {
  it("reads a call's traceparent once into a parent (null without one)", async () => {
    const tracing = new RequestTracing({ tracer: await tracerAt(1), nodeRatio: 1 });
    expect(tracing.parentOf(new Metadata())).toBeNull();
    expect(tracing.parentOf(undefined)).toBeNull();
    expect(tracing.parentOf(metadataWith(`00-${TRACE}-${SPAN}-01`))).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true });
    expect(tracing.parentOf(metadataWith('garbage'))).toBeNull();
  });

  it("starts a span only when the decision says so: the model's rate over the node's ratio", async () => {
    const tracing = new RequestTracing({ tracer: await tracerAt(0), nodeRatio: 0, draw: () => 0.5 });
    expect(tracing.start(NAME, null, undefined, undefined)).toBeUndefined();
    expect(tracing.start(NAME, null, 0.4, undefined)).toBeUndefined();
    const sampled = tracing.start(NAME, null, 0.6, undefined);
    expect(sampled?.span.isRecording()).toBe(true);
    expect(sampled?.traceId).toBe(sampled?.span.spanContext().traceId);
    const everyRequest = new RequestTracing({ tracer: await tracerAt(0), nodeRatio: 1 });
    expect(everyRequest.start(NAME, null, undefined, undefined)?.span.isRecording()).toBe(true);
    expect(everyRequest.start(NAME, null, 0, undefined)).toBeUndefined();
  });

  it("follows the caller: a sampled parent is continued (its tracestate too), an unsampled one never traced", async () => {
    const tracing = new RequestTracing({ tracer: await tracerAt(0), nodeRatio: 0 });
    const sampledMetadata = metadataWith(`00-${TRACE}-${SPAN}-01`);
    const started = tracing.start(NAME, tracing.parentOf(sampledMetadata), 0, sampledMetadata);
    expect(started?.traceId).toBe(TRACE);
    expect(started?.span.spanContext().traceState?.get('vendor')).toBe('x');
    const unsampledMetadata = metadataWith(`00-${TRACE}-${SPAN}-00`);
    const parent = tracing.parentOf(unsampledMetadata);
    expect(tracing.start(NAME, parent, 1, unsampledMetadata)).toBeUndefined();
    expect(tracing.unsampledTraceId(parent)).toBe(TRACE);
  });

  it('gives an untraced request without a parent a fresh trace id each time', async () => {
    const tracing = new RequestTracing({ tracer: await tracerAt(0), nodeRatio: 0 });
    const a = tracing.unsampledTraceId(null);
    const b = tracing.unsampledTraceId(null);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
  });

  it("without a node ratio, leaves new traces to the tracer's own sampler", async () => {
    expect(new RequestTracing({ tracer: await tracerAt(1) }).start(NAME, null, undefined, undefined)?.span.isRecording()).toBe(true);
    expect(new RequestTracing({ tracer: await tracerAt(0) }).start(NAME, null, undefined, undefined)).toBeUndefined();
    // The model's rate still decides over it.
    expect(new RequestTracing({ tracer: await tracerAt(0) }).start(NAME, null, 1, undefined)?.span.isRecording()).toBe(true);
  });
});
