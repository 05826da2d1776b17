import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { isNeverSent } from '../../../shared/client/index.js';

/** What a node answers, before running anything, for a model it cannot serve now (see the model manager, the executor and the follower). */
const NOT_RUN = /every replica is gone|version \d+ is (LOADING|UNLOADING|UNAVAILABLE)|has no ready version|it takes no new requests/;

/**
 * True when a failed forward is safe to send to another replica: the request
 * certainly did not run on the peer. That is a connection failure before the
 * request was sent, or UNAVAILABLE the peer itself answered before running it
 * (the model not held, loading or draining there: the peer's details say so).
 * A call cut off after it was sent (connection dropped, reset) may have run,
 * and is never sent again.
 */
export function isSafeToRetry(err: unknown): boolean {
  const e = InfermeshError.from(err);
  return e.code === Code.UNAVAILABLE && (isNeverSent(e) || NOT_RUN.test(e.message));
}

/** True when the call failed before it was sent: the peer is unreachable (not merely busy). */
export { isNeverSent as neverSent };
