import { Code, InfermeshError, deadlineExceeded } from '../../../shared/errors/index.js';
import type { InferParameter__Output } from '../../../shared/generated/inference/InferParameter.js';
import type { ModelInferRequest__Output } from '../../../shared/generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import type { ModelManager } from '../models/index.js';
import { decodeInferRequest } from './request-decoder.js';
import { buildInferResponse } from './response-encoder.js';

/** How a call reaches {@link runInference}: its deadline and cancellation. */
export interface InferCallContext {
  /** Absolute deadline, ms since the epoch; Infinity for none. */
  deadlineMs: number;
  signal: AbortSignal;
}

/**
 * Serves one ModelInferRequest (unary or from a stream): picks the version,
 * validates and decodes, executes, encodes, records statistics. Rejects with an
 * InfermeshError; the handlers map it to a status or a stream error_message.
 */
export async function runInference(manager: ModelManager, request: ModelInferRequest__Output, ctx: InferCallContext): Promise<ModelInferResponse> {
  const started = process.hrtime.bigint();
  const lease = manager.acquire(request.modelName, request.modelVersion);
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
