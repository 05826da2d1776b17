import type { ServerCredentials, ServiceDefinition, UntypedServiceImplementation, handleUnaryCall } from '@grpc/grpc-js';
import { addStandardServices, createRpcServer, DEFAULT_HTTP2_WINDOW_BYTES, widenHttp2Windows, type Authenticate, type Principal as RpcPrincipal } from '../../../shared/rpc/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { authorize, createRpcAuthenticate, type Principal, type TokenVerifier } from '../../../shared/auth/index.js';
import { INFERENCE_SCOPE_TABLE } from './inference-scopes.js';
import { loadProtos } from '../../../shared/proto/index.js';
import type { ProtoGrpcType } from '../../../shared/generated/grpc_service.js';
import { traceUnaryHandler } from '../../../shared/telemetry/index.js';
import { createRequestTracing } from '../telemetry/index.js';
import type { ModelManager } from '../models/index.js';
import type { InferenceTelemetry } from '../telemetry/index.js';
import { runInference, type InferDeps, type ModelMissHandler } from './infer-service.js';
import type { PredictionRecorder } from '../records/index.js';
import { healthHandlers } from './health-handlers.js';
import { inferHandlers, MODEL_INFER_METHOD, traceRefused, type InferStreamCall } from './infer-handlers.js';
import { authenticateFastCall, installUnaryFastPath, MODEL_STREAM_INFER_PATH, type UnaryFastPathOptions } from './unary-fast-path.js';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { FastStreamCall } from './fast-stream-call.js';
import { modelHandlers } from './model-handlers.js';
import { repositoryHandlers, type ModelControlMode, type PlacementView } from './repository-handlers.js';
import { decodeModelInferRequest } from './infer-request-wire.js';
import { encodeModelInferResponse, encodeModelStreamInferResponse } from './infer-response-wire.js';
import {
  DEFAULT_INFER_REQUEST_LIMITS, DEFAULT_MAX_QUEUED_REQUEST_BYTES, DEFAULT_MAX_REQUEST_BYTES, RequestByteBudget, type InferRequestLimits,
} from './request-limits.js';

const FAST_STREAM_FIELDS = Object.freeze({ rpc: 'ModelStreamInfer', path: 'fast' });

/** How the gRPC deserializer decodes: grpc-js hands each message over in a buffer of its own. */
const OWNS_BUFFER = Object.freeze({ ownsBuffer: true });

