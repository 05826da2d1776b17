import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { Code } from '../../shared/errors/index.js';
import type { ExportTraceServiceResponse__Output } from '../../shared/generated/opentelemetry/proto/collector/trace/v1/ExportTraceServiceResponse.js';
import type { ProtoGrpcType } from '../../shared/generated/trace_service.js';
import { createMonitorClient, type MonitorClient } from '../../shared/monitor-client/index.js';
import { loadProtos } from '../../shared/proto/index.js';
import { createTelemetry, type Telemetry } from '../../shared/telemetry/index.js';
import { startMonitor, type Monitor } from '../../services/monitor/index.js';
import { seedFailedRequest, seedInferenceTrace, seedRequests, type SeededTrace } from './monitor-fixtures.js';

const MAX_EXPORT_BYTES = 64 * 1024;

let dataDir: string;
let monitor: Monitor;
let client: MonitorClient;
let clientTelemetry: Telemetry;
let inferenceTelemetry: Telemetry;
let seeded: SeededTrace;
let failedTraceId: string;

/** Polls `fn` until it returns a value that is not undefined, within a bounded deadline. */
async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = monitor.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'infermesh-monitor-'));
  monitor = await startMonitor({ grpcPort: 0, httpPort: 0, dataDir, maxExportBytes: MAX_EXPORT_BYTES });
  client = createMonitorClient(monitor.grpcAddress);
  // The real OTLP/gRPC exporter, as every infermesh process uses it.
  clientTelemetry = await createTelemetry({ serviceName: 'client', otlpEndpoint: monitor.grpcAddress, samplingRatio: 1, defaultMetrics: false });
  inferenceTelemetry = await createTelemetry({ serviceName: 'inference', otlpEndpoint: monitor.grpcAddress, samplingRatio: 1, defaultMetrics: false });
  seeded = seedInferenceTrace(clientTelemetry.tracer, inferenceTelemetry.tracer);
  failedTraceId = seedFailedRequest(inferenceTelemetry.tracer);
  seedRequests(inferenceTelemetry.tracer, 'ranker', '7', 50);
  await Promise.all([clientTelemetry.forceFlush(), inferenceTelemetry.forceFlush()]);
});

