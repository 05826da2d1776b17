import { Server, ServerCredentials, type UntypedServiceImplementation, type handleUnaryCall } from '@grpc/grpc-js';
import { DEFAULT_HTTP2_WINDOW_BYTES, shutdownGrpcServer, widenHttp2Windows } from '../../../shared/grpc/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { loadProtos } from '../../../shared/proto/index.js';
import type { ProtoGrpcType } from '../../../shared/generated/grpc_service.js';
import { traceUnaryHandler } from '../../../shared/telemetry/index.js';
import type { ModelManager } from '../models/index.js';
import type { InferenceTelemetry } from '../telemetry/index.js';
import type { ModelMissHandler } from './infer-service.js';
import type { PredictionRecorder } from '../records/index.js';
import { healthHandlers } from './health-handlers.js';
import { inferHandlers } from './infer-handlers.js';
import { modelHandlers } from './model-handlers.js';
import { repositoryHandlers } from './repository-handlers.js';

/** Options of {@link createInferenceServer}. */
export interface InferenceServerOptions {
  manager: ModelManager;
  logger: Logger;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 (default) picks a free one (see start()'s result). */
  port?: number;
  /** Largest request/response message, in bytes. Default 256 MiB. */
  maxMessageBytes?: number;
  /** HTTP/2 receive window per stream and connection, in bytes. Default 8 MiB (see shared/grpc). */
  http2WindowBytes?: number;
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
  /** Prediction records for the monitor (services/inference/records). Default: none. */
  recorder?: PredictionRecorder;
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
const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const SERVICE_NAME = 'inference.GRPCInferenceService';
/** Health probes run every second or so; spans of them would drown the real traffic. */
const UNTRACED = new Set(['ServerLive', 'ServerReady', 'ModelStreamInfer']);

/** Creates the inference node's gRPC server over a model manager. */
export function createInferenceServer(options: InferenceServerOptions): InferenceServer {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const server = new Server({ 'grpc.max_receive_message_length': maxMessageBytes, 'grpc.max_send_message_length': maxMessageBytes });
  let ready = false;
  let closed: Promise<void> | undefined;
  const proto = loadProtos(['inference/grpc_service.proto']) as unknown as ProtoGrpcType;
  const tracer = options.telemetry?.tracer;
  const handlers: UntypedServiceImplementation = {
    ...healthHandlers(options.manager, logger, () => ready),
    ...modelHandlers(options.manager, logger),
    ...repositoryHandlers(options.manager, logger),
    ...inferHandlers(
      {
        manager: options.manager,
        ...(options.onModelMiss ? { onMiss: options.onModelMiss } : {}),
        ...(options.telemetry ? { telemetry: options.telemetry } : {}),
        ...(options.nodeId ? { nodeId: options.nodeId } : {}),
        ...(options.recorder ? { recorder: options.recorder } : {}),
      },
      logger,
      tracer,
    ),
  };
  if (tracer) {
    for (const [method, handler] of Object.entries(handlers)) {
      if (!UNTRACED.has(method)) handlers[method] = traceUnaryHandler(tracer, `${SERVICE_NAME}/${method}`, handler as handleUnaryCall<unknown, unknown>);
    }
  }
  server.addService(proto.inference.GRPCInferenceService.service, handlers);

  return {
    get ready() {
      return ready;
    },
    start: () =>
      new Promise((resolve, reject) => {
        const target = host.includes(':') ? `[${host}]:${options.port ?? 0}` : `${host}:${options.port ?? 0}`;
        server.bindAsync(target, ServerCredentials.createInsecure(), (err, port) => {
          if (err) return reject(err);
          widenHttp2Windows(server, options.http2WindowBytes ?? DEFAULT_HTTP2_WINDOW_BYTES);
          ready = true;
          logger.info('inference server listening', { host, port });
          resolve({ host, port });
        });
      }),
    close: (closeOptions = {}) => {
      closed ??= (async () => {
        ready = false;
        const drainTimeoutMs = closeOptions.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
        if ((await shutdownGrpcServer(server, drainTimeoutMs)) === 'forced') {
          logger.warn('drain timeout: cut off calls still in flight', { drainTimeoutMs });
        }
      })();
      return closed;
    },
  };
}
