import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Metadata, status as GrpcStatus, type Server } from '@grpc/grpc-js';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { boundedError, setPrincipal, type Authenticate, type Principal } from '../../../shared/rpc/index.js';
import type { ModelInferRequest__Output } from '../../../shared/generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import type { RequestTrace } from '../telemetry/index.js';
import type { InferCallContext } from './infer-service.js';
import { InferDecodeFailure } from './infer-request-wire.js';
import { callAbortController } from './unary-call-context.js';
import { GRPC_FRAME_HEADER_BYTES, encodeModelInferResponseFrame } from './infer-response-wire.js';

/*
 * Unary ModelInfer served on grpc-js's own HTTP/2 sessions, without grpc-js's
 * per-call machinery (call and interceptor objects, metadata parsing, a
 * deserialize/serialize step, stream wrappers). Measured under 64 unary calls
 * in flight (h2load, the node on one core), that machinery cost the node about
 * half its throughput: the same decode, batching, ORT run and encode answered
 * 13.9k calls/s through grpc-js and 25.7k/s on the HTTP/2 stream directly.
 *
 * grpc-js keeps everything else: the listening sockets, TLS, the HTTP/2
 * sessions (flow control, keepalive, GOAWAY on shutdown), every other method,
 * and any ModelInfer call this path does not take: one whose request is
 * compressed, or whose content-type is not gRPC's. The server's authentication
 * hook runs here as it does on grpc-js's path. What
 * this path does for a call is what grpc-js does for it: the `grpc-timeout`
 * deadline (answered DEADLINE_EXCEEDED when it passes first), the receive and
 * send size limits (RESOURCE_EXHAUSTED), one request message (a second, or
 * none, is UNIMPLEMENTED as in grpc-js), the same response headers, trailers
 * and status encoding; and the call is cancelled when its stream closes.
 */

/** The HTTP/2 paths of ModelInfer and ModelStreamInfer. */
export const MODEL_INFER_PATH = '/inference.GRPCInferenceService/ModelInfer';
export const MODEL_STREAM_INFER_PATH = '/inference.GRPCInferenceService/ModelStreamInfer';

/** What the fast path calls into: the server's own decoder and handler logic. */
export interface UnaryFastPathOptions {
  readonly logger: Logger;
  /** Largest request message accepted, in bytes (grpc-js's `grpc.max_receive_message_length`). */
  readonly maxReceiveBytes: number;
  /** Largest response message sent, in bytes (`grpc.max_send_message_length`). */
  readonly maxSendBytes: number;
  /** The wire decoder (it may rewrite the buffer it is given: each message gets a buffer of its own here). */
  decode(message: Buffer): ModelInferRequest__Output | InferDecodeFailure;
  /** Serves a decoded request (runInference with the node's deps). */
  serve(request: ModelInferRequest__Output, ctx: InferCallContext): Promise<ModelInferResponse>;
  /** The request was refused before it was served (a decode failure): lets the node trace it as grpc-js's path does. */
  refused?(metadata: Metadata, err: InfermeshError): void;
  /** The SERVER span name runInference uses when the node traces; undefined when it does not. */
  readonly spanName: string | undefined;
  /**
   * The server's authentication hook, run once per call before anything is
   * served, as grpc-js's path runs it (a refusal is answered with its status,
   * UNAUTHENTICATED when it names none); then `authorize(principal, request)`
   * checks the request's model against the principal. Absent: calls are not
   * authenticated.
   */
  readonly authenticate?: Authenticate;
  authorize?(principal: Principal | undefined, modelName: string): void;
  /**
   * Serves a ModelStreamInfer call (the server wraps the stream in a
   * FastStreamCall for the stream handler). Absent: streams go through grpc-js.
   */
  stream?(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
}

/**
 * Puts the fast path in front of grpc-js's handler on every HTTP/2 server
 * `server` listens with (call after `bindAsync` has completed). Returns how
 * many listeners it was installed on (0: grpc-js's internals are not the ones
 * known here, and every call goes through grpc-js as before).
 */
export function installUnaryFastPath(server: Server, options: UnaryFastPathOptions): number {
  const listeners = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(listeners instanceof Map)) return 0;
  let installed = 0;
  for (const http2Server of (listeners as Map<Http2Server, unknown>).keys()) {
    const grpcJs = http2Server.listeners('stream') as ((stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => void)[];
    if (grpcJs.length === 0) continue;
    http2Server.removeAllListeners('stream');
    http2Server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      const path = takes(headers);
      if (path === MODEL_INFER_PATH) {
        serveCall(stream, headers, options);
        return;
      }
      if (path === MODEL_STREAM_INFER_PATH && options.stream) {
        options.stream(stream, headers);
        return;
      }
      for (const listener of grpcJs) listener.call(http2Server, stream, headers, flags);
    });
    installed++;
  }
  return installed;
}

