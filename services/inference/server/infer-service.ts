import { Code, InfermeshError, deadlineExceeded } from '../../../shared/errors/index.js';
import type { InferParameter__Output } from '../../../shared/generated/inference/InferParameter.js';
import type { ModelInferRequest__Output } from '../../../shared/generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import { randomUUID } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { context as contextApi, trace, type Context, type Span } from '@opentelemetry/api';
import { ATTR_MODEL_NAME, ATTR_MODEL_VERSION, ATTR_NODE_ID, endRpcSpan, setClientAttributes, traceIdOf, type TraceParent } from '../../../shared/telemetry/index.js';
import { TRACE_ID_PARAMETER } from '../../../shared/client/index.js';
import type { ModelManager, VersionLease } from '../models/index.js';
import type { InferenceTelemetry, RequestTrace, RequestTracing } from '../telemetry/index.js';
import { REQUEST_ID_PARAMETER, type PredictionRecorder } from '../records/index.js';
import { decodeInferRequest } from './request-decoder.js';
import { buildInferResponse, type InferResponseParts } from './response-encoder.js';
import type { ExecutionRequest } from '../execution/index.js';
import { requestWireBytes } from './infer-request-wire.js';
import type { RequestByteBudget } from './request-limits.js';

/** How a call reaches {@link runInference}: its deadline and cancellation. */
export interface InferCallContext {
  /** Absolute deadline, ms since the epoch; Infinity for none. */
  deadlineMs: number;
  /**
   * Aborts when the caller goes away. Read only where a real signal is needed
   * (mesh forwarding, waits): a unary call makes it on first read.
   */
  readonly signal: AbortSignal;
  /**
   * Whether the caller has gone away, as the executor checks it at dispatch:
   * a view that costs nothing per request (a unary call's `cancelled` flag).
   * Default: `signal`.
   */
  readonly cancelled?: { readonly aborted: boolean };
  /** The call's request metadata (forwarding marks, trace context); absent for in-process calls. */
  metadata?: Metadata;
  /**
   * A context whose SERVER span the caller started itself (the HTTP server),
   * sampled or not: the model attributes go on that span when it records, its
   * trace id into the response, and the executor's spans hang off it when
   * sampled. gRPC calls give `spanName` instead.
   */
  traceContext?: Context;
  /**
   * gRPC calls on a node that traces: the SERVER span (`package.Service/Method`)
   * that {@link runInference} starts when it decides, once the model is known,
   * that the request is sampled (InferDeps.tracing). Absent: it decides nothing.
   */
  readonly spanName?: string;
  /** The caller's trace context, parsed once per call or stream (null: none); undefined: read from `metadata` when needed. */
  readonly traceParent?: TraceParent | null;
  /** Set by runInference when the request is sampled: its span, which ends when runInference settles. */
  trace?: RequestTrace | undefined;
  /** Set by runInference (with `spanName`): the trace id the response reports, errors included, sampled or not. */
  traceId?: string | undefined;
}

/** What {@link runInference} serves with. */
export interface InferDeps {
  manager: ModelManager;
  /** Serves what the manager cannot (mesh mode). */
  onMiss?: ModelMissHandler;
  /** Counts requests that never reached a model version (e.g. NOT_FOUND); versions count their own. */
  telemetry?: InferenceTelemetry;
  /** This node's id, put on server spans (mesh mode). */
  nodeId?: string;
  /** The node-wide budget of request bytes held from decode to answer; beyond it, RESOURCE_EXHAUSTED. Default: none. */
  requestBudget?: RequestByteBudget;
  /** Samples served requests into prediction records for the monitor (services/inference/records). */
  recorder?: PredictionRecorder;
  /** Per-request sampling of gRPC calls (those whose context has `spanName`); absent: the node does not trace them. */
  tracing?: RequestTracing;
}

/**
 * What a node does with a request its own model manager cannot serve (mesh mode,
 * services/inference/mesh): forward it to a peer that holds the model, or load
 * the version here and let the request retry.
 */
export interface ModelMissHandler {
  /**
   * Called when the manager answers NOT_FOUND or UNAVAILABLE for the request's
   * model or version (`error`). Resolves with the response when the request was
   * served elsewhere, or with `'retry'` once the version is READY here; rejects
   * with the status to answer (the original `error` when nothing helps).
   */
  handleMiss(request: ModelInferRequest__Output, error: InfermeshError, ctx: InferCallContext): Promise<ModelInferResponse | 'retry'>;
}

/**
 * Serves one ModelInferRequest (unary or from a stream): picks the version,
 * validates and decodes, executes, encodes, records statistics. Rejects with an
 * InfermeshError; the handlers map it to a status or a stream error_message.
 * With `onMiss`, a model or version this node cannot serve goes to it first.
 */
