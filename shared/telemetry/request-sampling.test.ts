import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { DECIDED_SAMPLED_ROOT, RandomIds, decideSampled, parseTraceparent, sampledParentContext, unsampledContext } from './request-sampling.js';
import { createTelemetry, type Telemetry } from './telemetry.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it('reads the trace id, the parent id and the sampled flag', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)).toEqual({ traceId: TRACE, spanId: SPAN, sampled: false });
    // Other flag bits do not make it sampled; a future version may carry more fields.
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-02`)?.sampled).toBe(false);
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-03-extra`)?.sampled).toBe(true);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['version 00 with more fields', `00-${TRACE}-${SPAN}-01-extra`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['an all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['a short trace id', `00-${TRACE.slice(2)}-${SPAN}-01`],
  ])('is undefined for %s (the request is then a new root)', (_name, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});

describe('decideSampled: caller > model > node', () => {
  const sampledParent = { traceId: TRACE, spanId: SPAN, sampled: true };
  const unsampledParent = { ...sampledParent, sampled: false };
  const never = () => {
    throw new Error('no draw expected');
  };

  it("follows the caller's flag whatever the model's rate and the node's ratio", () => {
    expect(decideSampled(sampledParent, 0, 0, never)).toBe(true);
    expect(decideSampled(unsampledParent, 1, 1, never)).toBe(false);
  });

  it("takes the model's rate over the node's ratio", () => {
    expect(decideSampled(undefined, 0, 1, never)).toBe(false);
    expect(decideSampled(undefined, 1, 0, never)).toBe(true);
    expect(decideSampled(undefined, 0.25, 1, () => 0.2)).toBe(true);
    expect(decideSampled(undefined, 0.25, 1, () => 0.3)).toBe(false);
  });

  it("falls back to the node's ratio when the model has none", () => {
    expect(decideSampled(undefined, undefined, 1, never)).toBe(true);
    expect(decideSampled(undefined, undefined, 0, never)).toBe(false);
    expect(decideSampled(undefined, undefined, 0.01, () => 0.005)).toBe(true);
    expect(decideSampled(undefined, undefined, 0.01, () => 0.5)).toBe(false);
  });

  it('samples about the ratio of requests over many draws', () => {
    let seed = 12345;
    const draw = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let sampled = 0;
    for (let i = 0; i < 100_000; i++) if (decideSampled(undefined, 0.1, 1, draw)) sampled++;
    expect(sampled).toBeGreaterThan(9_000);
    expect(sampled).toBeLessThan(11_000);
  });
});

describe('RandomIds', () => {
  it('makes distinct valid trace and span ids, across pool refills', () => {
    const ids = new RandomIds();
    const traces = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = ids.traceId();
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(id).not.toBe('0'.repeat(32));
      traces.add(id);
    }
    expect(traces.size).toBe(1000);
    expect(ids.spanId()).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("the project's sampler and a decision made at request entry", () => {
  const open: Telemetry[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.shutdown()));
  });
  async function at(samplingRatio: number) {
    const exporter = new InMemorySpanExporter();
    const t = await createTelemetry({ serviceName: 'unit', exporter, samplingRatio, defaultMetrics: false });
    open.push(t);
    return { t, exporter };
  }

  it('samples a root started in DECIDED_SAMPLED_ROOT under a node ratio of 0, and its children', async () => {
    const { t, exporter } = await at(0);
    const root = t.tracer.startSpan('decided', {}, DECIDED_SAMPLED_ROOT);
    expect(root.isRecording()).toBe(true);
    t.tracer.startSpan('child', {}, trace.setSpan(DECIDED_SAMPLED_ROOT, root)).end();
    root.end();
    // Without the decision, the ratio of 0 drops a root.
    expect(t.tracer.startSpan('plain', {}, ROOT_CONTEXT).isRecording()).toBe(false);
    await t.forceFlush();
    expect(exporter.getFinishedSpans().map((s) => s.name).sort()).toEqual(['child', 'decided']);
  });

  it("continues a caller's sampled context as its child, and never records under an unsampled one", async () => {
    const { t, exporter } = await at(0);
    const parent = { traceId: TRACE, spanId: SPAN, sampled: true };
    const span = t.tracer.startSpan('server', {}, sampledParentContext(parent));
    expect(span.spanContext().traceId).toBe(TRACE);
    span.end();
    const unsampled = t.tracer.startSpan('forward', {}, unsampledContext(TRACE, SPAN));
    expect(unsampled.isRecording()).toBe(false);
    await t.forceFlush();
    const [server] = exporter.getFinishedSpans();
    expect(server?.parentSpanContext?.spanId).toBe(SPAN);
  });
});
