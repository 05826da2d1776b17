// Per-request trace sampling on real in-process nodes: the caller's
// traceparent, then the model's config.json `tracing.sampleRate`, then the
// node's ratio decide, once, at request entry; an unsampled request makes no
// span object at all on the node (its tracer is never called).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Metadata } from '@grpc/grpc-js';
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { buildInferRequest, createInferenceClient, traceIdOfResponse, type InferenceClient } from '../../shared/client/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { ATTR_MODEL_NAME, createTelemetry, SPAN_NAMES, type Telemetry } from '../../shared/telemetry/index.js';
import { createInferenceServer, createModelManager, startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { createPeerForwarder, type Peer } from '../../services/inference/mesh/index.js';
import { buildMlpModel, writeTestRepository } from '../fixtures/models.js';

const MODEL_INFER = 'inference.GRPCInferenceService/ModelInfer';
const MODEL_STREAM_INFER = 'inference.GRPCInferenceService/ModelStreamInfer';
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const req = (model: string, v = 0.1) => buildInferRequest({ modelName: model, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [v, 0.2, 0.3, 0.4] }] });
const withTraceparent = (sampled: boolean) => {
  const metadata = new Metadata();
  metadata.set('traceparent', `00-${CALLER_TRACE}-${CALLER_SPAN}-${sampled ? '01' : '00'}`);
  return metadata;
};

/** The node's tracer, counting every span it is asked to start (sampled or not). */
function countingTracer(inner: Tracer): Tracer & { started: number } {
  const counting = {
    started: 0,
    startSpan: (...args: Parameters<Tracer['startSpan']>) => {
      counting.started++;
      return inner.startSpan(...args);
    },
    startActiveSpan: ((...args: unknown[]) => {
      counting.started++;
      return (inner.startActiveSpan as (...a: unknown[]) => unknown)(...args);
    }) as Tracer['startActiveSpan'],
  };
  return counting;
}

interface Node {
  node: InferenceNode;
  client: InferenceClient;
  telemetry: Telemetry;
  exporter: InMemorySpanExporter;
  tracer: Tracer & { started: number };
}

const nodes: Node[] = [];
/** A node whose own ratio for new traces is `sampling`, serving `quiet` (sampleRate 0), `loud` (1) and `plain` (none). */
async function nodeAt(sampling: number): Promise<Node> {
  const exporter = new InMemorySpanExporter();
  // The tracer's own sampler at the node's ratio too, as `serve` sets it up.
  const telemetry = await createTelemetry({ serviceName: 'inference', exporter, samplingRatio: sampling, defaultMetrics: false });
  const repo = await writeTestRepository({
    quiet: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 8, tracing: { sampleRate: 0 } } },
    loud: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 8, tracing: { sampleRate: 1 } } },
    plain: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 8 } },
  });
  const tracer = countingTracer(telemetry.tracer);
  const node = await startInferenceNode({ repositoryDir: repo, logger: silentLogger, telemetry: { tracer, sampling, metrics: telemetry.metrics.inference } });
  const client = createInferenceClient(node.grpcAddress, { timeoutMs: 10_000 });
  const n = { node, client, telemetry, exporter, tracer };
  nodes.push(n);
  return n;
}

async function spansOf(n: Node): Promise<ReadableSpan[]> {
  await n.telemetry.forceFlush();
  return n.exporter.getFinishedSpans();
}

/** One unary call and two requests on one stream, to `model`; their trace ids. */
async function unaryAndStream(n: Node, model: string, metadata?: Metadata): Promise<string[]> {
  const unary = await n.client.modelInfer(req(model), metadata ? { metadata } : {});
  const stream = n.client.stream(metadata ? { metadata } : {});
  const streamed = await Promise.all([stream.infer(req(model, 0.2)), stream.infer(req(model, 0.3))]);
  stream.end();
  await stream.closed;
  return [unary, ...streamed].map((r) => traceIdOfResponse(r) ?? '');
}

let on: Node;
let off: Node;

beforeAll(async () => {
  [on, off] = await Promise.all([nodeAt(1), nodeAt(0)]);
});

afterEach(() => {
  for (const n of nodes) {
    n.exporter.reset();
    n.tracer.started = 0;
  }
});

afterAll(async () => {
  for (const n of nodes) {
    n.client.close();
    await n.node.close();
    await n.telemetry.shutdown();
  }
});

