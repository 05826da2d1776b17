import {
  credentials as grpcCredentials, Metadata, type CallOptions as GrpcCallOptions, type ChannelCredentials, type ChannelOptions, type Client,
} from '@grpc/grpc-js';
import type { Tracer } from '@opentelemetry/api';
import { Code, InfermeshError } from '../errors/index.js';
import { withClientSpan } from '../telemetry/index.js';
import { Backoff, sleep, type BackoffOptions } from './backoff.js';

/** Per-call options every infermesh client takes. */
export interface RpcCallOptions {
  /** Deadline for this call in ms from now (overrides the client's default). */
  timeoutMs?: number;
  /** Aborting cancels the call; it rejects CANCELLED. */
  signal?: AbortSignal;
  /** Extra gRPC metadata (e.g. a `traceparent`). */
  metadata?: Metadata;
}

/** Retries of idempotent calls (see {@link RpcClient.unary}). */
export interface RpcRetryOptions {
  /** Attempts in all, the first included; 1 = no retry. Default: 1. */
  maxAttempts?: number;
  /** Pauses between attempts. Default: from 50 ms, doubling up to 5000 ms, no jitter. */
  backoff?: BackoffOptions;
}

/** Options of {@link createRpcClient}. */
export interface RpcClientOptions {
  /** Channel credentials. Default: insecure (plaintext). The one place TLS goes in. */
  credentials?: ChannelCredentials;
  /** grpc-js channel options (message size limits, keepalive, ...). Default: grpc-js's. */
  channelOptions?: ChannelOptions;
  /** Deadline of a unary call that sets no `timeoutMs`, in ms. Default: none. */
  timeoutMs?: number;
  /**
   * Records a CLIENT span per call as a child of the active context and sends
   * its trace context (`traceparent`) in the call's metadata. Default: no
   * spans (a `traceparent` in the call's own metadata still goes through).
   */
  tracer?: Tracer;
  /** Retries of calls marked idempotent. Default: none. */
  retry?: RpcRetryOptions;
  /**
   * Called with every call's outgoing metadata and full method name before it
   * is sent: the place for per-call credentials (e.g. `authorization: Bearer`).
   * Default: none.
   */
  decorateMetadata?: (metadata: Metadata, method: string) => void;
}

/** A grpc-js unary method as generated stubs have it. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: GrpcCallOptions,
  callback: (err: Error | null, response?: Res) => void,
) => { cancel(): void };

/** What a streaming call has that the client needs: cancel, and its end. */
interface StreamingCall {
  cancel(): void;
  once(event: 'status' | 'close', listener: () => void): unknown;
}

/** A channel to one service and the calls every infermesh client makes on it. */
export interface RpcClient<S extends Client> {
  /** `host:port` of the server. */
  readonly address: string;
  /** The generated stub, for what the helpers here do not cover. */
  readonly stub: S;
  /**
   * One unary call as a promise: deadline, abort (its listener removed when
   * the call ends), metadata hook, CLIENT span when tracing; its error an
   * InfermeshError. An `idempotent` call that fails UNAVAILABLE is tried again
   * (see {@link RpcRetryOptions}) within its deadline; others never are.
   */
  unary<Req, Res>(rpc: string, method: UnaryMethod<Req, Res>, request: Req, options?: RpcCallOptions, call?: { idempotent?: boolean }): Promise<Res>;
  /**
   * Runs `fn` (a streaming call, or several steps of one) in a CLIENT span
   * named after `rpc` when tracing; `fn` gets the options with metadata that
   * carries the span's trace context.
   */
  traced<O extends RpcCallOptions, T>(rpc: string, options: O | undefined, fn: (options: O | undefined) => Promise<T>): Promise<T>;
  /**
   * Opens a streaming call with `open(metadata, callOptions)`: metadata hook,
   * deadline (`defaultTimeoutMs` when the call sets none), and `signal`
   * cancelling it, its listener removed when the call ends.
   */
  stream<C extends StreamingCall>(rpc: string, options: RpcCallOptions | undefined, open: (metadata: Metadata, callOptions: GrpcCallOptions) => C, defaultTimeoutMs?: number): C;
  /** Resolves once the channel is connected; rejects UNAVAILABLE after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void>;
  /** Closes the channel. Idempotent. */
  close(): void;
}

/** How generated stub constructors are shaped. */
export type StubConstructor<S extends Client> = new (address: string, credentials: ChannelCredentials, options?: ChannelOptions) => S;

/** First retry pause of idempotent calls, in ms (a lost connection is usually back quickly). */
const RETRY_INITIAL_DELAY_MS = 50;