export async function runInference(deps: InferDeps, request: ModelInferRequest__Output, ctx: InferCallContext): Promise<ModelInferResponse> {
  // One async frame per request: the lease, decode, run, encode and accounting are inline here (a model
  // this node cannot serve goes through the rare `missed` path instead).
  const budget = deps.requestBudget;
  const heldBytes = budget ? requestWireBytes(request) : 0;
  budget?.acquire(heldBytes);
  // The request's clock: performance.now() (ms, monotonic), so that no BigInt is made per request.
  const started = performance.now();
  try {
    const { manager } = deps;
    // gRPC calls are decided here, once the model (and its own rate) is known; a caller's own span (HTTP) is taken as it is.
    const tracing = ctx.spanName !== undefined ? deps.tracing : undefined;
    const decided = tracing ? (ctx as InferCallContext & { spanName: string }) : undefined;
    const callerSpan = tracing ? undefined : recordingSpanOf(ctx.traceContext);
    let lease: VersionLease;
    try {
      lease = manager.acquire(request.modelName, request.modelVersion);
    } catch (err) {
      const outcome = await missed(deps, request, ctx, err, tracing, decided, callerSpan);
      if (!(outcome instanceof MissRetry)) {
        if (ctx.trace) endRpcSpan(ctx.trace.span);
        return outcome;
      }
      lease = outcome.lease;
    }
    const loaded = lease.version;
    try {
      if (decided && decided.traceId === undefined) decideTrace(tracing!, decided, loaded.config.tracing?.sampleRate);
      // Only sampled requests pay for attributes (and for anything below): one field says which.
      const recording = decided ? decided.trace?.span : callerSpan;
      const traceContext = decided ? decided.trace?.context : callerSpan && ctx.traceContext;
      const traceId = decided ? decided.traceId : ctx.traceContext && traceIdOf(ctx.traceContext);
      if (recording) {
        recording.setAttributes(loaded.instruments.spanAttributes);
        if (deps.nodeId) recording.setAttribute(ATTR_NODE_ID, deps.nodeId);
      }
      // The wall clock is read once, and only when a deadline needs it.
      let deadlineMs = ctx.deadlineMs;
      const parameters = request.parameters;
      const timeoutUs = parameters ? numberParam(parameters.timeout) : undefined;
      const needsClock = (timeoutUs !== undefined && timeoutUs > 0) || deadlineMs !== Infinity || loaded.config.defaultTimeoutMs !== undefined;
      const nowMs = needsClock ? Date.now() : 0;
      if (timeoutUs !== undefined && timeoutUs > 0) deadlineMs = Math.min(deadlineMs, nowMs + timeoutUs / 1000);
      if (deadlineMs === Infinity && loaded.config.defaultTimeoutMs !== undefined) deadlineMs = nowMs + loaded.config.defaultTimeoutMs;
      if (needsClock && nowMs >= deadlineMs) throw deadlineExceeded('the deadline passed before the request was decoded');
      const decoded = decodeInferRequest(request, loaded);
      // Four clock reads per request: decoding counts from `started` (the lease and deadline before it take well under a µs).
      const decodedAt = performance.now();
      // Objects built field by field, not by spreads of conditional literals (which V8 clones slowly), on this per-request path.
      const execution: Mutable<ExecutionRequest> = {
        inputs: decoded.inputs,
        outputNames: decoded.outputNames,
        priority: (parameters ? numberParam(parameters.priority) : undefined) ?? 0,
        deadlineMs,
        signal: ctx.cancelled ?? ctx.signal,
      };
      if (traceContext) execution.traceContext = traceContext;
      const result = await loaded.executor.execute(execution);
      const encodeStart = performance.now();
      // Records and feedback join on the request id: the client's, or one assigned here and returned.
      const requestId = request.id || randomUUID();
      const parts: InferResponseParts = { modelName: loaded.model, modelVersion: loaded.version, id: request.id, outputNames: decoded.outputNames, outputs: result.outputs };
      if (!request.id) parts.parameters = { [REQUEST_ID_PARAMETER]: { stringParam: requestId } };
      if (traceId) parts.traceId = traceId;
      const response = buildInferResponse(parts);
      const ended = performance.now();
      const totalNs = nsBetween(started, ended);
      // The executor's timings object is this request's own: decoding and encoding are added to it.
      const timings = result.timings;
      timings.computeInputNs += nsBetween(started, decodedAt);
      timings.computeOutputNs += nsBetween(encodeStart, ended);
      loaded.stats.recordSuccess(decoded.inferences, totalNs, timings);
      loaded.instruments.recordRequest('OK', totalNs, timings.queueNs, timings.computeInputNs + timings.computeInferNs + timings.computeOutputNs);
      const recorder = deps.recorder;
      if (recorder?.sampled(loaded.config.records)) recorder.push({ model: loaded.model, version: loaded.version, config: loaded.config.records, requestId, traceId: traceId ?? '', timeMs: Date.now(), latencyNs: totalNs, inputs: decoded.inputs, outputs: result.outputs });
      if (ctx.trace) endRpcSpan(ctx.trace.span);
      return response;
    } catch (err) {
      const totalNs = nsBetween(started, performance.now());
      loaded.stats.recordFailure(totalNs);
      const error = InfermeshError.from(err, Code.INTERNAL);
      loaded.instruments.recordRequest(Code[error.code] ?? String(error.code), totalNs);
      throw error;
    } finally {
      lease.release();
    }
  } catch (err) {
    if (ctx.trace) endRpcSpan(ctx.trace.span, err);
    throw err;
  } finally {
    budget?.release(heldBytes);
  }
}

