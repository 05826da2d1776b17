import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Metadata } from '@grpc/grpc-js';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { boundedError } from '../../../shared/rpc/index.js';
import type { ModelStreamInferResponse } from '../../../shared/generated/inference/ModelStreamInferResponse.js';
import { GRPC_FRAME_HEADER_BYTES, encodeModelStreamInferResponseFrame } from './infer-response-wire.js';
import { OK_TRAILERS, RESPONSE_HEADERS, STATUS_ONLY_HEADERS, frameHeaderFault, grpcTimeoutMs, type UnaryFastPathOptions } from './unary-fast-path.js';

/**
 * One ModelStreamInfer call on the fast path, as the part of grpc-js's
 * ServerDuplexStream that the stream handler (infer-handlers.ts) uses:
 * `metadata`, `getDeadline()`, `cancelled`, `writableEnded`, `write()` (false
 * when the client is not reading), `pause()` / `resume()`, `end()`, and the
 * events 'data' (one decoded request), 'end', 'drain', 'cancelled', 'error'.
 * The same handler therefore serves both paths, with the same backpressure.
 *
 * Receiving: the bytes are split into gRPC frames as they arrive; each
 * frame's length is checked against the receive limit from its header,
 * before it is kept (over it, the stream ends RESOURCE_EXHAUSTED, as in
 * grpc-js). While the handler has paused the call nothing is decoded: the
 * bytes wait as received, at most what one read of the HTTP/2 stream brought,
 * since the stream itself is paused with it and flow control holds the
 * client back.
 */
