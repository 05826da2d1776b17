import type { Deadline, Metadata } from '@grpc/grpc-js';
import { callDeadlineMs } from '../../../shared/rpc/index.js';
import type { CallContext } from '../serving/index.js';

/** What every kind of grpc-js server call has (unary, client, server and bidi streaming). */
interface ServerCallLike {
  readonly metadata: Metadata;
  getDeadline(): Deadline;
  on(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

/** An AbortSignal that fires when the client cancels, and the time left before the call's deadline. */
export function callContext(call: ServerCallLike): CallContext & { done(): void } {
  const controller = new AbortController();
  const onCancel = () => controller.abort(new Error('the client cancelled the call'));
  call.on('cancelled', onCancel);
  const deadlineMs = callDeadlineMs(call);
  const timeoutMs = Number.isFinite(deadlineMs) && deadlineMs > 0 ? Math.max(1, deadlineMs - Date.now()) : undefined;
  return {
    signal: controller.signal,
    metadata: call.metadata,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    done: () => call.removeListener('cancelled', onCancel),
  };
}
