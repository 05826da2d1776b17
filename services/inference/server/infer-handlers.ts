import type { Metadata, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { InfermeshError, Code } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { ModelInferRequest__Output } from '../../../shared/generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import type { ModelStreamInferResponse } from '../../../shared/generated/inference/ModelStreamInferResponse.js';
import { endRpcSpan } from '../../../shared/telemetry/index.js';
import { answerUnaryError, boundedError, callDeadlineMs } from '../../../shared/rpc/index.js';
import { runInference, type InferCallContext, type InferDeps } from './infer-service.js';
import { InferDecodeFailure } from './infer-request-wire.js';
import { UnaryCallContext } from './unary-call-context.js';
import { DEFAULT_MAX_UNANSWERED_PER_STREAM } from './request-limits.js';
import { STREAM_ERROR_CODE_PARAMETER, TRACE_ID_PARAMETER } from '../../../shared/client/index.js';
import { authorize, callPrincipal } from '../../../shared/auth/index.js';

/** The span name of each request read from a ModelStreamInfer stream (RPC conventions). */
export const MODEL_STREAM_INFER_METHOD = 'inference.GRPCInferenceService/ModelStreamInfer';
/** The span name of a ModelInfer call. */
export const MODEL_INFER_METHOD = 'inference.GRPCInferenceService/ModelInfer';

/** Options of {@link inferHandlers}. */
export interface InferHandlerOptions {
  /** Requests read from one stream and not yet answered before the stream stops being read. Default 256. */
  maxUnansweredPerStream?: number;
  /**
   * Check each request's model against the caller's token patterns (the
   * authentication hook checked the `infer` scope once per call). Default:
   * false, and then nothing about tokens is looked at.
   */
  authorizeModels?: boolean;
}

/** The fields of ModelInfer's debug line, made once (the line is made per call only when debug is on). */
const MODEL_INFER_FIELDS = Object.freeze({ rpc: 'ModelInfer' });

/** What the wire decoder hands a handler: a request, or why the message could not be one. */
export type Received = ModelInferRequest__Output | InferDecodeFailure;

/**
 * What the ModelStreamInfer handler uses of its call: grpc-js's
 * ServerDuplexStream has it, and so does the fast path's FastStreamCall
 * (fast-stream-call.ts), so one handler serves both.
 */
export interface InferStreamCall {
  readonly metadata: Metadata;
  readonly cancelled: boolean;
  readonly writableEnded: boolean;
  getDeadline(): Date | number;
  write(message: ModelStreamInferResponse): boolean;
  pause(): unknown;
  resume(): unknown;
  end(): unknown;
  on(event: 'data', listener: (request: Received) => void): unknown;
  on(event: 'cancelled' | 'end' | 'drain', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * A call refused before it reached runInference (undecodable, not allowed):
 * traced by the caller's context or the node's ratio (its model is not known
 * here), as an ERROR SERVER span when sampled.
 */
export function traceRefused(deps: InferDeps, spanName: string, metadata: InferCallContext['metadata'], err: unknown): void {
  const tracing = deps.tracing;
  if (!tracing) return;
  const started = tracing.start(spanName, tracing.parentOf(metadata), undefined, metadata);
  if (started) endRpcSpan(started.span, err);
}

/**
 * ModelInfer and ModelStreamInfer; `deps.onMiss` serves what the manager
 * cannot (mesh mode). With `deps.tracing`, every call (and every request read
 * from a stream) is decided sampled or not once, in runInference, when its
 * model is known; a sampled one gets a SERVER span, a child of the call's
 * trace context, and an unsampled one no span or context at all. A message the wire
 * decoder could not decode is answered INVALID_ARGUMENT (unary) or with
 * error_message (stream, which stays open).
 */
export function inferHandlers(deps: InferDeps, logger: Logger, options: InferHandlerOptions = {}) {
  const traced = deps.tracing !== undefined;
  const maxUnanswered = options.maxUnansweredPerStream ?? DEFAULT_MAX_UNANSWERED_PER_STREAM;
  const authorizeModels = options.authorizeModels ?? false;
  return {
    /**
     * One object per call (UnaryCallContext): cancellation is grpc-js's own
     * `call.cancelled` flag, read at dispatch; an AbortSignal is made only
     * when something asks for one.
     */
    ModelInfer: (call: ServerUnaryCall<Received, ModelInferResponse>, callback: sendUnaryData<ModelInferResponse>): void => {
      logger.debug('call started', MODEL_INFER_FIELDS);
      const request = call.request;
      if (request instanceof InferDecodeFailure) {
        traceRefused(deps, MODEL_INFER_METHOD, call.metadata, request.error);
        return answerUnaryError('ModelInfer', logger, callback, request.error);
      }
      if (authorizeModels) {
        const principal = callPrincipal(call);
        try {
          if (principal) authorize(principal, 'infer', request.modelName);
        } catch (err) {
          traceRefused(deps, MODEL_INFER_METHOD, call.metadata, err);
          return answerUnaryError('ModelInfer', logger, callback, err);
        }
      }
      const ctx = new UnaryCallContext(call, call.metadata, callDeadlineMs(call), traced ? MODEL_INFER_METHOD : undefined);
      void runInference(deps, request, ctx).then(
        (response) => {
          ctx.answered = true;
          callback(null, response);
        },
        (err: unknown) => {
          ctx.answered = true;
          answerUnaryError('ModelInfer', logger, callback, err);
        },
      );
    },

    /**
     * Requests on one stream run concurrently and are answered as they finish
     * (match them by id). A failed request is answered with error_message; the
     * stream stays open. The stream ends once the client has ended its side
     * and every request is answered.
     *
     * Backpressure: while `maxUnanswered` requests wait for their answers, or
     * while the client does not read the answers already written (`write`
     * returned false), the stream is paused: grpc-js stops reading it and
     * HTTP/2 flow control holds the client back. Reading resumes when both clear.
     */
    ModelStreamInfer: (call: InferStreamCall): void => {
      const controller = new AbortController();
      const deadlineMs = callDeadlineMs(call);
      // The token was verified once for the stream; each request's model is checked against it.
      const principal = authorizeModels ? callPrincipal(call) : undefined;
      // The stream's trace context, read once: every request on it is a child of it (or a root of its own).
      const traceParent = traced ? deps.tracing!.parentOf(call.metadata) : undefined;
      let pending = 0;
      let clientDone = false;
      let paused = false;
      let draining = false;
      const write = (message: ModelStreamInferResponse) => {
        if (call.cancelled || call.writableEnded) return;
        try {
          if (!call.write(message)) draining = true;
        } catch (err) {
          logger.warn('stream write failed', { err });
        }
      };
      const maybeResume = () => {
        if (paused && !draining && pending < maxUnanswered && !call.cancelled) {
          paused = false;
          call.resume();
          logger.debug('stream resumed', { unanswered: pending });
        }
      };
      const settle = () => {
        pending--;
        maybeResume();
        if (clientDone && pending === 0 && !call.writableEnded) call.end();
      };
      const fail = (err: unknown, request: { id?: string; modelName?: string; modelVersion?: string }, traceId?: string) => {
        const error = boundedError(InfermeshError.from(err, Code.INTERNAL));
        write({
          errorMessage: error.message,
          inferResponse: {
            id: request.id ?? '',
            modelName: request.modelName ?? '',
            modelVersion: request.modelVersion ?? '',
            parameters: {
              [STREAM_ERROR_CODE_PARAMETER]: { stringParam: Code[error.code] },
              ...(traceId ? { [TRACE_ID_PARAMETER]: { stringParam: traceId } } : {}),
            },
          },
        });
      };
      const answered = (response: ModelInferResponse) => {
        try {
          write({ errorMessage: '', inferResponse: response });
        } catch (err) {
          logger.error('stream handler failed', { err });
        }
        settle();
      };
      const untracedContext: InferCallContext = { deadlineMs, signal: controller.signal, metadata: call.metadata, spanName: undefined, traceParent, trace: undefined, traceId: undefined };
      call.on('cancelled', () => controller.abort());
      call.on('error', (err) => logger.debug('stream error', { err }));
      call.on('drain', () => {
        draining = false;
        maybeResume();
      });
      call.on('end', () => {
        clientDone = true;
        if (pending === 0 && !call.writableEnded) call.end();
      });
      call.on('data', (request: Received) => {
        pending++;
        if (!paused && (draining || pending >= maxUnanswered)) {
          paused = true;
          call.pause();
          logger.debug('stream paused', { unanswered: pending, draining });
        }
        if (request instanceof InferDecodeFailure) {
          fail(request.error, request);
          settle();
          return;
        }
        if (principal) {
          try {
            authorize(principal, 'infer', request.modelName);
          } catch (err) {
            fail(err, request);
            settle();
            return;
          }
        }
        // One shape for every request's context (traced or not): runInference fills the trace fields of a
        // traced one, so each gets its own; untraced requests share the stream's, which nothing writes to.
        const ctx: InferCallContext = traced
          ? { deadlineMs, signal: controller.signal, metadata: call.metadata, spanName: MODEL_STREAM_INFER_METHOD, traceParent, trace: undefined, traceId: undefined }
          : untracedContext;
        // One promise per request: both reactions settle the request themselves and never throw (the stream's
        // `answered` is shared by its requests; only a failure needs the request itself).
        void runInference(deps, request, ctx).then(
          answered,
          (err: unknown) => {
            try {
              fail(err, request, ctx.traceId);
            } catch (failure) {
              logger.error('stream handler failed', { err: failure });
            }
            settle();
          },
        );
      });
    },
  };
}