describe("a model's tracing.sampleRate", () => {
  it('0 under a node ratio of 1: no span is exported, none is even started, and every response still has a trace id', async () => {
    const ids = await unaryAndStream(on, 'quiet');
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(3);
    expect(await spansOf(on)).toEqual([]);
    expect(on.tracer.started).toBe(0);
  });

  it('1 under a node ratio of 0: every request exports its server, queue, batch and ort.run spans', async () => {
    const ids = await unaryAndStream(off, 'loud');
    const all = await spansOf(off);
    for (const [i, id] of ids.entries()) {
      const trace = all.filter((s) => s.spanContext().traceId === id);
      const server = trace.find((s) => s.kind === SpanKind.SERVER);
      expect(server?.name).toBe(i === 0 ? MODEL_INFER : MODEL_STREAM_INFER);
      expect(server?.parentSpanContext).toBeUndefined();
      expect(server?.attributes[ATTR_MODEL_NAME]).toBe('loud');
      expect(trace.filter((s) => s.name === SPAN_NAMES.queue && s.parentSpanContext?.spanId === server!.spanContext().spanId)).toHaveLength(1);
    }
    expect(all.some((s) => s.name === SPAN_NAMES.batch)).toBe(true);
    expect(all.some((s) => s.name === SPAN_NAMES.ortRun)).toBe(true);
  });

  it("absent: the node's ratio decides (1: traced, 0: not, and no span started)", async () => {
    const traced = await unaryAndStream(on, 'plain');
    const onSpans = await spansOf(on);
    for (const id of traced) expect(onSpans.some((s) => s.spanContext().traceId === id && s.kind === SpanKind.SERVER)).toBe(true);
    await unaryAndStream(off, 'plain');
    expect(await spansOf(off)).toEqual([]);
    expect(off.tracer.started).toBe(0);
  });
});

describe("a caller's traceparent", () => {
  it('sampled: traced as its child even where the model says 0, with its trace id in every response', async () => {
    const ids = await unaryAndStream(on, 'quiet', withTraceparent(true));
    expect(ids).toEqual([CALLER_TRACE, CALLER_TRACE, CALLER_TRACE]);
    const servers = (await spansOf(on)).filter((s) => s.kind === SpanKind.SERVER);
    expect(servers).toHaveLength(3);
    for (const s of servers) {
      expect(s.spanContext().traceId).toBe(CALLER_TRACE);
      expect(s.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    }
  });

  it('sampled: traced under a node ratio of 0 too', async () => {
    await unaryAndStream(off, 'plain', withTraceparent(true));
    expect((await spansOf(off)).filter((s) => s.kind === SpanKind.SERVER)).toHaveLength(3);
  });

  it("unsampled: never traced, even where the model says 1; the responses carry the caller's trace id", async () => {
    const ids = await unaryAndStream(on, 'loud', withTraceparent(false));
    expect(ids).toEqual([CALLER_TRACE, CALLER_TRACE, CALLER_TRACE]);
    expect(await spansOf(on)).toEqual([]);
    expect(on.tracer.started).toBe(0);
  });
});

describe('requests the node cannot serve', () => {
  it("are decided by the node's ratio: an ERROR span at 1, nothing at 0", async () => {
    await expect(on.client.modelInfer(req('nope'))).rejects.toMatchObject({ code: 5 });
    const [server] = (await spansOf(on)).filter((s) => s.kind === SpanKind.SERVER);
    expect(server?.attributes[ATTR_MODEL_NAME]).toBe('nope');
    await expect(off.client.modelInfer(req('nope'))).rejects.toMatchObject({ code: 5 });
    expect(await spansOf(off)).toEqual([]);
    expect(off.tracer.started).toBe(0);
  });
});

describe('a request forwarded to a peer', () => {
  it("carries the front node's decision: a caller's unsampled trace is traced neither at the front nor at the peer (both at ratio 1)", async () => {
    const exporter = new InMemorySpanExporter();
    const frontTelemetry = await createTelemetry({ serviceName: 'inference-front', exporter, samplingRatio: 1, defaultMetrics: false });
    const instruments = { tracer: frontTelemetry.tracer, sampling: 1 };
    const manager = createModelManager({ logger: silentLogger });
    const forwarder = createPeerForwarder({ nodeId: 'front', logger: silentLogger, telemetry: instruments });
    const peer = { nodeId: 'peer', grpcAddress: on.node.grpcAddress } as Peer;
    // A node that holds no model and forwards every miss to `on` (ratio 1), as the mesh does.
    const server = createInferenceServer({ manager, logger: silentLogger, nodeId: 'front', telemetry: instruments, onModelMiss: { handleMiss: (r, _err, ctx) => forwarder.forward(peer, r, ctx) } });
    const { port } = await server.start();
    const c = createInferenceClient(`127.0.0.1:${port}`, { timeoutMs: 10_000 });
    try {
      const response = await c.modelInfer(req('plain'), { metadata: withTraceparent(false) });
      expect(traceIdOfResponse(response)).toBe(CALLER_TRACE);
      expect(await spansOf(on)).toEqual([]);
      expect(on.tracer.started).toBe(0);
      await frontTelemetry.forceFlush();
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      c.close();
      forwarder.close();
      await server.close({ drainTimeoutMs: 1000 });
      await manager.close();
      await frontTelemetry.shutdown();
    }
  });
});
