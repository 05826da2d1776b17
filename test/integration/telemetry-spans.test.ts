// The inference path's spans, read back from an in-memory exporter: real
// in-process nodes on port 0, real ONNX Runtime sessions, real gRPC clients.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { buildInferRequest, createInferenceClient, traceIdOfResponse, type InferenceClient } from '../../shared/client/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { freePort } from '../../shared/net/index.js';
import {
  ATTR_BATCH_SIZE,
  ATTR_DEVICE,
  ATTR_FORWARD_PEER,
  ATTR_MODEL_NAME,
  ATTR_MODEL_VERSION,
  ATTR_RPC_GRPC_STATUS_CODE,
  createTelemetry,
  SPAN_NAMES,
  type Telemetry,
} from '../../shared/telemetry/index.js';
import { createModelManager, createInferenceServer, startInferenceNode, type InferenceNode, type InferenceServer, type ModelManager } from '../../services/inference/index.js';
import { createPeerForwarder, type Peer, type PeerForwarder } from '../../services/inference/mesh/index.js';
import { buildMlpModel, writeTestRepository } from '../fixtures/models.js';

const MODEL_INFER = 'inference.GRPCInferenceService/ModelInfer';
const MODEL_STREAM_INFER = 'inference.GRPCInferenceService/ModelStreamInfer';
const x = (v: number) => ({ modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: [v, 0.2, 0.3, 0.4] }] });
const request = (model: string, v: number) => ({ ...x(v), modelName: model });

const exporter = new InMemorySpanExporter();
const telemetries: Telemetry[] = [];
async function telemetry(serviceName: string): Promise<Telemetry> {
  const t = await createTelemetry({ serviceName, exporter, samplingRatio: 1, defaultMetrics: false });
  telemetries.push(t);
  return t;
}
/** Every span ended so far, once every provider has exported. */
async function spans(): Promise<ReadableSpan[]> {
  await Promise.all(telemetries.map((t) => t.forceFlush()));
  return exporter.getFinishedSpans();
}
const inTrace = (all: ReadableSpan[], traceId: string) => all.filter((s) => s.spanContext().traceId === traceId);
function one(all: ReadableSpan[], name: string, where: (s: ReadableSpan) => boolean = () => true): ReadableSpan {
  const found = all.filter((s) => s.name === name && where(s));
  if (found.length !== 1) throw new Error(`expected one '${name}' span, found ${found.length} among ${all.map((s) => s.name).join(', ')}`);
  return found[0]!;
}
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan) => s.spanContext().spanId;

let node: InferenceNode;
let client: InferenceClient;
let clientTelemetry: Telemetry;
let nodeTelemetry: Telemetry;

beforeAll(async () => {
  nodeTelemetry = await telemetry('inference');
  clientTelemetry = await telemetry('client');
  const repo = await writeTestRepository({
    // A batch goes when it holds 2 rows (or after 2 s): two concurrent requests share one.
    pair: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 2, maxQueueDelayUs: 2_000_000 } },
    mlp: { versions: { '3': buildMlpModel() }, config: { maxBatchSize: 8 } },
  });
  node = await startInferenceNode({ repositoryDir: repo, logger: silentLogger, telemetry: { tracer: nodeTelemetry.tracer, metrics: nodeTelemetry.metrics.inference } });
  client = createInferenceClient(node.grpcAddress, { timeoutMs: 10_000, tracer: clientTelemetry.tracer });
});

afterEach(() => exporter.reset());

afterAll(async () => {
  client?.close();
  await node?.close();
  await Promise.all(telemetries.map((t) => t.shutdown()));
});