export class FastStreamCall extends EventEmitter {
  cancelled = false;
  readonly #stream: ServerHttp2Stream;
  readonly #headers: IncomingHttpHeaders;
  readonly #o: UnaryFastPathOptions;
  #metadata: Metadata | undefined;
  #deadlineMs = Infinity;
  #timer: NodeJS.Timeout | undefined;
  #headersSent = false;
  #ended = false;
  #paused = false;
  #clientDone = false;
  /** Received bytes not yet split into messages. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The current frame's message length once its header is in; -1 before. */
  #length = -1;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options: UnaryFastPathOptions) {
    super();
    this.#stream = stream;
    this.#headers = headers;
    this.#o = options;
    // From the start: a call refused before its handler has it must not leave a stream error unhandled.
    stream.on('error', (err: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
  }

  get metadata(): Metadata {
    return (this.#metadata ??= Metadata.fromHttp2Headers(this.#headers));
  }

  /** The HTTP/2 stream the call runs on (for the authentication hook's peer). */
  get http2Stream(): ServerHttp2Stream {
    return this.#stream;
  }

  get writableEnded(): boolean {
    return this.#ended;
  }

  getDeadline(): number {
    return this.#deadlineMs;
  }

  /** Starts reading; call once the handler has its listeners on (see {@link serveStream}). */
  start(): void {
    const stream = this.#stream;
    stream.on('data', (chunk: Buffer) => this.#receive(chunk));
    stream.once('end', () => {
      this.#clientDone = true;
      this.#flush();
    });
    stream.on('drain', () => this.emit('drain'));
    stream.once('close', () => {
      this.#clearTimer();
      if (!this.#ended) {
        this.cancelled = true;
        this.#ended = true;
        this.emit('cancelled');
      }
    });
  }

  /** Reads the deadline; false when the header is invalid (the call has been answered). */
  readDeadline(): boolean {
    const timeout = this.#headers['grpc-timeout'];
    if (timeout === undefined) return true;
    const ms = grpcTimeoutMs(String(timeout));
    if (ms === undefined) {
      this.#endWithStatus(new InfermeshError(Code.INTERNAL, `Invalid grpc-timeout value "${String(timeout)}"`));
      return false;
    }
    this.#deadlineMs = Date.now() + ms;
    this.#timer = setTimeout(() => this.#endWithStatus(new InfermeshError(Code.DEADLINE_EXCEEDED, 'Deadline exceeded')), ms);
    return true;
  }

  write(message: ModelStreamInferResponse): boolean {
    if (this.#ended || this.#stream.destroyed) return false;
    const frame = encodeModelStreamInferResponseFrame(message);
    const size = frame.byteLength - GRPC_FRAME_HEADER_BYTES;
    if (size > this.#o.maxSendBytes) {
      this.#endWithStatus(new InfermeshError(Code.RESOURCE_EXHAUSTED, `Sent message larger than max (${size} vs. ${this.#o.maxSendBytes})`));
      return false;
    }
    this.#sendHeaders();
    return this.#stream.write(frame);
  }

  pause(): void {
    this.#paused = true;
    this.#stream.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#flush();
    if (!this.#paused) this.#stream.resume();
  }

  /** Ends the call with status OK. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#clearTimer();
    const stream = this.#stream;
    if (stream.closed || stream.destroyed) return;
    if (!this.#headersSent) {
      stream.respond({ ...STATUS_ONLY_HEADERS, ...OK_TRAILERS }, { endStream: true });
      return;
    }
    stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
    stream.end();
  }

  #sendHeaders(): void {
    if (this.#headersSent) return;
    this.#headersSent = true;
    this.#stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  }

  /** Ends the call with a status other than OK before its handler has it (a refused authentication). */
  refuse(err: InfermeshError): void {
    this.#endWithStatus(err);
  }

  /** Ends the call with a status other than OK (a limit, a deadline, a protocol fault). */
  #endWithStatus(err: InfermeshError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.cancelled = true;
    this.#clearTimer();
    const error = boundedError(err);
    this.#o.logger.debug('stream ended', { rpc: 'ModelStreamInfer', code: error.code, err: error });
    const stream = this.#stream;
    // The handler stops: its requests in flight are cancelled, as when grpc-js ends a stream.
    this.emit('cancelled');
    if (stream.closed || stream.destroyed) return;
    try {
      const status = { 'grpc-status': String(error.code), 'grpc-message': encodeURI(error.message) };
      if (!this.#headersSent) {
        stream.respond({ ...STATUS_ONLY_HEADERS, ...status }, { endStream: true });
      } else {
        stream.once('wantTrailers', () => stream.sendTrailers(status));
        stream.end();
      }
    } catch (failure) {
      this.#o.logger.debug('status not sent', { err: failure });
    }
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #receive(chunk: Buffer): void {
    if (this.#ended) return;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    this.#flush();
  }

  /**
   * Hands the handler the requests received so far, one frame at a time, while
   * it has not paused the call (a paused call decodes nothing), then the
   * client's end. A frame's header is checked as soon as it is in.
   */
  #flush(): void {
    const max = this.#o.maxReceiveBytes;
    while (!this.#paused && !this.#ended) {
      if (this.#length < 0) {
        if (this.#pendingBytes < GRPC_FRAME_HEADER_BYTES) break;
        const length = this.#uint32At(1);
        const fault = frameHeaderFault(this.#byteAt(0), length, max);
        if (fault) {
          this.#endWithStatus(fault);
          return;
        }
        this.#consume(GRPC_FRAME_HEADER_BYTES);
        this.#length = length;
      }
      if (this.#pendingBytes < this.#length) break;
      // The message in a buffer of its own (the decoder may rewrite it).
      const message = Buffer.allocUnsafe(this.#length);
      this.#consume(this.#length, message);
      this.#length = -1;
      this.emit('data', this.#o.decode(message));
    }
    if (!this.#clientDone || this.#paused || this.#ended) return;
    if (this.#pendingBytes > 0 || this.#length >= 0) {
      this.#endWithStatus(new InfermeshError(Code.INTERNAL, 'the stream ended inside a message'));
      return;
    }
    this.#clientDone = false;
    this.emit('end');
  }

  /** The received byte at offset `i` (within what is pending). */
  #byteAt(i: number): number {
    for (const c of this.#pending) {
      if (i < c.byteLength) return c[i]!;
      i -= c.byteLength;
    }
    return -1;
  }

  #uint32At(i: number): number {
    const first = this.#pending[0]!;
    if (first.byteLength >= i + 4) return first.readUInt32BE(i);
    return ((this.#byteAt(i) << 24) | (this.#byteAt(i + 1) << 16) | (this.#byteAt(i + 2) << 8) | this.#byteAt(i + 3)) >>> 0;
  }

  /** Drops the next `n` pending bytes, copying them into `into` when given. */
  #consume(n: number, into?: Buffer): void {
    let at = 0;
    while (at < n) {
      const first = this.#pending[0]!;
      const used = Math.min(first.byteLength, n - at);
      if (into) first.copy(into, at, 0, used);
      at += used;
      if (used === first.byteLength) this.#pending.shift();
      else this.#pending[0] = first.subarray(used);
    }
    this.#pendingBytes -= n;
  }
}
