import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { ATTR_BATCH_SIZE, ATTR_DEVICE, ATTR_MODEL_NAME, ATTR_MODEL_VERSION, rpcAttributes, SPAN_NAMES } from '../../shared/telemetry/index.js';

/** What {@link seedInferenceTrace} recorded, to find it again. */
export interface SeededTrace {
  /** The trace of request A: client span, server span, queue, batch, ort.run. */
  traceId: string;
  /** Request B's own trace (server span and queue), served by the same batch. */
  otherTraceId: string;
  batchSpanId: string;
  serverSpanIdA: string;
  serverSpanIdB: string;
}

const MODEL_INFER = 'inference.GRPCInferenceService/ModelInfer';

/**
 * Records what one batched prediction looks like in infermesh: a client calls
 * ModelInfer (service `client`), the node's server span (service `inference`)
 * waits in `queue`, and one `batch` (child of request A, linking both request
 * spans) runs `ort.run`; request B, from another trace, is served by the same
 * batch. Times are explicit so the waterfall has a realistic shape.
 */
export function seedInferenceTrace(client: Tracer, inference: Tracer, model = 'resnet50', version = '2'): SeededTrace {
  const t0 = Date.now() - 50;
  const at = (ms: number) => t0 + ms;
  const modelAttrs = { [ATTR_MODEL_NAME]: model, [ATTR_MODEL_VERSION]: version };

  const clientSpan = client.startSpan(MODEL_INFER, { kind: SpanKind.CLIENT, startTime: at(0), attributes: rpcAttributes(MODEL_INFER) });
  const serverA = inference.startSpan(
    MODEL_INFER,
    { kind: SpanKind.SERVER, startTime: at(0.3), attributes: { ...rpcAttributes(MODEL_INFER), ...modelAttrs, 'rpc.grpc.status_code': 0 } },
    trace.setSpan(context.active(), clientSpan),
  );
  const serverB = inference.startSpan(MODEL_INFER, {
    kind: SpanKind.SERVER,
    startTime: at(0.8),
    attributes: { ...rpcAttributes(MODEL_INFER), ...modelAttrs, 'rpc.grpc.status_code': 0 },
  });
  const ctxA = trace.setSpan(context.active(), serverA);
  const ctxB = trace.setSpan(context.active(), serverB);
  const queueA = inference.startSpan(SPAN_NAMES.queue, { startTime: at(0.4), attributes: modelAttrs }, ctxA);
  const queueB = inference.startSpan(SPAN_NAMES.queue, { startTime: at(0.9), attributes: modelAttrs }, ctxB);
  queueA.end(at(1.9));
  queueB.end(at(1.9));
  const batch = inference.startSpan(
    SPAN_NAMES.batch,
    {
      startTime: at(1.9),
      attributes: { ...modelAttrs, [ATTR_BATCH_SIZE]: 2, [ATTR_DEVICE]: 'cpu' },
      links: [
        { context: serverA.spanContext(), attributes: { 'infermesh.link.kind': 'request' } },
        { context: serverB.spanContext(), attributes: { 'infermesh.link.kind': 'request' } },
      ],
    },
    ctxA,
  );
  const ortRun = inference.startSpan(SPAN_NAMES.ortRun, { startTime: at(2.1), attributes: { ...modelAttrs, [ATTR_BATCH_SIZE]: 2, [ATTR_DEVICE]: 'cpu' } }, trace.setSpan(ctxA, batch));
  ortRun.addEvent('outputs sliced', { outputs: 1 }, at(3.7));
  ortRun.end(at(3.8));
  batch.end(at(4.0));
  serverA.end(at(4.3));
  serverB.end(at(4.6));
  clientSpan.setAttribute('rpc.grpc.status_code', 0);
  clientSpan.end(at(4.9));
  return {
    traceId: clientSpan.spanContext().traceId,
    otherTraceId: serverB.spanContext().traceId,
    batchSpanId: batch.spanContext().spanId,
    serverSpanIdA: serverA.spanContext().spanId,
    serverSpanIdB: serverB.spanContext().spanId,
  };
}

/** A failed request (NOT_FOUND), for error filters. Returns its trace id. */
export function seedFailedRequest(inference: Tracer, model = 'missing-model'): string {
  const span = inference.startSpan(MODEL_INFER, {
    kind: SpanKind.SERVER,
    attributes: { ...rpcAttributes(MODEL_INFER), [ATTR_MODEL_NAME]: model, [ATTR_MODEL_VERSION]: '1', 'rpc.grpc.status_code': 5 },
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message: `NOT_FOUND: model "${model}" is not in the registry` });
  span.end();
  return span.spanContext().traceId;
}

/** `count` plain requests to one model with durations spread from 1 to about 10 ms. */
export function seedRequests(inference: Tracer, model: string, version: string, count: number): void {
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const start = now - 60_000 + i * 100;
    const span = inference.startSpan(MODEL_INFER, {
      kind: SpanKind.SERVER,
      startTime: start,
      attributes: { ...rpcAttributes(MODEL_INFER), [ATTR_MODEL_NAME]: model, [ATTR_MODEL_VERSION]: version, 'rpc.grpc.status_code': 0 },
    });
    span.end(start + 1 + (i % 10));
  }
}
