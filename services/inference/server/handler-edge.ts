import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { InfermeshError } from '../../../shared/errors/index.js';
import { clipText, type Logger } from '../../../shared/logging/index.js';

/**
 * Wraps a unary handler: whatever it throws or rejects with is mapped to a gRPC
 * status here, at the edge, and nothing escapes to crash the process.
 */
export function unaryHandler<Req, Res>(name: string, logger: Logger, handle: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    logger.debug('call started', { rpc: name });
    let result: Promise<Res>;
    try {
      result = Promise.resolve(handle(call.request, call));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (response) => callback(null, response),
      (err: unknown) => answerUnaryError(name, logger, callback, err),
    );
  };
}

/** Answers a unary call with the status `err` maps to (message cut to {@link MAX_ERROR_MESSAGE_CHARS}). */
export function answerUnaryError<Res>(name: string, logger: Logger, callback: sendUnaryData<Res>, err: unknown): void {
  const error = boundedError(InfermeshError.from(err));
  logger.debug('call failed', { rpc: name, code: error.code, err: error });
  callback(error.toServiceError());
}

/** The absolute deadline of a call in ms since the epoch (Infinity for none). */
export function callDeadlineMs(call: { getDeadline(): Date | number }): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/** The longest status message (or stream error_message) a client is sent, in characters. */
export const MAX_ERROR_MESSAGE_CHARS = 4096;

/** `error` with its message cut to {@link MAX_ERROR_MESSAGE_CHARS}: a message may quote what a client sent. */
export function boundedError(error: InfermeshError): InfermeshError {
  if (error.message.length <= MAX_ERROR_MESSAGE_CHARS) return error;
  return new InfermeshError(error.code, clipText(error.message, MAX_ERROR_MESSAGE_CHARS), { cause: error.cause });
}
