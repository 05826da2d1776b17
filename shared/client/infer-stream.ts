import type { ClientDuplexStream } from '@grpc/grpc-js';
import { Code, InfermeshError } from '../errors/index.js';
import type { ModelInferRequest } from '../generated/inference/ModelInferRequest.js';
import type { ModelInferResponse__Output } from '../generated/inference/ModelInferResponse.js';
import type { ModelStreamInferResponse__Output } from '../generated/inference/ModelStreamInferResponse.js';

/** One answer on a stream: a response, or the error the server sent for that request id. */
export type StreamResult =
  | { id: string; response: ModelInferResponse__Output; error?: undefined }
  | { id: string; error: InfermeshError; response?: undefined };

/**
 * A ModelStreamInfer call. Either iterate it (`for await (const r of stream)`)
 * for every answer in arrival order, or `await stream.infer(request)` for the
 * answer matched to that request's id (such answers are not also iterated).
 * Call `end()` when done writing; iteration ends after the last answer.
 */
export interface InferStream extends AsyncIterable<StreamResult> {
  /** Sends a request; its answer arrives through iteration. */
  write(request: ModelInferRequest): void;
  /** Sends a request (an id is assigned when it has none) and resolves with its own answer. */
  infer(request: ModelInferRequest): Promise<ModelInferResponse__Output>;
  /** No more requests. */
  end(): void;
  /** Cancels the call; pending answers reject CANCELLED. */
  cancel(): void;
  /** Resolves when the call has finished (either way). */
  readonly closed: Promise<void>;
}

/**
 * Name of the response parameter in which an infermesh node sends the status
 * code name (e.g. `INVALID_ARGUMENT`) next to a stream's `error_message`, so that
 * clients can tell errors apart; other clients ignore it.
 */
export const STREAM_ERROR_CODE_PARAMETER = 'error_code';

/** The stream over an open call (its deadline and abort are the RPC client's: see RpcClient.stream). */
export function createInferStream(call: ClientDuplexStream<ModelInferRequest, ModelStreamInferResponse__Output>): InferStream {
  const waiting = new Map<string, { resolve: (r: ModelInferResponse__Output) => void; reject: (e: InfermeshError) => void }>();
  const queue: StreamResult[] = [];
  let wake: (() => void) | undefined;
  let failure: InfermeshError | undefined;
  let done = false;
  let nextId = 0;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  const finish = (error?: InfermeshError) => {
    if (done) return;
    done = true;
    failure = error;
    for (const w of waiting.values()) w.reject(error ?? new InfermeshError(Code.UNAVAILABLE, 'the stream ended before this request was answered'));
    waiting.clear();
    wake?.();
    resolveClosed();
  };

  call.on('data', (message: ModelStreamInferResponse__Output) => {
    const response = message.inferResponse;
    const id = response?.id ?? '';
    const result: StreamResult = message.errorMessage
      ? { id, error: new InfermeshError(errorCode(response), message.errorMessage) }
      : { id, response: response! };
    const w = waiting.get(id);
    if (w) {
      waiting.delete(id);
      if (result.error) w.reject(result.error);
      else w.resolve(result.response);
      return;
    }
    queue.push(result);
    wake?.();
  });
  call.on('error', (err) => finish(InfermeshError.from(err)));
  call.on('end', () => finish());

  const write = (request: ModelInferRequest) => {
    if (done) throw failure ?? new InfermeshError(Code.FAILED_PRECONDITION, 'the stream is closed');
    call.write(request);
  };

  return {
    write,
    infer(request) {
      const id = request.id || `s${nextId++}`;
      if (waiting.has(id)) return Promise.reject(new InfermeshError(Code.INVALID_ARGUMENT, `request id '${id}' is already waiting for an answer on this stream`));
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        try {
          write({ ...request, id });
        } catch (err) {
          waiting.delete(id);
          reject(InfermeshError.from(err));
        }
      });
    },
    end: () => call.end(),
    cancel: () => call.cancel(),
    closed,
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (done) {
          if (failure && failure.code !== Code.OK) throw failure;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
  };
}

function errorCode(response: ModelInferResponse__Output | null | undefined): Code {
  const name = response?.parameters?.[STREAM_ERROR_CODE_PARAMETER]?.stringParam;
  const code = name ? (Code as unknown as Record<string, number>)[name] : undefined;
  return typeof code === 'number' ? code : Code.UNKNOWN;
}