afterAll(async () => {
  await clientTelemetry?.shutdown();
  await inferenceTelemetry?.shutdown();
  client?.close();
  await monitor?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the monitor receiving OTLP from the OpenTelemetry exporter', () => {
  it('finds the trace by service, operation, model and version', async () => {
    const { traces } = await eventually(async () => {
      const res = await client.searchTraces({ service: 'inference', model: 'resnet50', version: '2', operation: 'inference.GRPCInferenceService/ModelInfer' });
      return res.traces.some((t) => t.traceId === seeded.traceId) ? res : undefined;
    }, 'the seeded trace');
    const summary = traces.find((t) => t.traceId === seeded.traceId)!;
    expect(summary.rootService).toBe('client');
    expect(summary.rootName).toBe('inference.GRPCInferenceService/ModelInfer');
    expect(summary.spanCount).toBe(5);
    expect(summary.services).toEqual(['client', 'inference']);
    expect(Number(summary.durationNano)).toBeGreaterThan(4_000_000);
    expect(traces.map((t) => t.traceId)).toContain(seeded.otherTraceId);
  });

  it('returns every span of a trace with attributes, events, links and back-links', async () => {
    const { spans } = await client.getTrace(seeded.traceId);
    expect(spans.map((s) => s.name).sort()).toEqual(['batch', 'inference.GRPCInferenceService/ModelInfer', 'inference.GRPCInferenceService/ModelInfer', 'ort.run', 'queue']);
    const batch = spans.find((s) => s.name === 'batch')!;
    expect(batch.spanId).toBe(seeded.batchSpanId);
    expect(batch.links.map((l) => l.spanId)).toEqual([seeded.serverSpanIdA, seeded.serverSpanIdB]);
    expect(batch.links[1]).toMatchObject({ traceId: seeded.otherTraceId, name: 'inference.GRPCInferenceService/ModelInfer', service: 'inference' });
    expect(batch.attributes).toContainEqual({ key: 'infermesh.batch.size', value: '2', type: 'int' });
    const ort = spans.find((s) => s.name === 'ort.run')!;
    expect(ort.parentSpanId).toBe(batch.spanId);
    expect(ort.events.map((e) => e.name)).toEqual(['outputs sliced']);
    const server = spans.find((s) => s.spanId === seeded.serverSpanIdA)!;
    expect(server.kind).toBe('SERVER');
    expect(server.resource.find((a) => a.key === 'service.name')?.value).toBe('inference');
    expect(server.linkedFrom).toEqual([expect.objectContaining({ traceId: seeded.traceId, spanId: seeded.batchSpanId, name: 'batch' })]);

    // Request B lives in its own trace and still finds the batch that served it.
    const other = await client.getTrace(seeded.otherTraceId);
    const serverB = other.spans.find((s) => s.spanId === seeded.serverSpanIdB)!;
    expect(serverB.linkedFrom[0]).toMatchObject({ traceId: seeded.traceId, spanId: seeded.batchSpanId });

    await expect(client.getTrace('0'.repeat(31) + '1')).rejects.toMatchObject({ code: Code.NOT_FOUND });
    await expect(client.getTrace('nope')).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
  });

  it('filters by status, duration and attribute, and orders by duration', async () => {
    const errors = await client.searchTraces({ status: 'STATUS_FILTER_ERROR' });
    expect(errors.traces.map((t) => t.traceId)).toEqual([failedTraceId]);
    expect(errors.traces[0]!.errorCount).toBe(1);

    const slow = await client.searchTraces({ model: 'ranker', minDurationMs: 9.5, limit: 100 });
    expect(slow.traces).toHaveLength(5);

    const slowest = await client.searchTraces({ model: 'ranker', order: 'TRACE_ORDER_SLOWEST', limit: 3 });
    const durations = slowest.traces.map((t) => Number(t.durationNano));
    expect(durations).toEqual([...durations].sort((a, b) => b - a));
    expect(durations[0]).toBe(10_000_000);

    const byAttr = await client.searchTraces({ attributes: [{ key: 'infermesh.batch.size', value: '2' }] });
    expect(byAttr.traces.map((t) => t.traceId)).toEqual([seeded.traceId]);

    await expect(client.searchTraces({ minDurationMs: -1 })).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
  });

  it('lists services and operations, and computes the model overview', async () => {
    expect(await client.listServices()).toEqual(['client', 'inference']);
    expect(await client.listOperations('inference')).toEqual(['batch', 'inference.GRPCInferenceService/ModelInfer', 'ort.run', 'queue']);
    const overview = await client.modelOverview(5);
    expect(overview.windowMinutes).toBe(5);
    const ranker = overview.models.find((m) => m.model === 'ranker')!;
    expect(ranker).toMatchObject({ version: '7', requests: '50', errors: '0', errorRate: 0 });
    expect(ranker.p50Ms).toBeCloseTo(5, 5);
    expect(ranker.p99Ms).toBeCloseTo(10, 5);
    expect(ranker.requestsPerSecond).toBeCloseTo(50 / 300, 5);
    expect(ranker.requestsPerMinute.map(Number).reduce((a, b) => a + b, 0)).toBe(50);
    const missing = overview.models.find((m) => m.model === 'missing-model')!;
    expect(missing).toMatchObject({ requests: '1', errors: '1', errorRate: 1 });
    // resnet50 v2: two server spans (A and B); queue, batch and ort.run are not requests.
    expect(overview.models.find((m) => m.model === 'resnet50')).toMatchObject({ version: '2', requests: '2' });
  });
});

