import type { Metadata } from '@grpc/grpc-js';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { RequestTrace } from '../telemetry/index.js';
import type { InferCallContext } from './infer-service.js';

/** The abort reason of a unary call whose client went away (shared: abort() without one builds a DOMException and its stack each time). */
const CALL_CANCELLED = new InfermeshError(Code.CANCELLED, 'the client cancelled the call');

/** What a unary call context reads of grpc-js's call. */
export interface CancellableCall {
  /** grpc-js sets it when the call's stream closes (answered or not) and then emits 'cancelled'. */
  readonly cancelled: boolean;
  once(event: 'cancelled', listener: () => void): unknown;
}

/**
 * The {@link InferCallContext} of one unary ModelInfer call, and the only
 * object the handler makes for it. Whether the client went away is read from
 * grpc-js's own `call.cancelled` flag when the executor dispatches, so a call
 * costs no AbortController, AbortSignal or 'cancelled' listener. A real
 * AbortSignal is made only when something asks for `signal` (mesh
 * forwarding, waits for a model to load); it aborts when the client goes.
 * Once the call is answered (`answered`), a later 'cancelled' is only its
 * stream closing and aborts nothing.
 */
export class UnaryCallContext implements InferCallContext {
  readonly deadlineMs: number;
  readonly metadata: Metadata;
  /** The SERVER span runInference starts when it samples the call; undefined on a node that does not trace. */
  readonly spanName: string | undefined;
  /** Set by runInference (see InferCallContext). */
  trace: RequestTrace | undefined = undefined;
  traceId: string | undefined = undefined;
  /** Set when the call is answered. */
  answered = false;
  readonly #call: CancellableCall;
  #controller: AbortController | undefined;

  constructor(call: CancellableCall, metadata: Metadata, deadlineMs: number, spanName: string | undefined) {
    this.#call = call;
    this.metadata = metadata;
    this.deadlineMs = deadlineMs;
    this.spanName = spanName;
  }

  /** True once the client has gone away before its answer. */
  get aborted(): boolean {
    return !this.answered && this.#call.cancelled;
  }

  /** What the executor checks at dispatch: this context itself. */
  get cancelled(): { readonly aborted: boolean } {
    return this;
  }

  /** An AbortSignal that aborts when the client goes away, made (and listened for) on first read. */
  get signal(): AbortSignal {
    return (this.#controller ??= callAbortController(this, (gone) => this.#call.once('cancelled', gone))).signal;
  }
}

/**
 * The AbortController behind a call context's lazy `signal`: aborted at once
 * when the call already is, else when `onGone` reports the client gone, unless
 * the call was answered by then (its stream closing is then no cancellation).
 */
export function callAbortController(call: { readonly aborted: boolean; readonly answered: boolean }, onGone: (listener: () => void) => void): AbortController {
  const controller = new AbortController();
  if (call.aborted) controller.abort(CALL_CANCELLED);
  else
    onGone(() => {
      if (!call.answered) controller.abort(CALL_CANCELLED);
    });
  return controller;
}
