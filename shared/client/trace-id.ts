import type { ModelInferResponse__Output } from '../generated/inference/ModelInferResponse.js';

/**
 * Name of the response parameter (`string_param`) in which an infermesh node
 * returns the trace id (32 hex digits) of every inference response, unary and
 * streamed, also when the request was not sampled: look the trace up in the
 * monitor with it (`infermesh traces show ID`).
 */
export const TRACE_ID_PARAMETER = 'trace_id';

/** The trace id an infermesh node sent with `response`, or undefined (another server, or none). */
export function traceIdOfResponse(response: Pick<ModelInferResponse__Output, 'parameters'> | null | undefined): string | undefined {
  const value = response?.parameters?.[TRACE_ID_PARAMETER]?.stringParam;
  return value ? value : undefined;
}
