import type { ServerDuplexStream } from '@grpc/grpc-js';
import { InfermeshError, Code } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { ModelInferRequest__Output } from '../../../shared/generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import type { ModelStreamInferResponse } from '../../../shared/generated/inference/ModelStreamInferResponse.js';
import type { ModelManager } from '../models/index.js';
import { callDeadlineMs, unaryHandler } from './handler-edge.js';
import { runInference, type ModelMissHandler } from './infer-service.js';
import { STREAM_ERROR_CODE_PARAMETER } from '../../../shared/client/index.js';


/** ModelInfer and ModelStreamInfer; `onMiss` serves what the manager cannot (mesh mode). */
export function inferHandlers(manager: ModelManager, logger: Logger, onMiss?: ModelMissHandler) {
  return {
    ModelInfer: unaryHandler<ModelInferRequest__Output, ModelInferResponse>('ModelInfer', logger, (request, call) => {
      const controller = new AbortController();
      call.once('cancelled', () => controller.abort());
      return runInference(manager, request, { deadlineMs: callDeadlineMs(call), signal: controller.signal, metadata: call.metadata }, onMiss);
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
        runInference(manager, request, { deadlineMs, signal: controller.signal, metadata: call.metadata }, onMiss)
          .then(
            (response) => write({ errorMessage: '', inferResponse: response }),
            (err: unknown) => {
              const error = InfermeshError.from(err, Code.INTERNAL);
              write({
                errorMessage: error.message,
                inferResponse: {
                  id: request?.id ?? '',
                  modelName: request?.modelName ?? '',
                  modelVersion: request?.modelVersion ?? '',
                  parameters: { [STREAM_ERROR_CODE_PARAMETER]: { stringParam: Code[error.code] } },
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
