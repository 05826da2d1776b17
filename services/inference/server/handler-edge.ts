import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { InfermeshError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';

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
      (err: unknown) => {
        const error = InfermeshError.from(err);
        logger.debug('call failed', { rpc: name, code: error.code, err: error });
        callback(error.toServiceError());
      },
    );
  };
}

/** The absolute deadline of a call in ms since the epoch (Infinity for none). */
export function callDeadlineMs(call: { getDeadline(): Date | number }): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}
