import { createServer, STATUS_CODES, type IncomingMessage, type ServerOptions as HttpServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import { Metadata } from '@grpc/grpc-js';
import { context as contextApi, type Context, type Span } from '@opentelemetry/api';
import { AUTHORIZATION_HEADER, verifyRequest, type Principal, type TokenVerifier } from '../../../shared/auth/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { endHttpSpan, injectIntoHeaders, startHttpServerSpan, traceIdOf } from '../../../shared/telemetry/index.js';
import type { ModelManager } from '../models/index.js';
import type { InferenceTelemetry } from '../telemetry/index.js';
import { requireModelControl, runInference, type InferDeps, type ModelControlMode, type ModelMissHandler } from '../server/index.js';
import type { PredictionRecorder } from '../records/index.js';
import { BodyBudget, readBody } from './body-reader.js';
import { describeFailure, HttpError } from './http-status.js';
import { jsonText } from './json-text.js';
import { modelConfig, modelMetadata, modelStatistics, repositoryIndex, repositoryLoad, repositoryUnload, serverMetadata } from './model-endpoints.js';
import { decodeRestInferRequest, INFERENCE_HEADER_CONTENT_LENGTH } from './rest-request-decoder.js';
import { encodeRestInferResponse } from './rest-response-encoder.js';
import { ENDPOINT_SCOPES, routeRequest, type Endpoint, type Route } from './routes.js';

/** Options of {@link createHttpInferenceServer}; defaults are for production. */
export interface HttpInferenceServerOptions {
  manager: ModelManager;
  logger: Logger;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 (default) picks a free one (see start()'s result). */
  port?: number;
  /** Serve HTTPS with this certificate (and client CA: mTLS), e.g. shared/tls `httpsServerOptions`. Default: plain HTTP. */
  https?: HttpsServerOptions;
  /** Largest request body, in bytes; larger ones get 413 before they are read. Default 64 MiB. */
  maxBodyBytes?: number;
  /** Bytes of request bodies all requests in flight may hold together; beyond it 429. Default 4 x maxBodyBytes. */
  maxInFlightBodyBytes?: number;
  /**
   * How long a client has to send a whole request (headers and body), in ms;
   * then it gets 408 and its connection is closed (slow-loris bodies). Time
   * spent inferring does not count. Default 30000.
   */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open, in ms. Default 5000. */
  keepAliveTimeoutMs?: number;
  /** Serves inference requests for models or versions the manager lacks (mesh mode). Default: none. */
  onModelMiss?: ModelMissHandler;
  /** Tracer and metrics, as the gRPC server has them: a SERVER span per request (not the health probes), the trace id in responses. */
  telemetry?: InferenceTelemetry;
  /** This node's id, on inference server spans (mesh mode). */
  nodeId?: string;
  /** `explicit` serves the repository extension's load and unload; `none` (default) refuses them, as on gRPC (`--model-control`). */
  modelControl?: ModelControlMode;
  /** Samples served requests into prediction records, as on gRPC (services/inference/records). Default: none. */
  recorder?: PredictionRecorder;
  /** The rest of the node's readiness (its gRPC server draining): /v2/health/ready and inference answer 503 while false. Default: always. */
  isReady?: () => boolean;
  /**
   * Enforce tokens: each request's `authorization: Bearer` header is verified
   * and checked against ENDPOINT_SCOPES (401 / 403 with a JSON error), and an
   * inference request's model against the token's patterns; `anonymous`: the
   * principal of infer requests without the header (`--auth-anonymous-models`). Default: none.
   */
  auth?: { verifier: TokenVerifier; anonymous?: Principal };
}

/** The REST front end of an inference node: the Open Inference Protocol over HTTP/1.1 (keep-alive), with Triton's binary tensor extension. */
export interface HttpInferenceServer {
  /** Binds and serves; resolves with the bound address. */
  start(): Promise<{ host: string; port: number }>;
  /** True between start() and close(). */
  readonly ready: boolean;
  /**
   * Graceful stop: readiness turns false, new requests get 503, requests in
   * flight finish within `drainTimeoutMs` (default 10000), then every
   * connection is closed. Idempotent. Does not close the model manager.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

export const DEFAULT_HTTP_MAX_BODY_BYTES = 64 * 1024 * 1024;
export const DEFAULT_HTTP_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
/** Probes come every second or so; spans of them would drown the real traffic (as on gRPC). */
const UNTRACED = new Set<Endpoint>(['live', 'ready']);
/** Response header with the request's trace id (also in the inference response's `trace_id` parameter). */
export const TRACE_ID_HEADER = 'x-trace-id';

/** Creates the inference node's HTTP server over a model manager; REST requests run through the same `runInference` as gRPC. */
export function createHttpInferenceServer(options: HttpInferenceServerOptions): HttpInferenceServer {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger;
  const manager = options.manager;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_HTTP_MAX_BODY_BYTES;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_HTTP_REQUEST_TIMEOUT_MS;
  const budget = new BodyBudget(options.maxInFlightBodyBytes ?? 4 * maxBodyBytes);
  const tracer = options.telemetry?.tracer;
  const deps: InferDeps = {
    manager,
    ...(options.onModelMiss ? { onMiss: options.onModelMiss } : {}),
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    ...(options.nodeId ? { nodeId: options.nodeId } : {}),
    ...(options.recorder ? { recorder: options.recorder } : {}),
  };
  let ready = false;
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  let closed: Promise<void> | undefined;
  const isReady = () => ready && !draining && (options.isReady?.() ?? true);

  /** Answers one routed request; resolves with the status sent. */
  async function serve(route: Route, req: IncomingMessage, res: ServerResponse, traceContext: Context | undefined): Promise<number> {
    const { model, version } = route;
    const need = options.auth ? ENDPOINT_SCOPES[route.endpoint] : 'public';
    if (need !== 'public') await verifyRequest(options.auth!.verifier, req.headers, need, route.endpoint === 'infer' ? model : undefined, options.auth!.anonymous);
    switch (route.endpoint) {
      case 'server-metadata':
        return sendJson(res, 200, jsonText(serverMetadata()));
      case 'live':
        return sendEmpty(res, 200);
      case 'ready':
        return sendEmpty(res, isReady() ? 200 : 503);
      case 'model-metadata':
        return sendJson(res, 200, jsonText(modelMetadata(manager, model, version)));
      case 'model-ready':
        // Unknown: 404, not READY: 503, with the manager's message (as gRPC's ModelReady would say false).
        manager.describe(model, version);
        return sendEmpty(res, isReady() ? 200 : 503);
      case 'model-config':
        return sendJson(res, 200, jsonText(modelConfig(manager, model, version)));
      case 'model-stats':
        return sendJson(res, 200, jsonText(modelStatistics(manager, model, version)));
      case 'repository-index':
        return sendJson(res, 200, jsonText(repositoryIndex(manager, await jsonBody(req, res))));
      case 'repository-load':
        requireModelControl(options.modelControl ?? 'none', 'POST /v2/repository/models/{name}/load');
        await repositoryLoad(manager, model, await jsonBody(req, res));
        return sendEmpty(res, 200);
      case 'repository-unload':
        requireModelControl(options.modelControl ?? 'none', 'POST /v2/repository/models/{name}/unload');
        await jsonBody(req, res);
        await repositoryUnload(manager, model);
        return sendEmpty(res, 200);
      case 'infer':
        return infer(route, req, res, traceContext);
    }
  }

  async function infer(route: Route, req: IncomingMessage, res: ServerResponse, traceContext: Context | undefined): Promise<number> {
    if (!isReady()) throw new HttpError(503, 'the node is draining: send the request to another node', { closeConnection: true });
    const body = await readBody(req, res, maxBodyBytes, budget);
    const rest = decodeRestInferRequest(body, req.headers[INFERENCE_HEADER_CONTENT_LENGTH], route.model, route.version);
    const controller = new AbortController();
    // The client went away before its answer: cancel the request (it leaves the batching queue).
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const response = await runInference(deps, rest.request, {
      deadlineMs: Infinity,
      signal: controller.signal,
      // A request forwarded to a peer carries the caller's own token: the peer checks it too.
      ...(options.auth ? { metadata: authorizationMetadata(req) } : {}),
      ...(traceContext ? { traceContext } : {}),
    });
    const { json, binary } = encodeRestInferResponse(response, rest.binaryOutput);
    if (binary.length === 0) return sendJson(res, 200, json);
    const jsonBytes = Buffer.byteLength(json);
    let total = jsonBytes;
    for (const b of binary) total += b.byteLength;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total, [INFERENCE_HEADER_CONTENT_LENGTH]: jsonBytes });
    res.cork();
    res.write(json);
    for (const b of binary) res.write(b);
    res.end();
    return 200;
  }

  /** The small JSON bodies of the repository endpoints ({} when empty). */
  async function jsonBody(req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown>> {
    const body = await readBody(req, res, maxBodyBytes, budget);
    if (body.byteLength === 0) return {};
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new HttpError(400, `the request body is not valid JSON: ${(err as Error).message}`, { logMessage: 'the request body is not valid JSON' });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'the request body must be a JSON object');
    return value as Record<string, unknown>;
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    inFlight++;
    let traced: { span: Span; context: Context } | undefined;
    try {
      const route = routeRequest(req.method ?? '', req.url ?? '/');
      const encoding = req.headers['content-encoding'];
      if (encoding !== undefined && encoding !== 'identity') throw new HttpError(415, `Content-Encoding '${encoding}' is not supported; send the body uncompressed`);
      if (tracer && !UNTRACED.has(route.endpoint)) {
        traced = startHttpServerSpan(tracer, { method: route.method, route: route.template, path: (req.url ?? '').split('?')[0]!, headers: req.headers, httpVersion: req.httpVersion, ...(req.socket.localPort !== undefined ? { serverPort: req.socket.localPort } : {}) });
        setTraceHeaders(res, traced.context);
      }
      if (draining) res.setHeader('connection', 'close');
      const ctx = traced?.context;
      const status = await (ctx ? contextApi.with(ctx, () => serve(route, req, res, ctx)) : serve(route, req, res, undefined));
      if (traced) endHttpSpan(traced.span, status);
    } catch (err) {
      const failure = describeFailure(err);
      logger.debug('request failed', { method: req.method, url: req.url, status: failure.status, err: failure.error });
      if (traced) endHttpSpan(traced.span, failure.status, { type: failure.type, message: failure.message, exception: failure.error });
      if (err instanceof HttpError && err.closeConnection) lingeringClose(req, res);
      sendJson(res, failure.status, jsonText({ error: failure.message }), err instanceof HttpError ? err.headers : {});
    } finally {
      if (--inFlight === 0) idle?.();
    }
  }

  const serverOptions: HttpServerOptions = {
    requestTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    // How often Node looks for requests past their timeout: a fraction of it, so the cut comes on time.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeoutMs / 4))),
    noDelay: true,
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    onRequest(req, res).catch((err: unknown) => logger.error('HTTP handler failed', { err }));
  };
  const server = options.https ? createHttpsServer({ ...serverOptions, ...options.https }, listener) : createServer(serverOptions, listener);
  // `Expect: 100-continue` (curl sends it for large bodies): invite the body only when it may come.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!(Number(req.headers['content-length']) > maxBodyBytes)) res.writeContinue();
    onRequest(req, res).catch((err: unknown) => logger.error('HTTP handler failed', { err }));
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const response = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (!socket.writable || response?.headersSent || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = timeout ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const message = timeout
      ? `the request did not arrive within ${requestTimeoutMs} ms (headers and body); closing the connection`
      : `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'}: ${err.message})`;
    logger.debug('client error', { code: err.code, status });
    const body = jsonText({ error: message });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });

  return {
    get ready() {
      return isReady();
    },
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, host, () => {
          server.off('error', reject);
          const address = server.address();
          const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
          ready = true;
          logger.info('HTTP inference server listening', { host, port });
          resolve({ host, port });
        });
      }),
    close: (closeOptions = {}) =>
      (closed ??= (async () => {
        draining = true;
        if (!server.listening) return;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) {
          const drainTimeoutMs = closeOptions.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
          let timer: NodeJS.Timeout | undefined;
          const drained = await Promise.race([
            new Promise<boolean>((resolve) => (idle = () => resolve(true))),
            new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), drainTimeoutMs).unref())),
          ]);
          clearTimeout(timer);
          if (!drained) logger.warn('drain timeout: cut off HTTP requests still in flight', { drainTimeoutMs, inFlight });
        }
        server.closeAllConnections();
        await stopped;
        ready = false;
      })()),
  };
}

