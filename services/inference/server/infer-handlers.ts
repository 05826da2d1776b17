import type { ServerDuplexStream } from '@grpc/grpc-js';
import { context as contextApi, type Tracer } from '@opentelemetry/api';
import { InfermeshError, Code } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { ModelInferRequest__Output } from '../../../shared/generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import type { ModelStreamInferResponse } from '../../../shared/generated/inference/ModelStreamInferResponse.js';
import { endRpcSpan, startServerSpan, traceIdOf } from '../../../shared/telemetry/index.js';
import { callDeadlineMs, unaryHandler } from './handler-edge.js';
import { runInference, type InferDeps } from './infer-service.js';
import { STREAM_ERROR_CODE_PARAMETER, TRACE_ID_PARAMETER } from '../../../shared/client/index.js';

/** The span name of each request read from a ModelStreamInfer stream (RPC conventions). */
export const MODEL_STREAM_INFER_METHOD = 'inference.GRPCInferenceService/ModelStreamInfer';

/**
 * ModelInfer and ModelStreamInfer; `deps.onMiss` serves what the manager
 * cannot (mesh mode). ModelInfer runs inside the SERVER span the server wraps
 * it in; with a `tracer`, every request read from a stream gets a SERVER span
 * of its own, a child of the stream's trace context.
 */
export function inferHandlers(deps: InferDeps, logger: Logger, tracer?: Tracer) {
  return {
    ModelInfer: unaryHandler<ModelInferRequest__Output, ModelInferResponse>('ModelInfer', logger, (request, call) => {
      const controller = new AbortController();
      call.once('cancelled', () => controller.abort());
      return runInference(deps, request, {
        deadlineMs: callDeadlineMs(call),
        signal: controller.signal,
        metadata: call.metadata,
        ...(tracer ? { traceContext: contextApi.active() } : {}),
      });
    }),

    /**
     * Requests on one stream run concurrently and are answered as they finish
     * (match them by id). A failed request is answered with error_message; the
     * stream stays open. The stream ends once the client has ended its side
     * and every request is answered.
     */
    ModelStreamInfer: (call: ServerDuplexStream<ModelInferRequest__Output, ModelStreamInferResponse>): void => {
      const controller = new AbortController();
      const deadlineMs = callDeadlineMs(call);
      let pending = 0;
      let clientDone = false;
      const write = (message: ModelStreamInferResponse) => {
        if (call.cancelled || call.writableEnded) return;
        try {
          call.write(message);
        } catch (err) {
          logger.warn('stream write failed', { err });
        }
      };
      const maybeEnd = () => {
        if (clientDone && pending === 0 && !call.writableEnded) call.end();
      };
      call.on('cancelled', () => controller.abort());
      call.on('error', (err) => logger.debug('stream error', { err }));
      call.on('end', () => {
        clientDone = true;
        maybeEnd();
      });
      call.on('data', (request: ModelInferRequest__Output) => {
        pending++;
        const traced = tracer ? startServerSpan(tracer, MODEL_STREAM_INFER_METHOD, call.metadata) : undefined;
        const ctx = { deadlineMs, signal: controller.signal, metadata: call.metadata, ...(traced ? { traceContext: traced.context } : {}) };
        (traced ? contextApi.with(traced.context, () => runInference(deps, request, ctx)) : runInference(deps, request, ctx))
          .then(
            (response) => {
              if (traced) endRpcSpan(traced.span);
              write({ errorMessage: '', inferResponse: response });
            },
            (err: unknown) => {
              const error = InfermeshError.from(err, Code.INTERNAL);
              if (traced) endRpcSpan(traced.span, error);
              const traceId = traceIdOf(traced?.context);
              write({
                errorMessage: error.message,
                inferResponse: {
                  id: request?.id ?? '',
                  modelName: request?.modelName ?? '',
                  modelVersion: request?.modelVersion ?? '',
                  parameters: {
                    [STREAM_ERROR_CODE_PARAMETER]: { stringParam: Code[error.code] },
                    ...(traceId ? { [TRACE_ID_PARAMETER]: { stringParam: traceId } } : {}),
                  },
                },
              });
            },
          )
          .finally(() => {
            pending--;
            maybeEnd();
          })
          .catch((err: unknown) => logger.error('stream handler failed', { err }));
      });
    },
  };
}