/** Creates the channel to `address` (`host:port`) of the service whose stub `Stub` is. */
export function createRpcClient<S extends Client>(Stub: StubConstructor<S>, service: string, address: string, options: RpcClientOptions = {}): RpcClient<S> {
  const stub = new Stub(address, options.credentials ?? grpcCredentials.createInsecure(), options.channelOptions ?? {});
  const maxAttempts = options.retry?.maxAttempts ?? 1;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new RangeError(`retry maxAttempts must be a whole number >= 1, got ${maxAttempts}`);
  const retryBackoff = { initialDelayMs: RETRY_INITIAL_DELAY_MS, ...options.retry?.backoff };
  let closed = false;

  const metadataFor = (rpc: string, o: RpcCallOptions | undefined): Metadata => {
    const metadata = o?.metadata ?? new Metadata();
    options.decorateMetadata?.(metadata, `/${service}/${rpc}`);
    return metadata;
  };
  const deadlineOf = (timeoutMs: number | undefined): GrpcCallOptions =>
    timeoutMs !== undefined && Number.isFinite(timeoutMs) ? { deadline: Date.now() + timeoutMs } : {};

  /** One attempt of a unary call. */
  const send = <Req, Res>(method: UnaryMethod<Req, Res>, request: Req, metadata: Metadata, callOptions: GrpcCallOptions, signal: AbortSignal | undefined) =>
    new Promise<Res>((resolve, reject) => {
      if (signal?.aborted) return reject(new InfermeshError(Code.CANCELLED, 'the call was aborted before it started'));
      const onAbort = () => call.cancel();
      const call = method.call(stub, request, metadata, callOptions, (err, response) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(InfermeshError.from(err));
        else resolve(response as Res);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  /** Every attempt of a unary call, within one deadline. */
  const attempts = async <Req, Res>(method: UnaryMethod<Req, Res>, request: Req, metadata: Metadata, o: RpcCallOptions | undefined, tries: number): Promise<Res> => {
    const timeoutMs = o?.timeoutMs ?? options.timeoutMs;
    if (tries === 1) return send(method, request, metadata, deadlineOf(timeoutMs), o?.signal);
    const deadlineMs = timeoutMs !== undefined && Number.isFinite(timeoutMs) ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
    const backoff = new Backoff(retryBackoff);
    for (let attempt = 1; ; attempt++) {
      try {
        return await send(method, request, metadata, Number.isFinite(deadlineMs) ? { deadline: deadlineMs } : {}, o?.signal);
      } catch (err) {
        const pauseMs = backoff.next();
        if ((err as InfermeshError).code !== Code.UNAVAILABLE || attempt >= tries || o?.signal?.aborted || Date.now() + pauseMs >= deadlineMs) throw err;
        await sleep(pauseMs, o?.signal);
        if (o?.signal?.aborted) throw new InfermeshError(Code.CANCELLED, 'the call was aborted between retries', { cause: err });
      }
    }
  };

  const traced: RpcClient<S>['traced'] = (rpc, o, fn) =>
    options.tracer
      ? withClientSpan(options.tracer, `${service}/${rpc}`, (metadata) => fn({ ...o, metadata } as NonNullable<typeof o>), o?.metadata ? { metadata: o.metadata } : {})
      : fn(o);

  return {
    address,
    stub,
    unary: (rpc, method, request, o, call = {}) => {
      const tries = call.idempotent ? maxAttempts : 1;
      return traced(rpc, o, (withContext) => attempts(method, request, metadataFor(rpc, withContext), withContext, tries));
    },
    traced,
    stream: (rpc, o, open, defaultTimeoutMs) => {
      const call = open(metadataFor(rpc, o), deadlineOf(o?.timeoutMs ?? defaultTimeoutMs));
      const signal = o?.signal;
      if (signal) {
        const onAbort = () => call.cancel();
        if (signal.aborted) onAbort();
        else {
          signal.addEventListener('abort', onAbort, { once: true });
          // 'status' ends every call that reached the server or failed; 'close' covers one cancelled before either.
          const done = () => signal.removeEventListener('abort', onAbort);
          call.once('status', done);
          call.once('close', done);
        }
      }
      return call;
    },
    waitForReady: (timeoutMs) =>
      new Promise((resolve, reject) => {
        stub.waitForReady(Date.now() + timeoutMs, (err) =>
          err ? reject(new InfermeshError(Code.UNAVAILABLE, `${address} not reachable within ${timeoutMs} ms: ${err.message}`, { cause: err })) : resolve(),
        );
      }),
    close: () => {
      if (closed) return;
      closed = true;
      stub.close();
    },
  };
}
