// One unary gRPC call over node:http2, enough for OTLP/gRPC's Export: the body
// is already framed (5-byte header + message), the answer is only checked for
// HTTP 200 and grpc-status 0. No retries, ever: the caller decides what a
// failure means (the span export worker opens its circuit). Runs in the span
// export worker, so none of this touches the traced program's thread.
import { connect, constants, type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2';
import type { ExportTls } from './span-export-protocol.js';

/** The OTLP trace export method. */
export const OTLP_TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** Why an export did not succeed. */
export class ExportFailure extends Error {
  override readonly name = 'ExportFailure';
}

/** A unary gRPC caller of one endpoint (`http://host:port` or `https://host:port`), keeping one HTTP/2 session. */
export class GrpcUnarySender {
  readonly #authority: string;
  readonly #tls: SecureClientSessionOptions | undefined;
  readonly #authorization: string | undefined;
  #session: ClientHttp2Session | undefined;
  /** Requests sent (each a connection attempt too when no session is open). */
  attempts = 0;

  /** `tls` applies to an `https://` endpoint: the CA to trust and the client certificate (mTLS); `token` goes in every call's `authorization`. */
  constructor(endpoint: string, tls?: ExportTls, token?: string) {
    this.#authorization = token ? `Bearer ${token}` : undefined;
    const url = new URL(endpoint);
    const secure = url.protocol === 'https:';
    this.#authority = `${secure ? 'https:' : 'http:'}//${url.host}`;
    this.#tls = secure && tls ? { ...(tls.ca ? { ca: Buffer.from(tls.ca) } : {}), ...(tls.cert ? { cert: Buffer.from(tls.cert) } : {}), ...(tls.key ? { key: Buffer.from(tls.key) } : {}) } : undefined;
  }

  #sessionFor(): ClientHttp2Session {
    if (this.#session && !this.#session.closed && !this.#session.destroyed) return this.#session;
    const session = this.#tls ? connect(this.#authority, this.#tls) : connect(this.#authority);
    // Errors surface on the request; a session error only retires the session.
    session.on('error', () => this.#retire(session));
    session.on('goaway', () => this.#retire(session));
    session.on('close', () => this.#retire(session));
    session.unref();
    this.#session = session;
    return session;
  }

  #retire(session: ClientHttp2Session): void {
    if (this.#session === session) this.#session = undefined;
    if (!session.destroyed) session.destroy();
  }

  /** Sends one framed request body to `path`; resolves on grpc-status 0, rejects with an {@link ExportFailure} otherwise. */
  send(path: string, framedBody: Buffer, timeoutMs: number): Promise<void> {
    this.attempts++;
    return new Promise<void>((resolve, reject) => {
      let session: ClientHttp2Session;
      try {
        session = this.#sessionFor();
      } catch (err) {
        reject(new ExportFailure(`cannot connect: ${(err as Error).message}`));
        return;
      }
      let settled = false;
      let httpStatus = 0;
      let grpcStatus: string | undefined;
      let grpcMessage = '';
      const done = (err?: ExportFailure) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          // A failed call says nothing good about the connection: start afresh next time.
          this.#retire(session);
          reject(err);
        } else resolve();
      };
      let req: ReturnType<ClientHttp2Session['request']>;
      try {
        req = session.request({
          [constants.HTTP2_HEADER_METHOD]: 'POST',
          [constants.HTTP2_HEADER_PATH]: path,
          [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
          ...(this.#authorization ? { authorization: this.#authorization } : {}),
        });
      } catch (err) {
        this.#retire(session);
        reject(new ExportFailure(`cannot start the call: ${(err as Error).message}`));
        return;
      }
      const timer = setTimeout(() => {
        req.close(constants.NGHTTP2_CANCEL);
        done(new ExportFailure(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      const readStatus = (headers: Record<string, unknown>) => {
        const status = headers['grpc-status'];
        if (status !== undefined) grpcStatus = String(status);
        const message = headers['grpc-message'];
        if (message !== undefined) grpcMessage = decodeURIComponent(String(message));
      };
      req.on('response', (headers) => {
        httpStatus = Number(headers[constants.HTTP2_HEADER_STATUS]);
        readStatus(headers);
      });
      req.on('trailers', readStatus);
      req.on('data', () => {
        // ExportTraceServiceResponse carries only an optional partial-success note; it is not read.
      });
      req.on('error', (err: Error) => done(new ExportFailure(err.message)));
      req.on('close', () => {
        if (httpStatus !== 200) done(new ExportFailure(httpStatus ? `HTTP status ${httpStatus}` : `stream closed (code ${req.rstCode})`));
        else if (grpcStatus !== '0') done(new ExportFailure(`grpc-status ${grpcStatus ?? 'missing'}${grpcMessage ? `: ${grpcMessage}` : ''}`));
        else done();
      });
      req.end(framedBody);
    });
  }

  close(): void {
    const session = this.#session;
    this.#session = undefined;
    session?.close();
  }
}
