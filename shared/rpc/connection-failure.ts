import { Code, InfermeshError } from '../errors/index.js';

/**
 * grpc-js's details for a call that failed before any byte of it left: no
 * connection could be had (refused, unreachable, resolution failed), so the
 * server cannot have run it.
 */
const NEVER_SENT = /^(No connection established|Name resolution failed|DNS resolution failed|failed to connect)|connect (ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)/i;

/** grpc-js's details for a connection lost while a call was on it (it may have run). */
const CONNECTION_LOST = /^(Connection dropped|read ECONNRESET|Received RST_STREAM|Socket closed|GOAWAY)/i;

/** True when the call failed before it was sent: the server is unreachable and cannot have run it. */
export function isNeverSent(err: unknown): boolean {
  const e = InfermeshError.from(err);
  return e.code === Code.UNAVAILABLE && NEVER_SENT.test(e.message);
}

/** True when the connection to the server is gone: never sent, or lost with the call on it. */
export function isConnectionLoss(err: unknown): boolean {
  const e = InfermeshError.from(err);
  return e.code === Code.UNAVAILABLE && (NEVER_SENT.test(e.message) || CONNECTION_LOST.test(e.message));
}