describe('inference spans', () => {
  it('unary: client -> server span (model attributes) -> queue, and batch -> ort.run; the response carries the trace id', async () => {
    const response = await client.modelInfer(buildInferRequest(x(0.1)));
    const traceId = traceIdOfResponse(response);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const trace = inTrace(await spans(), traceId!);
    const clientSpan = one(trace, MODEL_INFER, (s) => s.kind === SpanKind.CLIENT);
    const server = one(trace, MODEL_INFER, (s) => s.kind === SpanKind.SERVER);
    expect(parentOf(server)).toBe(idOf(clientSpan));
    expect(server.attributes).toMatchObject({ [ATTR_MODEL_NAME]: 'mlp', [ATTR_MODEL_VERSION]: '3', 'rpc.system': 'grpc', 'rpc.method': 'ModelInfer', [ATTR_RPC_GRPC_STATUS_CODE]: 0 });
    expect(server.resource.attributes['service.name']).toBe('inference');
    const queue = one(trace, SPAN_NAMES.queue);
    expect(parentOf(queue)).toBe(idOf(server));
    const batch = one(trace, SPAN_NAMES.batch);
    expect(parentOf(batch)).toBe(idOf(server));
    expect(batch.attributes).toMatchObject({ [ATTR_BATCH_SIZE]: 1, [ATTR_DEVICE]: 'cpu', [ATTR_MODEL_NAME]: 'mlp', [ATTR_MODEL_VERSION]: '3' });
    expect(batch.links.map((l) => l.context.spanId)).toEqual([idOf(server)]);
    const ortRun = one(trace, SPAN_NAMES.ortRun);
    expect(parentOf(ortRun)).toBe(idOf(batch));
    // The run lies within its batch, the batch within the request.
    const ns = (t: [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
    expect(ns(ortRun.startTime)).toBeGreaterThanOrEqual(ns(batch.startTime));
    expect(ns(ortRun.endTime)).toBeLessThanOrEqual(ns(batch.endTime));
    expect(ns(queue.endTime)).toBe(ns(batch.startTime));
    expect(ns(queue.startTime)).toBeGreaterThanOrEqual(ns(server.startTime));
    expect(ns(batch.endTime)).toBeLessThanOrEqual(ns(server.endTime));
  });

  it('a failed request is an ERROR server span with its status code and the model it named', async () => {
    await expect(client.modelInfer(buildInferRequest({ ...x(0.1), modelName: 'nope' }))).rejects.toMatchObject({ code: 5 });
    const server = one(await spans(), MODEL_INFER, (s) => s.kind === SpanKind.SERVER);
    expect(server.status.code).toBe(SpanStatusCode.ERROR);
    expect(server.attributes[ATTR_RPC_GRPC_STATUS_CODE]).toBe(5);
    expect(server.attributes[ATTR_MODEL_NAME]).toBe('nope');
  });

  it('streaming: one server span per request, each a child of the stream, and every response carries the trace id', async () => {
    const stream = client.stream();
    const responses = await Promise.all([1, 2, 3].map((i) => stream.infer(buildInferRequest(x(i / 10)))));
    stream.end();
    await stream.closed;
    const ids = responses.map(traceIdOfResponse);
    const all = await spans();
    const clientSpan = one(all, MODEL_STREAM_INFER, (s) => s.kind === SpanKind.CLIENT);
    expect(ids).toEqual([1, 2, 3].map(() => clientSpan.spanContext().traceId));
    const servers = all.filter((s) => s.name === MODEL_STREAM_INFER && s.kind === SpanKind.SERVER);
    expect(servers).toHaveLength(3);
    for (const server of servers) {
      expect(parentOf(server)).toBe(idOf(clientSpan));
      expect(server.attributes).toMatchObject({ [ATTR_MODEL_NAME]: 'mlp', [ATTR_MODEL_VERSION]: '3', [ATTR_RPC_GRPC_STATUS_CODE]: 0 });
      expect(all.filter((s) => s.name === SPAN_NAMES.queue && parentOf(s) === idOf(server))).toHaveLength(1);
    }
  });

  it('streaming from a client that does not trace: each request is a trace of its own, errors too', async () => {
    const plain = createInferenceClient(node.grpcAddress, { timeoutMs: 10_000 });
    try {
      const stream = plain.stream();
      const ok = await Promise.all([stream.infer(buildInferRequest(x(0.1))), stream.infer(buildInferRequest(x(0.2)))]);
      const failed = stream.infer(buildInferRequest({ ...x(0.3), modelName: 'nope' })).catch((err: unknown) => err);
      expect(await failed).toMatchObject({ code: 5 });
      stream.end();
      await stream.closed;
      const ids = ok.map(traceIdOfResponse);
      expect(new Set(ids).size).toBe(2);
      const servers = (await spans()).filter((s) => s.name === MODEL_STREAM_INFER);
      expect(servers).toHaveLength(3);
      expect(servers.every((s) => s.parentSpanContext === undefined)).toBe(true);
      expect(servers.filter((s) => s.status.code === SpanStatusCode.ERROR)).toHaveLength(1);
    } finally {
      plain.close();
    }
  });

  it('batched: two concurrent requests in one batch -> one batch span with a link to each request, and a queue span each', async () => {
    const plain = createInferenceClient(node.grpcAddress, { timeoutMs: 10_000 });
    try {
      const responses = await Promise.all([plain.modelInfer(buildInferRequest(request('pair', 0.1))), plain.modelInfer(buildInferRequest(request('pair', 0.2)))]);
      const [a, b] = responses.map(traceIdOfResponse) as [string, string];
      expect(a).not.toBe(b);
      const all = await spans();
      const serverA = one(inTrace(all, a), MODEL_INFER);
      const serverB = one(inTrace(all, b), MODEL_INFER);
      const batches = all.filter((s) => s.name === SPAN_NAMES.batch);
      expect(batches).toHaveLength(1);
      const batch = batches[0]!;
      expect(batch.attributes[ATTR_BATCH_SIZE]).toBe(2);
      expect(batch.links.map((l) => l.context.spanId).sort()).toEqual([idOf(serverA), idOf(serverB)].sort());
      expect([idOf(serverA), idOf(serverB)]).toContain(parentOf(batch));
      for (const server of [serverA, serverB]) expect(all.filter((s) => s.name === SPAN_NAMES.queue && parentOf(s) === idOf(server))).toHaveLength(1);
      expect(all.filter((s) => s.name === SPAN_NAMES.ortRun && parentOf(s) === idOf(batch))).toHaveLength(1);
    } finally {
      plain.close();
    }
  });
});

describe('forwarded requests', () => {
  let frontTelemetry: Telemetry;
  let front: { manager: ModelManager; server: InferenceServer; forwarder: PeerForwarder; address: string };

  beforeAll(async () => {
    frontTelemetry = await telemetry('inference-front');
    const manager = createModelManager({ logger: silentLogger });
    const instruments = { tracer: frontTelemetry.tracer };
    const forwarder = createPeerForwarder({ nodeId: 'front', logger: silentLogger, telemetry: instruments });
    const peer = { nodeId: 'peer', grpcAddress: node.grpcAddress } as Peer;
    // A node that holds no model and forwards every miss to `node`, as the mesh does.
    const server = createInferenceServer({
      manager,
      logger: silentLogger,
      nodeId: 'front',
      telemetry: instruments,
      onModelMiss: { handleMiss: (req, _err, ctx) => forwarder.forward(peer, req, ctx) },
    });
    const { port } = await server.start();
    front = { manager, server, forwarder, address: `127.0.0.1:${port}` };
  });

  afterAll(async () => {
    front?.forwarder.close();
    await front?.server.close({ drainTimeoutMs: 1000 });
    await front?.manager.close();
  });

  it("the front node's server span -> forward -> client span -> the peer's server span, all in the caller's trace", async () => {
    const c = createInferenceClient(front.address, { timeoutMs: 10_000, tracer: clientTelemetry.tracer });
    try {
      const response = await c.modelInfer(buildInferRequest(x(0.1)));
      const traceId = traceIdOfResponse(response)!;
      const trace = inTrace(await spans(), traceId);
      const caller = one(trace, MODEL_INFER, (s) => s.kind === SpanKind.CLIENT && s.resource.attributes['service.name'] === 'client');
      const frontServer = one(trace, MODEL_INFER, (s) => s.kind === SpanKind.SERVER && s.resource.attributes['service.name'] === 'inference-front');
      const forward = one(trace, SPAN_NAMES.forward);
      const hop = one(trace, MODEL_INFER, (s) => s.kind === SpanKind.CLIENT && s.resource.attributes['service.name'] === 'inference-front');
      const peerServer = one(trace, MODEL_INFER, (s) => s.kind === SpanKind.SERVER && s.resource.attributes['service.name'] === 'inference');
      expect(parentOf(frontServer)).toBe(idOf(caller));
      expect(parentOf(forward)).toBe(idOf(frontServer));
      expect(forward.attributes).toMatchObject({ [ATTR_MODEL_NAME]: 'mlp', [ATTR_FORWARD_PEER]: 'peer', 'infermesh.node.id': 'front' });
      expect(parentOf(hop)).toBe(idOf(forward));
      expect(parentOf(peerServer)).toBe(idOf(hop));
      expect(peerServer.attributes).toMatchObject({ [ATTR_MODEL_NAME]: 'mlp', [ATTR_MODEL_VERSION]: '3' });
      expect(trace.some((s) => s.name === SPAN_NAMES.ortRun)).toBe(true);
      expect(caller.spanContext().traceId).toBe(traceId);
    } finally {
      c.close();
    }
  });
});

describe('unsampled requests', () => {
  it('still get the trace id of their (non-recording) context, and cost no span', async () => {
    const unsampledExporter = new InMemorySpanExporter();
    const none = await createTelemetry({ serviceName: 'inference', exporter: unsampledExporter, samplingRatio: 0, defaultMetrics: false });
    const repo = await writeTestRepository({ mlp: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 8 } } });
    const quiet = await startInferenceNode({ repositoryDir: repo, logger: silentLogger, telemetry: { tracer: none.tracer } });
    const c = createInferenceClient(quiet.grpcAddress, { timeoutMs: 10_000 });
    try {
      const unary = await c.modelInfer(buildInferRequest(x(0.1)));
      const stream = c.stream();
      const streamed = await stream.infer(buildInferRequest(x(0.2)));
      stream.end();
      await stream.closed;
      const ids = [unary, streamed].map(traceIdOfResponse);
      expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id ?? ''))).toBe(true);
      expect(ids[0]).not.toBe(ids[1]);
      await none.forceFlush();
      expect(unsampledExporter.getFinishedSpans()).toEqual([]);
    } finally {
      c.close();
      await quiet.close();
      await none.shutdown();
    }
  });
});

