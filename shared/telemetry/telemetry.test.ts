import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  Server,
  type Client,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { Code, notFound } from '../errors/index.js';
import { freePort } from '../net/index.js';
import { bindServer } from '../rpc/index.js';
import { ATTR_MODEL_NAME, SPAN_NAMES } from './attributes.js';
import { createTelemetry, parseSampling, type Telemetry } from './telemetry.js';
import { extractFromHeaders, extractFromMetadata, injectIntoHeaders, injectIntoMetadata, traceIdOf } from './propagation.js';
import { traceUnaryHandler, withClientSpan } from './rpc-spans.js';
import { withConsumeSpan, withPublishSpan } from './messaging-spans.js';

const open: Telemetry[] = [];
async function telemetry(options: Parameters<typeof createTelemetry>[0]): Promise<Telemetry> {
  // Every span sampled unless a test says otherwise (the production default is 1%).
  const t = await createTelemetry({ defaultMetrics: false, env: { INFERMESH_TRACE_SAMPLING: '1' }, ...options });
  open.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.shutdown()));
});

function byName(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  if (!span) throw new Error(`no span named ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return span;
}

describe('createTelemetry', () => {
  it('records spans with the service name and exports them on flush', async () => {
    const exporter = new InMemorySpanExporter();
    const t = await telemetry({ serviceName: 'unit', exporter });
    t.tracer.startActiveSpan('outer', (outer) => {
      t.tracer.startSpan('inner').end();
      outer.end();
    });
    await t.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(['inner', 'outer']);
    const outer = byName(spans, 'outer');
    const inner = byName(spans, 'inner');
    expect(inner.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(outer.resource.attributes['service.name']).toBe('unit');
  });

  it('records links, as a batch span links to the requests it served', async () => {
    const exporter = new InMemorySpanExporter();
    const t = await telemetry({ serviceName: 'unit', exporter });
    const a = t.tracer.startSpan('request-a');
    const b = t.tracer.startSpan('request-b');
    const batch = t.tracer.startSpan(SPAN_NAMES.batch, {
      links: [{ context: a.spanContext() }, { context: b.spanContext() }],
      attributes: { [ATTR_MODEL_NAME]: 'm' },
    });
    batch.end();
    a.end();
    b.end();
    await t.forceFlush();
    const exported = byName(exporter.getFinishedSpans(), 'batch');
    expect(exported.links.map((l) => l.context.spanId)).toEqual([a.spanContext().spanId, b.spanContext().spanId]);
    expect(exported.links[0]!.context.traceId).toBe(a.spanContext().traceId);
  });

  it('samples nothing when off, and takes its ratio from INFERMESH_TRACE_SAMPLING', async () => {
    const exporter = new InMemorySpanExporter();
    const off = await telemetry({ serviceName: 'unit', exporter, env: { INFERMESH_TRACE_SAMPLING: 'off' } });
    expect(off.sampling).toBe('off');
    const span = off.tracer.startSpan('ignored');
    expect(span.isRecording()).toBe(false);
    span.end();
    await off.forceFlush();
    expect(exporter.getFinishedSpans()).toHaveLength(0);

    const sparse = await telemetry({ serviceName: 'unit', exporter, env: { INFERMESH_TRACE_SAMPLING: '0.01' } });
    expect(sparse.sampling).toBe(0.01);
    let sampled = 0;
    for (let i = 0; i < 2000; i++) {
      const s = sparse.tracer.startSpan('maybe');
      if (s.isRecording()) sampled++;
      s.end();
    }
    // 1% of 2000 is 20; a ratio sampler that ignored its setting would record all or none.
    expect(sampled).toBeGreaterThan(0);
    expect(sampled).toBeLessThan(200);

    expect(parseSampling('1.0')).toBe(1);
    expect(() => parseSampling('2')).toThrow(/from 0 to 1/);
    await expect(createTelemetry({ serviceName: 'unit', env: { INFERMESH_TRACE_SAMPLING: 'lots' } })).rejects.toThrow(/"lots"/);
  });

  it('defaults to parent-based sampling of 1% of new traces (production)', async () => {
    const t = await telemetry({ serviceName: 'unit', exporter: new InMemorySpanExporter(), env: {} });
    expect(t.sampling).toBe(0.01);
    // Over the OTLP path as well (no exporter injected): the same default, the local monitor as endpoint.
    const otlp = await telemetry({ serviceName: 'unit', env: {} });
    expect(otlp.sampling).toBe(0.01);
    expect(otlp.otlpEndpoint).toBe('http://127.0.0.1:4317');
  });

  it('follows a sampled remote parent even at ratio 0 (parent-based)', async () => {
    const exporter = new InMemorySpanExporter();
    const t = await telemetry({ serviceName: 'unit', exporter, samplingRatio: 0 });
    expect(t.tracer.startSpan('root').isRecording()).toBe(false);
    const metadata = new Metadata();
    metadata.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    const child = t.tracer.startSpan('child', {}, extractFromMetadata(metadata));
    expect(child.isRecording()).toBe(true);
    expect(child.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    child.end();
  });
});

describe('context propagation', () => {
  it('round-trips through grpc Metadata and NATS headers as W3C traceparent', async () => {
    const exporter = new InMemorySpanExporter();
    const t = await telemetry({ serviceName: 'unit', exporter });
    const span = t.tracer.startSpan('publish');
    const ctx = trace.setSpan(context.active(), span);
    const { traceId, spanId } = span.spanContext();

    const metadata = injectIntoMetadata(new Metadata(), ctx);
    expect(metadata.get('traceparent')[0]).toBe(`00-${traceId}-${spanId}-01`);
    expect(trace.getSpanContext(extractFromMetadata(metadata))).toMatchObject({ traceId, spanId, isRemote: true });

    const hdrs = injectIntoHeaders(natsHeaders(), ctx);
    expect(hdrs.get('traceparent')).toBe(`00-${traceId}-${spanId}-01`);
    const consumed = extractFromHeaders(hdrs);
    expect(traceIdOf(consumed)).toBe(traceId);
    expect(traceIdOf(extractFromHeaders(natsHeaders()))).toBeUndefined();
    span.end();
  });
});

describe('NATS message spans', () => {
  it('links a consumer span to its producer through the message headers', async () => {
    const exporter = new InMemorySpanExporter();
    const t = await telemetry({ serviceName: 'unit', exporter });
    const sent = await withPublishSpan(t.tracer, 'infermesh.predictions.m', natsHeaders(), (hdrs) => hdrs);
    await expect(
      withConsumeSpan(t.tracer, 'infermesh.predictions.m', sent, () => {
        throw new Error('bad record');
      }),
    ).rejects.toThrow('bad record');
    await t.forceFlush();
    const producer = byName(exporter.getFinishedSpans(), 'publish infermesh.predictions.m');
    const consumer = byName(exporter.getFinishedSpans(), 'process infermesh.predictions.m');
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': 'infermesh.predictions.m' });
    expect(consumer.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'bad record' });
  });
});

describe('gRPC spans across a real client and server', () => {
  const json = {
    serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
    deserialize: (b: Buffer) => JSON.parse(b.toString()) as { name: string },
  };
  const definition: ServiceDefinition = {
    Echo: {
      path: '/test.v1.Echo/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: json.serialize,
      requestDeserialize: json.deserialize,
      responseSerialize: json.serialize,
      responseDeserialize: json.deserialize,
    },
  };
  let server: Server | undefined;
  let client: Client | undefined;
  afterAll(() => {
    client?.close();
    server?.forceShutdown();
  });

  it('makes the server span a child of the client span, with RPC attributes and status codes', async () => {
    const exporter = new InMemorySpanExporter();
    const t = await telemetry({ serviceName: 'unit', exporter });
    server = new Server();
    server.addService(definition, {
      Echo: traceUnaryHandler<{ name: string }, { name: string }>(t.tracer, 'test.v1.Echo/Echo', (call, callback) => {
        // Work inside the handler runs in the server span's context.
        t.tracer.startSpan('handler-work').end();
        if (call.request.name === 'missing') callback(notFound('no such name').toServiceError());
        else callback(null, { name: call.request.name });
      }),
    });
    const port = await bindServer(server, '127.0.0.1', 0);
    const Ctor = makeGenericClientConstructor(definition, 'Echo');
    client = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure());
    const call = (name: string) =>
      withClientSpan(t.tracer, 'test.v1.Echo/Echo', (metadata) =>
        new Promise<unknown>((resolve, reject) =>
          (client as unknown as Record<string, Function>).Echo!({ name }, metadata, (err: ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res))),
        ),
      );

    await expect(call('hello')).resolves.toEqual({ name: 'hello' });
    await expect(call('missing')).rejects.toMatchObject({ code: Code.NOT_FOUND });
    await t.forceFlush();

    const spans = exporter.getFinishedSpans();
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
    const work = spans.filter((s) => s.name === 'handler-work');
    expect(clients).toHaveLength(2);
    expect(servers).toHaveLength(2);
    expect(work).toHaveLength(2);
    for (const clientSpan of clients) {
      const serverSpan = servers.find((s) => s.spanContext().traceId === clientSpan.spanContext().traceId)!;
      expect(serverSpan.parentSpanContext?.spanId).toBe(clientSpan.spanContext().spanId);
      expect(serverSpan.name).toBe('test.v1.Echo/Echo');
      expect(serverSpan.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'test.v1.Echo', 'rpc.method': 'Echo' });
    }
    const workParents = new Set(work.map((w) => w.parentSpanContext?.spanId));
    expect(workParents).toEqual(new Set(servers.map((s) => s.spanContext().spanId)));

    const failed = servers.find((s) => s.attributes['rpc.grpc.status_code'] === Code.NOT_FOUND)!;
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.status.message).toMatch(/NOT_FOUND: no such name/);
    expect(servers.find((s) => s.attributes['rpc.grpc.status_code'] === Code.OK)!.status.code).toBe(SpanStatusCode.UNSET);
    expect(clients.find((s) => s.attributes['rpc.grpc.status_code'] === Code.NOT_FOUND)?.status.code).toBe(SpanStatusCode.ERROR);
  });
});

/** An exporter that holds every export until released, to fill the processor's queue. */
class StalledExporter implements SpanExporter {
  private pending: Array<(r: ExportResult) => void> = [];
  private released = false;
  export(_spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    if (this.released) done({ code: ExportResultCode.SUCCESS });
    else this.pending.push(done);
  }
  /** Completes the held exports, and every later one at once. */
  release(): void {
    this.released = true;
    for (const done of this.pending.splice(0)) done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {
    this.release();
  }
}

describe('the export pipeline never blocks the traced program', () => {
  it('drops spans when the queue is full and counts them', async () => {
    const exporter = new StalledExporter();
    const t = await telemetry({ serviceName: 'unit', exporter, maxQueueSize: 4, maxExportBatchSize: 4, scheduledDelayMs: 60_000 });
    // 4 spans go out in one (stalled) export, 4 fill the queue, 3 are dropped.
    for (let i = 0; i < 11; i++) t.tracer.startSpan(`s${i}`).end();
    expect((await t.metrics.telemetry.spansDroppedTotal.get()).values[0]!.value).toBe(3);
    exporter.release();
    await t.forceFlush();
    const exported = (await t.metrics.telemetry.spansExportedTotal.get()).values[0]!.value;
    expect(exported).toBe(8);
  });

  it('counts spans lost to a collector that is down, and flush still returns', async () => {
    const port = await freePort();
    const t = await telemetry({ serviceName: 'unit', otlpEndpoint: `127.0.0.1:${port}`, exportTimeoutMs: 300 });
    expect(t.otlpEndpoint).toBe(`http://127.0.0.1:${port}`);
    for (let i = 0; i < 5; i++) t.tracer.startSpan(`s${i}`).end();
    await t.forceFlush();
    const deadline = Date.now() + 10_000;
    let failed = 0;
    while (Date.now() < deadline && failed < 5) {
      failed = (await t.metrics.telemetry.spansExportFailedTotal.get()).values[0]?.value ?? 0;
      if (failed < 5) await new Promise((r) => setTimeout(r, 50));
    }
    expect(failed).toBe(5);
  });
});