/** How long a connection whose request body went unread is drained after the answer, before it is closed. */
const LINGER_MS = 2000;

/**
 * Closes a connection whose request body was not read, the way servers do
 * (Apache's and nginx's lingering close): closing at once, while the client
 * still sends, resets the connection, and a reset can discard the answer from
 * the client's receive buffer before it reads it. So the rest of the body is
 * read and dropped (never held), our side is closed once the answer is out,
 * and the socket goes when the client closes, or LINGER_MS after the answer
 * at the latest.
 */
function lingeringClose(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  res.setHeader('connection', 'close');
  req.resume();
  // After a `connection: close` answer Node calls socket.destroySoon() when the socket has one (a reset, with data
  // still coming) and socket.end() when it has none: shadow it, so that our side only ends and reading goes on.
  (socket as unknown as { destroySoon?: unknown }).destroySoon = undefined;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
}

/** gRPC metadata with the request's `authorization` header (already verified), for a forward to a peer. */
function authorizationMetadata(req: IncomingMessage): Metadata {
  const metadata = new Metadata();
  const value = req.headers[AUTHORIZATION_HEADER];
  if (typeof value === 'string') metadata.set(AUTHORIZATION_HEADER, value);
  return metadata;
}

function setTraceHeaders(res: ServerResponse, ctx: Context): void {
  injectIntoHeaders({ get: () => undefined, set: (key, value) => res.setHeader(key, value) }, ctx);
  const traceId = traceIdOf(ctx);
  if (traceId) res.setHeader(TRACE_ID_HEADER, traceId);
}

function sendJson(res: ServerResponse, status: number, text: string, headers: Readonly<Record<string, string>> = {}): number {
  if (res.headersSent || res.destroyed) return status;
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return status;
}

function sendEmpty(res: ServerResponse, status: number): number {
  if (res.headersSent || res.destroyed) return status;
  res.writeHead(status, { 'content-length': 0 });
  res.end();
  return status;
}