describe('bad OTLP input', () => {
  type Export = ProtoGrpcType['opentelemetry']['proto']['collector']['trace']['v1']['TraceService'];
  let otlp: InstanceType<Export>;
  let raw: Client;
  beforeAll(() => {
    const proto = loadProtos(['opentelemetry/proto/collector/trace/v1/trace_service.proto']) as unknown as ProtoGrpcType;
    otlp = new proto.opentelemetry.proto.collector.trace.v1.TraceService(monitor.grpcAddress, credentials.createInsecure());
    const Raw = makeGenericClientConstructor(
      {
        Export: {
          path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      'RawTraceService',
    );
    raw = new Raw(monitor.grpcAddress, credentials.createInsecure());
  });
  afterAll(() => {
    otlp?.close();
    raw?.close();
  });

  const exportSpans = (spans: object[]) =>
    new Promise<ExportTraceServiceResponse__Output>((resolve, reject) =>
      otlp.Export(
        { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }] }, scopeSpans: [{ spans }] }] },
        (err: ServiceError | null, res?: ExportTraceServiceResponse__Output) => (err ? reject(err) : resolve(res!)),
      ),
    );
  const now = BigInt(Date.now()) * 1_000_000n;
  const goodSpan = (name: string) => ({
    traceId: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'),
    spanId: Buffer.from('1112131415161718', 'hex'),
    name,
    startTimeUnixNano: now.toString(),
    endTimeUnixNano: (now + 1000n).toString(),
  });

  it('rejects spans with bad ids or times with INVALID_ARGUMENT and counts them', async () => {
    const before = await counter('infermesh_monitor_spans_rejected_total');
    await expect(exportSpans([{ ...goodSpan('short-trace-id'), traceId: Buffer.from('abc') }])).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      details: expect.stringMatching(/trace_id must be 16 bytes/),
    });
    await expect(exportSpans([{ ...goodSpan('no-span-id'), spanId: Buffer.alloc(0) }])).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    await expect(exportSpans([{ ...goodSpan('zero-span-id'), spanId: Buffer.alloc(8) }])).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    await expect(
      exportSpans([{ ...goodSpan('backwards'), endTimeUnixNano: (now - 5n).toString() }]),
    ).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT, details: expect.stringMatching(/end_time_unix_nano >= start/) });
    expect(await counter('infermesh_monitor_spans_rejected_total')).toBe(before + 4);
    expect(await counter('infermesh_monitor_spans_rejected_total', { reason: 'timestamps' })).toBeGreaterThanOrEqual(1);
  });

  it('accepts the valid spans of a mixed export and reports the rest as partial success', async () => {
    const res = await exportSpans([goodSpan('fuzz-ok'), { ...goodSpan('bad-parent'), spanId: Buffer.from('2122232425262728', 'hex'), parentSpanId: Buffer.from('01', 'hex') }]);
    expect(res.partialSuccess).toMatchObject({ rejectedSpans: '1', errorMessage: expect.stringMatching(/parent_span_id/) });
    const stored = await client.getTrace('0102030405060708090a0b0c0d0e0f10');
    expect(stored.spans.map((s) => s.name)).toEqual(['fuzz-ok']);
  });

  it('rejects oversized and undecodable exports with INVALID_ARGUMENT and keeps serving', async () => {
    const before = await counter('infermesh_monitor_spans_rejected_total', { reason: 'oversized' });
    const big = { ...goodSpan('big'), attributes: [{ key: 'blob', value: { stringValue: 'x'.repeat(MAX_EXPORT_BYTES) } }] };
    await expect(exportSpans([big])).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT, details: expect.stringMatching(/larger than the monitor's limit/) });
    expect(await counter('infermesh_monitor_spans_rejected_total', { reason: 'oversized' })).toBe(before + 1);

    // Field 1 (resource_spans) as a length-delimited record claiming more bytes than follow.
    const garbage = Buffer.from([0x0a, 0x7f, 0x01, 0x02]);
    await expect(
      new Promise((resolve, reject) =>
        (raw as unknown as { Export: (b: Buffer, cb: (e: ServiceError | null, r?: Buffer) => void) => void }).Export(garbage, (err, res) => (err ? reject(err) : resolve(res))),
      ),
    ).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT, details: expect.stringMatching(/not a valid ExportTraceServiceRequest/) });
    expect(await counter('infermesh_monitor_spans_rejected_total', { reason: 'malformed' })).toBe(1);

    // Still serving: a search answers and a fresh export is stored.
    expect((await client.searchTraces({ service: 'inference' })).traces.length).toBeGreaterThan(0);
    const again = await exportSpans([{ ...goodSpan('after-the-storm'), traceId: Buffer.from('ffeeddccbbaa99887766554433221100', 'hex') }]);
    expect(again.partialSuccess).toBeNull();
  });
});
