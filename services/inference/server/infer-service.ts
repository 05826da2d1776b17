import { Code, InfermeshError, deadlineExceeded } from '../../../shared/errors/index.js';
import type { InferParameter__Output } from '../../../shared/generated/inference/InferParameter.js';
import type { ModelInferRequest__Output } from '../../../shared/generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import type { Metadata } from '@grpc/grpc-js';
import type { ModelManager, VersionLease } from '../models/index.js';
import { decodeInferRequest } from './request-decoder.js';
import { buildInferResponse } from './response-encoder.js';

/** How a call reaches {@link runInference}: its deadline and cancellation. */
export interface InferCallContext {
  /** Absolute deadline, ms since the epoch; Infinity for none. */
  deadlineMs: number;
  signal: AbortSignal;
  /** The call's request metadata (forwarding marks, trace context); absent for in-process calls. */
  metadata?: Metadata;
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
export async function runInference(manager: ModelManager, request: ModelInferRequest__Output, ctx: InferCallContext, onMiss?: ModelMissHandler): Promise<ModelInferResponse> {
  const started = process.hrtime.bigint();
  let lease: VersionLease;
  try {
    lease = manager.acquire(request.modelName, request.modelVersion);
  } catch (err) {
    const error = InfermeshError.from(err, Code.INTERNAL);
    if (!onMiss || (error.code !== Code.NOT_FOUND && error.code !== Code.UNAVAILABLE)) throw error;
    const outcome = await onMiss.handleMiss(request, error, ctx);
    if (outcome !== 'retry') return outcome;
    lease = manager.acquire(request.modelName, request.modelVersion);
  }
  const loaded = lease.version;
  try {
    let deadlineMs = ctx.deadlineMs;
    const timeoutUs = numberParam(request.parameters?.timeout);
    if (timeoutUs !== undefined && timeoutUs > 0) deadlineMs = Math.min(deadlineMs, Date.now() + timeoutUs / 1000);
    if (deadlineMs === Infinity && loaded.config.defaultTimeoutMs !== undefined) deadlineMs = Date.now() + loaded.config.defaultTimeoutMs;
    if (Date.now() >= deadlineMs) throw deadlineExceeded('the deadline passed before the request was decoded');
    const decodeStart = process.hrtime.bigint();
    const decoded = decodeInferRequest(request, loaded);
    const decodeNs = process.hrtime.bigint() - decodeStart;
    const result = await loaded.executor.execute({
      inputs: decoded.inputs,
      outputNames: decoded.outputNames,
      priority: numberParam(request.parameters?.priority) ?? 0,
      deadlineMs,
      signal: ctx.signal,
    });
    const encodeStart = process.hrtime.bigint();
    const response = buildInferResponse({
      modelName: loaded.model,
      modelVersion: loaded.version,
      id: request.id,
      outputNames: decoded.outputNames,
      outputs: result.outputs,
    });
    const encodeNs = process.hrtime.bigint() - encodeStart;
    loaded.stats.recordSuccess(decoded.inferences, process.hrtime.bigint() - started, {
      ...result.timings,
      computeInputNs: result.timings.computeInputNs + decodeNs,
      computeOutputNs: result.timings.computeOutputNs + encodeNs,
    });
    return response;
  } catch (err) {
    loaded.stats.recordFailure(process.hrtime.bigint() - started);
    throw InfermeshError.from(err, Code.INTERNAL);
  } finally {
    lease.release();
  }
}

function numberParam(p: InferParameter__Output | undefined): number | undefined {
  if (!p) return undefined;
  const v = p.int64Param ?? p.uint64Param ?? p.doubleParam;
  return v === undefined ? undefined : Number(v);
}