/** The inference method a stream calls when the fast path serves it (a plain, uncompressed gRPC call); undefined: grpc-js serves it. */
function takes(headers: IncomingHttpHeaders): string | undefined {
  const path = headers[':path'];
  if ((path !== MODEL_INFER_PATH && path !== MODEL_STREAM_INFER_PATH) || headers[':method'] !== 'POST') return undefined;
  const type = headers['content-type'];
  if (typeof type !== 'string' || !type.startsWith('application/grpc')) return undefined;
  const encoding = headers['grpc-encoding'];
  return encoding === undefined || encoding === 'identity' ? path : undefined;
}

export const RESPONSE_HEADERS = Object.freeze({
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
});
/** A trailers-only answer's headers besides the status, as grpc-js sends them. */
export const STATUS_ONLY_HEADERS = Object.freeze({ ':status': 200, 'content-type': 'application/grpc+proto' });
export const OK_TRAILERS = Object.freeze({ 'grpc-status': String(GrpcStatus.OK), 'grpc-message': 'OK' });
const RESPONSE_OPTIONS = Object.freeze({ waitForTrailers: true });

/** `grpc-timeout` as gRPC defines it: up to 8 digits and a unit. */
const TIMEOUT_PATTERN = /^(\d{1,8})([HMSmun])$/;
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * What is wrong with a request frame's header (its compressed flag and its
 * message length), as grpc-js answers it; undefined when nothing is. Checked
 * as soon as the 5 bytes are in, before the message is kept.
 */
