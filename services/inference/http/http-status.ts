import { Code, InfermeshError } from '../../../shared/errors/index.js';

/**
 * The HTTP status of each error code, as Google's HTTP mapping of gRPC codes
 * has it (bad input 400, unknown model or version 404, loading or draining
 * 503, queue full 429, deadline 504). Codes without an entry are 500.
 */
const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.INVALID_ARGUMENT]: 400,
  [Code.FAILED_PRECONDITION]: 400,
  [Code.OUT_OF_RANGE]: 400,
  [Code.UNAUTHENTICATED]: 401,
  [Code.PERMISSION_DENIED]: 403,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.ABORTED]: 409,
  [Code.RESOURCE_EXHAUSTED]: 429,
  // The client went away; nginx's code, so that a log that sees it reads right.
  [Code.CANCELLED]: 499,
  [Code.UNIMPLEMENTED]: 501,
  [Code.UNAVAILABLE]: 503,
  [Code.DEADLINE_EXCEEDED]: 504,
};

/** The HTTP status an InfermeshError is answered with. */
export function httpStatusOf(error: InfermeshError): number {
  return HTTP_STATUS[error.code] ?? 500;
}

/**
 * An error of the HTTP layer itself (body too large, no route, wrong method,
 * unsupported encoding): a status with no gRPC twin, and its message.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  /** Extra response headers (e.g. `allow` for 405). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Close the connection after the answer: the request body was not read
   * (too large, over the in-flight budget, draining), and the rest of it
   * must not be taken for the next request.
   */
  readonly closeConnection: boolean;
  /** The message without the caller's data it quotes, for logs and spans (as InfermeshError's); undefined when it quotes none. */
  readonly logMessage: string | undefined;

  constructor(
    readonly status: number,
    message: string,
    options: { headers?: Readonly<Record<string, string>>; closeConnection?: boolean; logMessage?: string } = {},
  ) {
    super(message);
    this.headers = options.headers ?? {};
    this.closeConnection = options.closeConnection ?? false;
    this.logMessage = options.logMessage;
  }
}

/** The status, error type (for spans and logs) and message anything thrown by a handler is answered with. */
export function describeFailure(err: unknown): { status: number; type: string; message: string; error: Error } {
  if (err instanceof HttpError) return { status: err.status, type: String(err.status), message: err.message, error: err };
  const error = InfermeshError.from(err, Code.INTERNAL);
  return { status: httpStatusOf(error), type: Code[error.code] ?? String(error.code), message: error.message, error };
}
