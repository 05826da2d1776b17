// The span export worker against real OTLP/gRPC receivers (grpc-js servers on
// port 0 decoding with the OTLP protos): the same spans exported through the
// worker and through the SDK's own OTLPTraceExporter decode to the same
// requests; a down endpoint costs one attempt, not one per batch; shutdown
// flushes. Needs `npm run build` (the worker runs compiled, from dist/).
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { context, SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Server, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import type { ProtoGrpcType } from '../generated/trace_service.js';
import type { ExportTraceServiceRequest__Output } from '../generated/opentelemetry/proto/collector/trace/v1/ExportTraceServiceRequest.js';
import { createLogger, type Logger } from '../logging/index.js';
import { freePort } from '../net/index.js';
import { loadProtos } from '../proto/index.js';
import { bindServer } from '../rpc/index.js';
import { createTelemetry, type Telemetry } from './telemetry.js';
import { createTelemetryMetrics } from './metrics.js';
import { WorkerSpanProcessor } from './worker-span-processor.js';

interface Receiver {
  address: string;
  requests: ExportTraceServiceRequest__Output[];
  close(): Promise<void>;
}

async function startReceiver(port = 0): Promise<Receiver> {
  const proto = loadProtos(['opentelemetry/proto/collector/trace/v1/trace_service.proto']) as unknown as ProtoGrpcType;
  const server = new Server();
  const requests: ExportTraceServiceRequest__Output[] = [];
  server.addService(proto.opentelemetry.proto.collector.trace.v1.TraceService.service, {
    Export: (call: ServerUnaryCall<ExportTraceServiceRequest__Output, unknown>, callback: sendUnaryData<unknown>) => {
      requests.push(call.request);
      callback(null, {});
    },
  });
  const bound = await bindServer(server, '127.0.0.1', port);
  return { address: `127.0.0.1:${bound}`, requests, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

const spansOf = (requests: ExportTraceServiceRequest__Output[]) => requests.flatMap((r) => r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));

async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A logger that keeps its lines. */
function recordingLogger(): { logger: Logger; lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  return { lines, logger: createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line) as { level: string; msg: string }) }) };
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Spans of every shape the project makes, recorded in memory: server and child spans, a remote parent with trace state, links, events, errors, attributes of every type. */
async function recordSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const t = await createTelemetry({ serviceName: 'unit-worker', exporter, samplingRatio: 1, defaultMetrics: false, resourceAttributes: { 'service.instance.id': 'node-ü-1' } });
  cleanups.push(() => t.shutdown());
  const tracer = t.tracer;
  const long = 'x'.repeat(300);
  tracer.startActiveSpan('ModelInfer', { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0, 'infermesh.model.name': 'mlp', ratio: 0.25, big: 2 ** 40, negative: -7, ok: true, no: false, tags: ['a', 'b'], sizes: [1, 2.5] } }, (server) => {
    const queue = tracer.startSpan('queue', { attributes: { 'infermesh.queue.priority': 1 } });
    queue.end();
    const batch = tracer.startSpan('batch', { links: [{ context: server.spanContext(), attributes: { 'infermesh.link': 'request' } }, { context: queue.spanContext() }] });
    batch.addEvent('warm', { 'long.value': long, 'name.ü': 'wert ✓' });
    batch.setStatus({ code: SpanStatusCode.ERROR, message: 'NOT_FOUND: no model ü' });
    batch.end();
    server.setStatus({ code: SpanStatusCode.OK });
    server.end();
  });
  // A span whose parent is remote, with trace state (as from a caller's traceparent/tracestate).
  const w3c = new W3CTraceContextPropagator();
  const remote = w3c.extract(context.active(), { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=value,other=1' }, {
    get: (carrier: Record<string, string>, key) => carrier[key],
    keys: (carrier) => Object.keys(carrier),
  });
  tracer.startSpan(`process ${'subject.'.repeat(40)}`, { kind: SpanKind.CONSUMER, attributes: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`attr.${i}`, `value ${i}`])) }, remote).end();
  tracer.startSpan('client', { kind: SpanKind.CLIENT }).end();
  await t.forceFlush();
  return exporter.getFinishedSpans();
}