/** Options of {@link createInferenceServer}. */
export interface InferenceServerOptions {
  manager: ModelManager;
  logger: Logger;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 (default) picks a free one (see start()'s result). */
  port?: number;
  /** Largest request message, in bytes (grpc-js refuses a larger one with RESOURCE_EXHAUSTED). Default 64 MiB. */
  maxRequestBytes?: number;
  /** Largest response message, in bytes. Default 256 MiB. */
  maxResponseBytes?: number;
  /** Node-wide budget of inference request bytes held from decode to answer; beyond it RESOURCE_EXHAUSTED. Default 512 MiB. */
  maxQueuedRequestBytes?: number;
  /** Requests read from one ModelInferStream and not yet answered before it stops being read. Default 256. */
  maxUnansweredPerStream?: number;
  /** Per-request counts checked while decoding (tensors, rank, parameters, elements). Default {@link DEFAULT_INFER_REQUEST_LIMITS}. */
  requestLimits?: Partial<InferRequestLimits>;
  /**
   * `explicit`: RepositoryModelLoad / RepositoryModelUnload are served. `none`
   * (default, as Triton's `--model-control-mode none`): they are refused with
   * FAILED_PRECONDITION naming the flag. The registry's loads (mesh mode) never go through them.
   */
  modelControl?: ModelControlMode;
  /** HTTP/2 receive window per stream and connection, in bytes. Default 8 MiB (see shared/rpc). */
  http2WindowBytes?: number;
  /**
   * Serve unary ModelInfer on the HTTP/2 stream directly, past grpc-js's call
   * machinery (unary-fast-path.ts), ModelStreamInfer too. Default true. False:
   * every call goes through grpc-js.
   */
  http2FastPath?: boolean;
  /** Serves inference requests for models or versions the manager lacks (mesh mode). Default: none (NOT_FOUND/UNAVAILABLE). */
  onModelMiss?: ModelMissHandler;
  /**
   * Tracer and metrics: a SERVER span per call (per request on a stream;
   * ServerLive and ServerReady, the probes, are not traced), the model
   * attributes on inference spans, the trace id in every inference response,
   * and request counts. Default: none.
   */
  telemetry?: InferenceTelemetry;
  /** This node's id, on inference server spans (mesh mode). */
  nodeId?: string;
  /**
   * grpc.health.v1.Health answers SERVING once this resolves (mesh mode: the
   * registry's aliased models are loaded and warm) and the server listens;
   * NOT_SERVING before, and from the moment close() starts draining.
   * Default: SERVING as soon as it listens.
   */
  warm?: Promise<unknown>;
  /** Mesh mode: where placed models live, listed by RepositoryIndex. */
  placement?: PlacementView;
  /** Prediction records for the monitor (services/inference/records). Default: none. */
  recorder?: PredictionRecorder;
  /** Server credentials. Default: insecure. */
  credentials?: ServerCredentials;
  /** Runs before every inference-service call (not health or reflection). Default: none (or the hook `auth` makes). */
  authenticate?: Authenticate;
  /**
   * Enforce tokens: every call's `authorization: Bearer` token is verified and
   * checked against INFERENCE_METHOD_SCOPES, and every inference request's
   * model against the token's patterns; `anonymous`: the principal of inference
   * calls without a token (`--auth-anonymous-models`). Default: none (no token is looked at).
   */
  auth?: { verifier: TokenVerifier; anonymous?: Principal };
}

/** Options of {@link InferenceServer.close}. */
export interface CloseOptions {
  /** How long in-flight calls may take to finish before they are cut off, in ms. Default 10000. */
  drainTimeoutMs?: number;
}

/** The gRPC front end of an inference node (inference.GRPCInferenceService). */
export interface InferenceServer {
  /** Binds and serves; resolves with the bound address. */
  start(): Promise<{ host: string; port: number }>;
  /** True between start() and close(): what ServerReady answers. */
  readonly ready: boolean;
  /**
   * Graceful stop: ServerReady turns false, no new calls are accepted, calls in
   * flight finish within `drainTimeoutMs`, then the rest are cut off. Idempotent.
   * Does not close the model manager (its owner does).
   */
  close(options?: CloseOptions): Promise<void>;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
const SERVICE_NAME = 'inference.GRPCInferenceService';
/**
 * Not wrapped in a SERVER span: the health probes (they run every second or
 * so; spans of them would drown the real traffic), and the inference RPCs,
 * which decide sampling per request themselves (infer-handlers.ts).
 */
const UNWRAPPED = new Set(['ServerLive', 'ServerReady', 'ModelInfer', 'ModelStreamInfer']);

/** Creates the inference node's gRPC server over a model manager. */
export function createInferenceServer(options: InferenceServerOptions): InferenceServer {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger;
  const authenticate = options.authenticate ?? (options.auth ? createRpcAuthenticate({ ...options.auth, tables: [INFERENCE_SCOPE_TABLE] }) : undefined);
  const maxReceiveBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const maxSendBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const rpc = createRpcServer({
    channelOptions: {
      'grpc.max_receive_message_length': maxReceiveBytes,
      'grpc.max_send_message_length': maxSendBytes,
    },
    logger,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(authenticate ? { authenticate } : {}),
  });
  const limits: InferRequestLimits = { ...DEFAULT_INFER_REQUEST_LIMITS, ...options.requestLimits };
  let ready = false;
  let closed: Promise<void> | undefined;
  const proto = loadProtos(['inference/grpc_service.proto']) as unknown as ProtoGrpcType;
  const tracer = options.telemetry?.tracer;
  const inferDeps: InferDeps = {
    manager: options.manager,
    ...(options.onModelMiss ? { onMiss: options.onModelMiss } : {}),
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    ...(options.nodeId ? { nodeId: options.nodeId } : {}),
    requestBudget: new RequestByteBudget(options.maxQueuedRequestBytes ?? DEFAULT_MAX_QUEUED_REQUEST_BYTES),
    ...(options.recorder ? { recorder: options.recorder } : {}),
    ...(tracer ? { tracing: createRequestTracing(tracer, options.telemetry?.sampling)! } : {}),
  };
  const handlers: UntypedServiceImplementation = {
    ...healthHandlers(options.manager, logger, () => ready, options.placement),
    ...modelHandlers(options.manager, logger),
    ...repositoryHandlers(options.manager, logger, options.modelControl ?? 'none', options.placement),
    ...inferHandlers(
      inferDeps,
      logger,
      {
        ...(options.maxUnansweredPerStream !== undefined ? { maxUnansweredPerStream: options.maxUnansweredPerStream } : {}),
        authorizeModels: options.auth !== undefined,
      },
    ),
  };
  if (tracer) {
    for (const [method, handler] of Object.entries(handlers)) {
      if (!UNWRAPPED.has(method)) handlers[method] = traceUnaryHandler(tracer, `${SERVICE_NAME}/${method}`, handler as handleUnaryCall<unknown, unknown>);
    }
  }
  rpc.addService(withInferWireCodec(proto.inference.GRPCInferenceService.service, limits), handlers);
  const health = addStandardServices(rpc.server, { protoFiles: ['inference/grpc_service.proto'], services: [SERVICE_NAME] });

  return {
    get ready() {
      return ready;
    },
    start: async () => {
      const port = await rpc.bind(host, options.port ?? 0);
      widenHttp2Windows(rpc.server, options.http2WindowBytes ?? DEFAULT_HTTP2_WINDOW_BYTES);
      // Unary ModelInfer on the HTTP/2 stream directly (unary-fast-path.ts), past grpc-js's per-call machinery.
      // ModelStreamInfer too: the same handler, over the HTTP/2 stream (fast-stream-call.ts). Both run the
      // authentication hook as grpc-js's path does, and check each request's model against the principal.
      if (options.http2FastPath !== false) {
        const streamHandler = handlers.ModelStreamInfer as (call: InferStreamCall) => void;
        const fast: UnaryFastPathOptions = {
          logger,
          maxReceiveBytes,
          maxSendBytes,
          decode: (message) => decodeModelInferRequest(message, limits, OWNS_BUFFER),
          serve: (request, ctx) => runInference(inferDeps, request, ctx),
          refused: (metadata, err) => traceRefused(inferDeps, MODEL_INFER_METHOD, metadata, err),
          spanName: inferDeps.tracing ? MODEL_INFER_METHOD : undefined,
          ...(authenticate ? { authenticate } : {}),
          ...(options.auth ? { authorize: (principal: RpcPrincipal | undefined, model: string) => principal && authorize(principal as Principal, 'infer', model) } : {}),
          stream: (h2, headers) => {
            logger.debug('call started', FAST_STREAM_FIELDS);
            const call = new FastStreamCall(h2, headers, fast);
            if (!call.readDeadline()) return;
            if (!authenticate) {
              streamHandler(call);
              call.start();
              return;
            }
            authenticateFastCall(authenticate, call, call.metadata, h2, MODEL_STREAM_INFER_PATH).then(
              () => {
                streamHandler(call);
                call.start();
              },
              (err: unknown) => call.refuse(InfermeshError.from(err, Code.UNAUTHENTICATED)),
            );
          },
        };
        installUnaryFastPath(rpc.server, fast);
      }
      ready = true;
      (options.warm ?? Promise.resolve()).then(
        () => ready && health.set('SERVING'),
        (err: unknown) => logger.error('never warm: health stays NOT_SERVING', { err }),
      );
      logger.info('inference server listening', { host, port });
      return { host, port };
    },
    close: (closeOptions = {}) => {
      closed ??= (async () => {
        ready = false;
        health.close();
        const drainTimeoutMs = closeOptions.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
        if ((await rpc.shutdown(drainTimeoutMs)) === 'forced') {
          logger.warn('drain timeout: cut off calls still in flight', { drainTimeoutMs });
        }
      })();
      return closed;
    },
  };
}

/**
 * The service definition with the inference RPCs' proto-loader object step
 * replaced by the wire codec: requests are decoded straight from the received
 * buffer (views, limits checked before allocation, never a throw: see
 * InferDecodeFailure) and responses encoded into one buffer. grpc-js stays the
 * transport (HTTP/2, deadlines, flow control, keepalive).
 */
function withInferWireCodec(service: ServiceDefinition, limits: InferRequestLimits): ServiceDefinition {
  // grpc-js assembles each message into a buffer of its own and hands it over: it may be rewritten in place.
  const decode = (buf: Buffer) => decodeModelInferRequest(buf, limits, OWNS_BUFFER);
  return {
    ...service,
    ModelInfer: { ...service.ModelInfer!, requestDeserialize: decode, responseSerialize: encodeModelInferResponse as (value: unknown) => Buffer },
    ModelStreamInfer: { ...service.ModelStreamInfer!, requestDeserialize: decode, responseSerialize: encodeModelStreamInferResponse as (value: unknown) => Buffer },
  };
}