describe('a monitor that is down', () => {
  it('never fails an inference: spans are dropped and counted, the trace id still comes back', async () => {
    const closedPort = await freePort('127.0.0.1');
    const down = await createTelemetry({ serviceName: 'inference', otlpEndpoint: `127.0.0.1:${closedPort}`, samplingRatio: 1, scheduledDelayMs: 20, exportTimeoutMs: 500, defaultMetrics: false });
    const repo = await writeTestRepository({ mlp: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 8 } } });
    const lonely = await startInferenceNode({ repositoryDir: repo, logger: silentLogger, telemetry: { tracer: down.tracer, metrics: down.metrics.inference } });
    const c = createInferenceClient(lonely.grpcAddress, { timeoutMs: 10_000 });
    try {
      const failedExports = async () => (await down.registry.getSingleMetric('infermesh_telemetry_spans_export_failed_total')!.get()).values[0]?.value ?? 0;
      const deadline = Date.now() + 20_000;
      let answered = 0;
      while ((await failedExports()) === 0) {
        if (Date.now() > deadline) throw new Error('no export failure was counted within 20 s');
        const response = await c.modelInfer(buildInferRequest(x(answered / 100)));
        expect(traceIdOfResponse(response)).toMatch(/^[0-9a-f]{32}$/);
        answered++;
      }
      // After the failures, inference still answers.
      const responses = await Promise.all([0, 1, 2, 3].map((i) => c.modelInfer(buildInferRequest(x(i / 10)))));
      expect(responses.every((r) => r.outputs[0]?.name === 'probabilities')).toBe(true);
    } finally {
      c.close();
      await lonely.close();
      const started = Date.now();
      await down.shutdown();
      // Shutting down flushes into the void, bounded by the export timeout.
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });
});