describe('the Prometheus endpoint', () => {
  it('serves the project instruments on /metrics', async () => {
    const t = await telemetry({ serviceName: 'unit', exporter: new InMemorySpanExporter(), metricsPort: 0, defaultMetrics: true });
    const inference = t.metrics.inference;
    inference.requestsTotal.inc({ model: 'm', version: '1', status: 'OK' });
    // Counted on the request path as a plain number: the scrape's collect hook adds it to the counter.
    const bound = inference.requestCounts.bind(inference.requestsTotal, { model: 'm', version: '1', status: 'NOT_FOUND' });
    bound.inc();
    bound.inc();
    inference.requestDurationSeconds.observe({ model: 'm', version: '1' }, 0.0003);
    inference.queueDurationSeconds.observe({ model: 'm', version: '1' }, 0.0001);
    inference.computeDurationSeconds.observe({ model: 'm', version: '1' }, 0.0002);
    inference.batchSize.observe({ model: 'm', version: '1' }, 4);
    inference.queueDepth.set({ model: 'm', version: '1' }, 2);
    inference.modelsLoaded.set({ device: 'cpu' }, 1);
    t.metrics.registry.versions.set(3);
    t.metrics.registry.uploadsTotal.inc({ status: 'OK' });
    t.metrics.registry.outboxPending.set(0);

    const res = await fetch(`http://${t.metricsAddress}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const name of [
      'infermesh_inference_requests_total{model="m",version="1",status="OK"} 1',
      'infermesh_inference_requests_total{model="m",version="1",status="NOT_FOUND"} 2',
      'infermesh_inference_request_duration_seconds_bucket{le="0.0005",model="m",version="1"} 1',
      'infermesh_inference_request_duration_seconds_bucket{le="0.00005",model="m",version="1"} 0',
      'infermesh_inference_queue_duration_seconds_count',
      'infermesh_inference_compute_duration_seconds_sum',
      'infermesh_inference_batch_size_bucket{le="4",model="m",version="1"} 1',
      'infermesh_inference_queue_depth{model="m",version="1"} 2',
      'infermesh_models_loaded{device="cpu"} 1',
      'infermesh_registry_versions 3',
      'infermesh_registry_uploads_total{status="OK"} 1',
      'infermesh_registry_outbox_pending 0',
      'infermesh_telemetry_spans_dropped_total 0',
      'process_cpu_seconds_total',
    ]) {
      expect(text).toContain(name);
    }
    expect((await fetch(`http://${t.metricsAddress}/other`)).status).toBe(404);
    await t.shutdown();
    await t.shutdown();
    await expect(fetch(`http://${t.metricsAddress}/metrics`)).rejects.toThrow();
  });
});