/**
 * Decides whether a gRPC request is traced, by the caller's context, then
 * `modelRate` (the model's `tracing.sampleRate`; undefined when the model has
 * none or is not known here), then the node's ratio, and sets `ctx.trace`
 * (sampled only) and `ctx.traceId`. Before it, no span object exists.
 */
function decideTrace(tracing: RequestTracing, ctx: InferCallContext & { spanName: string }, modelRate: number | undefined): void {
  const parent = ctx.traceParent !== undefined ? ctx.traceParent : tracing.parentOf(ctx.metadata);
  const started = tracing.start(ctx.spanName, parent, modelRate, ctx.metadata);
  ctx.trace = started;
  ctx.traceId = started ? started.traceId : tracing.unsampledTraceId(parent);
}

/** The recording span of a context the caller started (HTTP), if it records. */
function recordingSpanOf(ctx: Context | undefined): Span | undefined {
  const span = ctx && trace.getSpan(ctx);
  return span?.isRecording() ? span : undefined;
}

/** Whole nanoseconds between two performance.now() readings (ms). */
const nsBetween = (fromMs: number, toMs: number): number => Math.round((toMs - fromMs) * 1e6);

/** What {@link missed} gives back when the version is READY here now: serve it on this lease. */
class MissRetry {
  constructor(readonly lease: VersionLease) {}
}

/**
 * A request whose model or version the manager could not lease (`err`): in
 * mesh mode the miss handler forwards it or loads the version (then the
 * request is served here on the lease in a {@link MissRetry}); otherwise, or
 * when that fails, it is counted (a model never heard of under model="") and
 * rejected with its status.
 */
async function missed(
  deps: InferDeps,
  request: ModelInferRequest__Output,
  ctx: InferCallContext,
  err: unknown,
  tracing: RequestTracing | undefined,
  decided: (InferCallContext & { spanName: string }) | undefined,
  callerSpan: Span | undefined,
): Promise<ModelInferResponse | MissRetry> {
  const { manager, onMiss } = deps;
  try {
    // Not served here: the model's rate is not known, the node's ratio decides.
    if (decided) decideTrace(tracing!, decided, undefined);
    const recording = decided ? decided.trace?.span : callerSpan;
    if (recording) {
      if (deps.nodeId) recording.setAttribute(ATTR_NODE_ID, deps.nodeId);
      // The names the client asked for, not ones served here: bounded.
      setClientAttributes(recording, { [ATTR_MODEL_NAME]: request.modelName, ...(request.modelVersion ? { [ATTR_MODEL_VERSION]: request.modelVersion } : {}) });
    }
    const error = InfermeshError.from(err, Code.INTERNAL);
    if (!onMiss || (error.code !== Code.NOT_FOUND && error.code !== Code.UNAVAILABLE)) throw error;
    // What the miss does elsewhere (a forward, registry calls) runs in the request's trace, sampled or not (a rare path).
    const missContext = decided ? (decided.trace?.context ?? tracing!.unsampledContext(decided.traceId!)) : undefined;
    const handle = () => onMiss.handleMiss(request, error, ctx);
    const outcome = await (missContext ? contextApi.with(missContext, handle) : handle());
    if (outcome !== 'retry') return withTraceId(outcome, decided ? decided.traceId : ctx.traceContext && traceIdOf(ctx.traceContext));
    return new MissRetry(manager.acquire(request.modelName, request.modelVersion));
  } catch (failure) {
    const error = InfermeshError.from(failure, Code.INTERNAL);
    // Bounded labels: a model this node has never heard of counts under model="".
    const model = manager.versionsOf(request.modelName).length > 0 ? request.modelName : '';
    deps.telemetry?.metrics?.requestsTotal.inc({ model, version: '', status: Code[error.code] ?? String(error.code) });
    throw error;
  }
}

/** Built field by field on the request path. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A response served elsewhere (a peer) carries that node's trace id; one that has none gets ours. */
function withTraceId(response: ModelInferResponse, traceId: string | undefined): ModelInferResponse {
  if (!traceId || response.parameters?.[TRACE_ID_PARAMETER]?.stringParam) return response;
  return { ...response, parameters: { ...response.parameters, [TRACE_ID_PARAMETER]: { stringParam: traceId } } };
}

function numberParam(p: InferParameter__Output | undefined): number | undefined {
  if (!p) return undefined;
  const v = p.int64Param ?? p.uint64Param ?? p.doubleParam;
  return v === undefined ? undefined : Number(v);
}