describe('WorkerSpanProcessor', () => {
  it('delivers the same spans as the SDK exporter: names, ids, parents, attributes, links, events, status, resource', async () => {
    const spans = await recordSpans();
    expect(spans).toHaveLength(5);
    const viaWorker = await startReceiver();
    const viaSdk = await startReceiver();
    cleanups.push(() => viaWorker.close(), () => viaSdk.close());

    const metrics = createTelemetryMetrics(new Registry());
    const processor = new WorkerSpanProcessor({
      endpoint: `http://${viaWorker.address}`, metrics, logger: recordingLogger().logger, maxQueueSize: 100, maxExportBatchSize: 3, scheduledDelayMs: 60_000, exportTimeoutMs: 2000,
    });
    cleanups.push(() => processor.shutdown());
    for (const s of spans) processor.onEnd(s);
    await processor.forceFlush();
    expect((await metrics.spansExportedTotal.get()).values[0]?.value).toBe(5);

    const sdk = new OTLPTraceExporter({ url: `http://${viaSdk.address}` });
    await new Promise<void>((resolve) => sdk.export(spans, () => resolve()));
    await sdk.shutdown();

    // Batches of 3 and 2 from the worker, one request of 5 from the SDK: the same spans, field by field.
    expect(viaWorker.requests).toHaveLength(2);
    expect(viaSdk.requests).toHaveLength(1);
    expect(spansOf(viaWorker.requests)).toEqual(spansOf(viaSdk.requests));
    const strip = (r: ExportTraceServiceRequest__Output) => r.resourceSpans.map((rs) => ({ ...rs, scopeSpans: rs.scopeSpans.map((ss) => ({ ...ss, spans: [] })) }));
    expect(strip(viaWorker.requests[0]!)).toEqual(strip(viaSdk.requests[0]!));

    // And they are the recorded spans (not merely equal to each other).
    const got = spansOf(viaWorker.requests);
    const hex = (b: Buffer | undefined) => Buffer.from(b ?? []).toString('hex');
    for (const [i, s] of spans.entries()) {
      expect(got[i]!.name).toBe(s.name);
      expect(hex(got[i]!.traceId)).toBe(s.spanContext().traceId);
      expect(hex(got[i]!.spanId)).toBe(s.spanContext().spanId);
      expect(hex(got[i]!.parentSpanId)).toBe(s.parentSpanContext?.spanId ?? '');
    }
    const batch = got.find((s) => s.name === 'batch')!;
    expect(batch.links.map((l) => hex(l.spanId))).toEqual([spans.find((s) => s.name === 'ModelInfer')!.spanContext().spanId, spans.find((s) => s.name === 'queue')!.spanContext().spanId]);
    expect(batch.status).toMatchObject({ code: 'STATUS_CODE_ERROR', message: 'NOT_FOUND: no model ü' });
    expect(batch.events[0]!.attributes.find((a) => a.key === 'long.value')?.value?.stringValue).toHaveLength(300);
    const consumer = got.find((s) => s.name.startsWith('process '))!;
    expect(consumer.traceState).toBe('vendor=value,other=1');
    expect(consumer.flags).toBe(TraceFlags.SAMPLED | 0x100 | 0x200);
    expect(consumer.attributes).toHaveLength(40);
    const server = got.find((s) => s.name === 'ModelInfer')!;
    expect(server.kind).toBe('SPAN_KIND_SERVER');
    expect(Object.fromEntries(server.attributes.map((a) => [a.key, a.value?.value]))).toEqual({
      'rpc.system': 'stringValue', 'rpc.grpc.status_code': 'intValue', 'infermesh.model.name': 'stringValue', ratio: 'doubleValue', big: 'intValue', negative: 'intValue', ok: 'boolValue', no: 'boolValue', tags: 'arrayValue', sizes: 'arrayValue',
    });
  });

  it('costs one connection attempt while the endpoint is down, counts every span as failed and warns once', async () => {
    // A "collector" that accepts TCP connections and drops them at once: each export attempt is one connection.
    let connections = 0;
    const sockets = new Set<Socket>();
    const refusing: NetServer = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.destroy();
    });
    const port = await freePort('127.0.0.1');
    await new Promise<void>((resolve) => refusing.listen(port, '127.0.0.1', () => resolve()));
    const { logger, lines } = recordingLogger();
    const t: Telemetry = await createTelemetry({
      serviceName: 'unit-down', otlpEndpoint: `127.0.0.1:${port}`, samplingRatio: 1, scheduledDelayMs: 10, exportTimeoutMs: 1000, exportProbeIntervalMs: 60_000, defaultMetrics: false, logger,
    });
    cleanups.push(() => t.shutdown());
    const failed = async () => (await t.metrics.telemetry.spansExportFailedTotal.get()).values[0]?.value ?? 0;
    // 40 rounds of spans, each round past the export delay: 40 export opportunities.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 5; i++) t.tracer.startSpan(`s${round}.${i}`).end();
      await new Promise((r) => setTimeout(r, 15));
    }
    await eventually(async () => (await failed()) === 200, 'all 200 spans to count as failed');
    expect(connections).toBe(1);
    expect(lines.filter((l) => l.level === 'warn' && /span export failed/.test(l.msg))).toHaveLength(1);
    expect((await t.metrics.telemetry.spansExportedTotal.get()).values[0]?.value ?? 0).toBe(0);
    await new Promise<void>((resolve) => refusing.close(() => resolve()));
    for (const s of sockets) s.destroy();
  });

  it('probes a down endpoint and exports again once it answers', async () => {
    const port = await freePort('127.0.0.1');
    const { logger, lines } = recordingLogger();
    const t = await createTelemetry({ serviceName: 'unit-back', otlpEndpoint: `127.0.0.1:${port}`, samplingRatio: 1, scheduledDelayMs: 10, exportTimeoutMs: 500, exportProbeIntervalMs: 50, defaultMetrics: false, logger });
    cleanups.push(() => t.shutdown());
    t.tracer.startSpan('while-down').end();
    await eventually(async () => ((await t.metrics.telemetry.spansExportFailedTotal.get()).values[0]?.value ?? 0) === 1, 'the span to fail');
    const receiver = await startReceiver(port);
    cleanups.push(() => receiver.close());
    await eventually(() => lines.some((l) => /span export recovered/.test(l.msg)), 'the recovery to be logged');
    t.tracer.startSpan('after').end();
    await eventually(() => spansOf(receiver.requests).some((s) => s.name === 'after'), 'the span after recovery to arrive');
    expect(spansOf(receiver.requests).map((s) => s.name)).toEqual(['after']);
  });

  it('flushes on shutdown: spans waiting for their export delay arrive before shutdown returns', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const t = await createTelemetry({ serviceName: 'unit-flush', otlpEndpoint: receiver.address, samplingRatio: 1, scheduledDelayMs: 60_000, defaultMetrics: false });
    for (const name of ['a', 'b', 'c']) t.tracer.startSpan(name).end();
    expect(receiver.requests).toHaveLength(0);
    await t.shutdown();
    expect(spansOf(receiver.requests).map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(receiver.requests[0]!.resourceSpans[0]!.resource!.attributes.find((a) => a.key === 'service.name')?.value?.stringValue).toBe('unit-flush');
    // Shut down means shut down: later spans go nowhere, and a second shutdown is harmless.
    t.tracer.startSpan('late').end();
    await t.shutdown();
    expect(spansOf(receiver.requests).map((s) => s.name)).toEqual(['a', 'b', 'c']);
  });

  it('drops what does not fit its queue and counts it, while the worker is busy', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const t = await createTelemetry({ serviceName: 'unit-full', otlpEndpoint: receiver.address, samplingRatio: 1, maxQueueSize: 10, maxExportBatchSize: 5, scheduledDelayMs: 60_000, defaultMetrics: false });
    cleanups.push(() => t.shutdown());
    // Synchronously: the worker cannot settle anything in between, so 10 fit and 15 are dropped.
    for (let i = 0; i < 25; i++) t.tracer.startSpan(`s${i}`).end();
    expect((await t.metrics.telemetry.spansDroppedTotal.get()).values[0]?.value).toBe(15);
    await t.forceFlush();
    expect((await t.metrics.telemetry.spansExportedTotal.get()).values[0]?.value).toBe(10);
    expect(spansOf(receiver.requests)).toHaveLength(10);
  });
});