export function frameHeaderFault(compressedFlag: number, length: number, maxReceiveBytes: number): InfermeshError | undefined {
  if (compressedFlag !== 0) return new InfermeshError(Code.INTERNAL, 'a compressed message without a grpc-encoding header');
  if (length > maxReceiveBytes) return new InfermeshError(Code.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${maxReceiveBytes})`);
  return undefined;
}

/** A `grpc-timeout` value in ms (as grpc-js reads it), or undefined when it is not one. */
export function grpcTimeoutMs(value: string): number | undefined {
  const match = TIMEOUT_PATTERN.exec(value);
  return match ? (Number(match[1]) * TIMEOUT_UNIT_MS[match[2]!]!) | 0 : undefined;
}


/**
 * One unary call on the fast path, and its {@link InferCallContext}: the one
 * object the path makes per call besides what it receives and sends. The
 * metadata and an AbortSignal are made only when something reads them.
 */
class FastUnaryCall implements InferCallContext {
  deadlineMs = Infinity;
  readonly spanName: string | undefined;
  trace: RequestTrace | undefined = undefined;
  traceId: string | undefined = undefined;
  /** Set once the call has been answered (or cut off): nothing more is sent. */
  answered = false;
  readonly #stream: ServerHttp2Stream;
  readonly #headers: IncomingHttpHeaders;
  readonly #o: UnaryFastPathOptions;
  #metadata: Metadata | undefined;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #chunks: Buffer[] | undefined;
  /** The authentication hook's verdict, started with the call (undefined: no hook). */
  #verdict: Promise<Principal | undefined> | undefined;
  #first: Buffer | undefined;
  #bytes = 0;
  /** The message's length once its frame header has arrived; -1 before. */
  #length = -1;
  /** Answered with a status before the request was served (deadline, limits): the executor drops it if still queued. */
  #cutOff = false;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options: UnaryFastPathOptions) {
    this.#stream = stream;
    this.#headers = headers;
    this.#o = options;
    this.spanName = options.spanName;
  }

  get metadata(): Metadata {
    return (this.#metadata ??= Metadata.fromHttp2Headers(this.#headers));
  }

  /** True once the client has gone away before its answer. */
  get aborted(): boolean {
    return this.#cutOff || (!this.answered && (this.#stream.closed || this.#stream.destroyed));
  }

  /** What the executor checks at dispatch: this call itself. */
  get cancelled(): { readonly aborted: boolean } {
    return this;
  }

  get signal(): AbortSignal {
    return (this.#controller ??= callAbortController(this, (gone) => this.#stream.once('close', gone))).signal;
  }

  start(): void {
    const stream = this.#stream;
    // As grpc-js does: an error on the stream is followed by its close, which is what counts.
    stream.on('error', ignore);
    const timeout = this.#headers['grpc-timeout'];
    if (timeout !== undefined && !this.#startDeadline(String(timeout))) return;
    const authenticate = this.#o.authenticate;
    if (authenticate) {
      this.#verdict = authenticateFastCall(authenticate, this, this.metadata, stream, MODEL_INFER_PATH);
      // Answered when the message is in; until then a refusal must not go unhandled.
      this.#verdict.catch(ignore);
    }
    stream.on('data', (chunk: Buffer) => this.#receive(chunk));
    stream.once('end', () => this.#received());
    stream.once('close', () => this.#clearTimer());
  }

  #startDeadline(timeout: string): boolean {
    const ms = grpcTimeoutMs(timeout);
    if (ms === undefined) {
      this.#fail(new InfermeshError(Code.INTERNAL, `Invalid grpc-timeout value "${timeout}"`));
      return false;
    }
    this.deadlineMs = Date.now() + ms;
    this.#timer = setTimeout(() => this.#fail(new InfermeshError(Code.DEADLINE_EXCEEDED, 'Deadline exceeded')), ms);
    return true;
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Frames arrive in chunks: the length is checked against the limit as soon as its header is in, before anything is kept. */
  #receive(chunk: Buffer): void {
    if (this.answered) return;
    this.#bytes += chunk.byteLength;
    if (this.#first === undefined) this.#first = chunk;
    else (this.#chunks ??= [this.#first]).push(chunk);
    if (this.#length < 0 && this.#bytes >= GRPC_FRAME_HEADER_BYTES) {
      const head = this.#chunks ? Buffer.concat(this.#chunks, GRPC_FRAME_HEADER_BYTES) : this.#first;
      this.#length = head.readUInt32BE(1);
      const fault = frameHeaderFault(head[0]!, this.#length, this.#o.maxReceiveBytes);
      if (fault) {
        this.#fail(fault);
        return;
      }
    }
    if (this.#length >= 0 && this.#bytes > GRPC_FRAME_HEADER_BYTES + this.#length) {
      // More than one message: what grpc-js answers for a second request message of a unary method.
      this.#fail(new InfermeshError(Code.UNIMPLEMENTED, `Received a second request message for server streaming method ${MODEL_INFER_PATH}`));
    }
  }

  #received(): void {
    if (this.answered) return;
    if (this.#length < 0 || this.#bytes < GRPC_FRAME_HEADER_BYTES + this.#length) {
      this.#fail(new InfermeshError(Code.UNIMPLEMENTED, `Received no request message for server streaming method ${MODEL_INFER_PATH}`));
      return;
    }
    // The message in a buffer of its own (the decoder may move tensors within it); one copy, as grpc-js makes.
    const message = Buffer.allocUnsafe(this.#length);
    if (this.#chunks) {
      let at = 0;
      let skip = GRPC_FRAME_HEADER_BYTES;
      for (const c of this.#chunks) {
        const from = Math.min(skip, c.byteLength);
        skip -= from;
        at += c.copy(message, at, from);
      }
    } else {
      this.#first!.copy(message, 0, GRPC_FRAME_HEADER_BYTES, GRPC_FRAME_HEADER_BYTES + this.#length);
    }
    this.#chunks = undefined;
    this.#first = undefined;
    if (this.#verdict) {
      this.#verdict.then(
        (principal) => this.#decodeAndServe(message, principal),
        (err: unknown) => this.#fail(err),
      );
      return;
    }
    this.#decodeAndServe(message, undefined);
  }

  #decodeAndServe(message: Buffer, principal: Principal | undefined): void {
    if (this.answered) return;
    const request = this.#o.decode(message);
    if (request instanceof InferDecodeFailure) {
      this.#o.refused?.(this.metadata, request.error);
      this.#fail(request.error);
      return;
    }
    if (this.#o.authorize) {
      try {
        this.#o.authorize(principal, request.modelName);
      } catch (err) {
        this.#o.refused?.(this.metadata, InfermeshError.from(err));
        this.#fail(err);
        return;
      }
    }
    this.#o.serve(request, this).then(
      (response) => this.#answer(response),
      (err: unknown) => this.#fail(err),
    );
  }

  #answer(response: ModelInferResponse): void {
    if (this.answered) return;
    let frame: Buffer;
    try {
      frame = encodeModelInferResponseFrame(response);
    } catch (err) {
      this.#fail(err);
      return;
    }
    const size = frame.byteLength - GRPC_FRAME_HEADER_BYTES;
    if (size > this.#o.maxSendBytes) {
      this.#fail(new InfermeshError(Code.RESOURCE_EXHAUSTED, `Sent message larger than max (${size} vs. ${this.#o.maxSendBytes})`));
      return;
    }
    this.answered = true;
    this.#clearTimer();
    const stream = this.#stream;
    if (stream.closed || stream.destroyed) return;
    try {
      stream.respond(RESPONSE_HEADERS, RESPONSE_OPTIONS);
      stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
      stream.end(frame);
    } catch (err) {
      this.#o.logger.debug('answer not sent', { err });
    }
  }

  /** Answers with the status `err` maps to (trailers only: nothing was sent before), as grpc-js's path does. */
  #fail(err: unknown): void {
    if (this.answered) return;
    this.answered = true;
    this.#cutOff = true;
    this.#clearTimer();
    const error = boundedError(InfermeshError.from(err));
    this.#controller?.abort(error);
    if (err instanceof InfermeshError) this.#o.logger.debug('call failed', { rpc: 'ModelInfer', code: error.code, err: error });
    else this.#o.logger.error('unexpected failure', { rpc: 'ModelInfer', err });
    const stream = this.#stream;
    if (stream.closed || stream.destroyed || stream.headersSent) return;
    try {
      stream.respond({ ...STATUS_ONLY_HEADERS, 'grpc-status': String(error.code), 'grpc-message': encodeURI(error.message) }, { endStream: true });
    } catch (failure) {
      this.#o.logger.debug('status not sent', { err: failure });
    }
  }
}

function ignore(): void {}

/** The client's address as grpc-js's `getPeer()` gives it. */
export function peerOf(stream: ServerHttp2Stream): string {
  const socket = stream.session?.socket;
  if (!socket?.remoteAddress) return 'unknown';
  return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
}

/**
 * Runs the authentication hook for a call on the fast path; resolves with its
 * principal (recorded for `callPrincipal(call)`), or rejects with the status
 * to answer (UNAUTHENTICATED when the hook names none).
 */
export async function authenticateFastCall(authenticate: Authenticate, call: object, metadata: Metadata, stream: ServerHttp2Stream, method: string): Promise<Principal | undefined> {
  try {
    const principal = await authenticate({ metadata, peer: peerOf(stream), method });
    if (principal) setPrincipal(call, principal);
    return principal ?? undefined;
  } catch (err) {
    throw InfermeshError.from(err, Code.UNAUTHENTICATED);
  }
}

function serveCall(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options: UnaryFastPathOptions): void {
  options.logger.debug('call started', FAST_FIELDS);
  new FastUnaryCall(stream, headers, options).start();
}

const FAST_FIELDS = Object.freeze({ rpc: 'ModelInfer', path: 'fast' });
