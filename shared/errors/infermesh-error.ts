import { Metadata, type ServiceError } from '@grpc/grpc-js';

/**
 * Error codes, aligned one to one with gRPC status codes so that the edges
 * (server handlers, clients) map them without a table of special cases.
 */
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/**
 * The one error type that crosses module and service boundaries in infermesh.
 * It carries a gRPC-aligned {@link Code}, a message written for the caller
 * (naming what was wrong and what was expected), and the underlying `cause`.
 */
export class InfermeshError extends Error {
  override readonly name = 'InfermeshError';
  readonly code: Code;
  /**
   * The message without the caller's data it quotes (a tensor element, a
   * parser's excerpt of the body), for logs and spans; undefined when the
   * message quotes none. See {@link loggableMessage}.
   */
  readonly logMessage: string | undefined;

  constructor(code: Code, message: string, options?: { cause?: unknown; logMessage?: string }) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.logMessage = options?.logMessage;
  }

  /**
   * Converts anything thrown into an InfermeshError: an InfermeshError is kept,
   * a grpc-js ServiceError keeps its status, an AbortError becomes CANCELLED
   * (or DEADLINE_EXCEEDED for a timeout), and everything else is UNKNOWN with
   * the original as `cause`.
   */
  static from(err: unknown, fallback: Code = Code.UNKNOWN): InfermeshError {
    if (err instanceof InfermeshError) return err;
    if (isServiceError(err)) {
      return new InfermeshError(err.code as number, err.details || err.message, { cause: err });
    }
    if (err instanceof Error) {
      if (err.name === 'TimeoutError') return new InfermeshError(Code.DEADLINE_EXCEEDED, err.message, { cause: err });
      if (err.name === 'AbortError') return new InfermeshError(Code.CANCELLED, err.message, { cause: err });
      return new InfermeshError(fallback, err.message, { cause: err });
    }
    return new InfermeshError(fallback, String(err), { cause: err });
  }

  /** The grpc-js form of this error, for server handlers to pass to a callback or `emit('error')`. */
  toServiceError(): Partial<ServiceError> {
    return { code: this.code as number, details: this.message, message: this.message, metadata: new Metadata() };
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return (
    typeof err === 'object' && err !== null && 'code' in err && typeof (err).code === 'number' &&
    'details' in err && 'metadata' in err
  );
}

/** Shorthands for the codes the services raise most. */
export const invalidArgument = (message: string, cause?: unknown) => new InfermeshError(Code.INVALID_ARGUMENT, message, { cause });
export const notFound = (message: string, cause?: unknown) => new InfermeshError(Code.NOT_FOUND, message, { cause });
export const unavailable = (message: string, cause?: unknown) => new InfermeshError(Code.UNAVAILABLE, message, { cause });
export const failedPrecondition = (message: string, cause?: unknown) => new InfermeshError(Code.FAILED_PRECONDITION, message, { cause });
export const resourceExhausted = (message: string, cause?: unknown) => new InfermeshError(Code.RESOURCE_EXHAUSTED, message, { cause });
export const deadlineExceeded = (message: string, cause?: unknown) => new InfermeshError(Code.DEADLINE_EXCEEDED, message, { cause });

/**
 * The message of anything thrown, fit for a log line or a span: an error's
 * `logMessage` when it has one (its message quotes what the caller sent),
 * else its message (a grpc-js error's details).
 */
export function loggableMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { logMessage, message, details } = err as { logMessage?: unknown; message?: unknown; details?: unknown };
    if (typeof logMessage === 'string') return logMessage;
    if (typeof details === 'string' && details) return details;
    if (typeof message === 'string') return message;
  }
  return String(err);
}
