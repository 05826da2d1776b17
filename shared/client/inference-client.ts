import { context as contextApi, trace, SpanKind } from '@opentelemetry/api';
import { Code } from '../errors/index.js';
import { createRpcClient, type RpcCallOptions, type RpcClientOptions, type UnaryMethod } from '../rpc/index.js';
import { withClientToken, type ClientTokenOption } from '../auth/index.js';
import { endRpcSpan, injectIntoMetadata, rpcAttributes } from '../telemetry/index.js';
import { loadProtos } from '../proto/index.js';
import type { ProtoGrpcType } from '../generated/grpc_service.js';
import type { GRPCInferenceServiceClient } from '../generated/inference/GRPCInferenceService.js';
import type { ModelConfig__Output } from '../generated/inference/ModelConfig.js';
import type { ModelInferRequest } from '../generated/inference/ModelInferRequest.js';
import type { ModelInferResponse__Output } from '../generated/inference/ModelInferResponse.js';
import type { ModelMetadataResponse__Output } from '../generated/inference/ModelMetadataResponse.js';
import type { ModelStatistics__Output } from '../generated/inference/ModelStatistics.js';
import type { _inference_RepositoryIndexResponse_ModelIndex__Output as ModelIndex } from '../generated/inference/RepositoryIndexResponse.js';
import type { ServerMetadataResponse__Output } from '../generated/inference/ServerMetadataResponse.js';
import { createInferStream, type InferStream } from './infer-stream.js';
import { buildInferRequest, type InferRequestSpec } from './request-builder.js';
import { decodeInferResponse, type DecodedTensor } from './response-decoder.js';

/** Per-call options. */
export type CallOptions = RpcCallOptions;

/**
 * Options of {@link createInferenceClient}: those of every infermesh client
 * (see RpcClientOptions: `timeoutMs`, default none; insecure `credentials`;
 * `tracer`; `retry` of the read calls, default none); `channelOptions`' message
 * size limits default to 256 MiB; `token` is sent as `authorization: Bearer`.
 */
export type InferenceClientOptions = RpcClientOptions & ClientTokenOption;

/** A typed, promise-based client of an inference node (inference.GRPCInferenceService). Errors reject as InfermeshError. */
export interface InferenceClient {
  readonly address: string;
  serverLive(options?: CallOptions): Promise<boolean>;
  serverReady(options?: CallOptions): Promise<boolean>;
  serverMetadata(options?: CallOptions): Promise<ServerMetadataResponse__Output>;
  modelReady(name: string, version?: string, options?: CallOptions): Promise<boolean>;
  modelMetadata(name: string, version?: string, options?: CallOptions): Promise<ModelMetadataResponse__Output>;
  modelConfig(name: string, version?: string, options?: CallOptions): Promise<ModelConfig__Output>;
  /** Statistics of every model ('' name) or of one model's versions. */
  modelStatistics(name?: string, version?: string, options?: CallOptions): Promise<ModelStatistics__Output[]>;
  repositoryIndex(filter?: { ready?: boolean }, options?: CallOptions): Promise<ModelIndex[]>;
  /** RepositoryModelLoad; `config` (a config.json object) replaces the model's config.json. */
  repositoryModelLoad(name: string, load?: { config?: unknown }, options?: CallOptions): Promise<void>;
  repositoryModelUnload(name: string, options?: CallOptions): Promise<void>;
  /** The raw ModelInfer RPC. */
  modelInfer(request: ModelInferRequest, options?: CallOptions): Promise<ModelInferResponse__Output>;
  /** Builds a request from tensors (see buildInferRequest), calls ModelInfer, decodes the outputs by name. */
  infer(spec: InferRequestSpec, options?: CallOptions): Promise<Record<string, DecodedTensor>>;
  /** Opens a ModelStreamInfer call (`timeoutMs` and `signal` apply to the whole stream). */
  stream(options?: CallOptions): InferStream;
  /** Resolves once the channel is connected; rejects UNAVAILABLE after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void>;
  /** Closes the channel. Idempotent. */
  close(): void;
}

type ServiceConstructor = ProtoGrpcType['inference']['GRPCInferenceService'];
let serviceConstructor: ServiceConstructor | undefined;

const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const SERVICE = 'inference.GRPCInferenceService';
/** Reads: safe to send again when the connection was lost (see RpcClientOptions.retry). */
const IDEMPOTENT = { idempotent: true };

/** Creates a client of the inference node at `address` (`host:port`). */
export function createInferenceClient(address: string, options: InferenceClientOptions = {}): InferenceClient {
  serviceConstructor ??= (loadProtos(['inference/grpc_service.proto']) as unknown as ProtoGrpcType).inference.GRPCInferenceService;
  const rpc = createRpcClient<GRPCInferenceServiceClient>(serviceConstructor, SERVICE, address, {
    ...withClientToken(options),
    channelOptions: { 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES, ...options.channelOptions },
  });
  const client = rpc.stub;
  const tracer = options.tracer;
  type Method<Req, Res> = UnaryMethod<Req, Res>;
  const unary = rpc.unary;

  const api: InferenceClient = {
    address,
    serverLive: async (o) => (await unary('ServerLive', client.serverLive as Method<object, { live: boolean }>, {}, o, IDEMPOTENT)).live,
    serverReady: async (o) => (await unary('ServerReady', client.serverReady as Method<object, { ready: boolean }>, {}, o, IDEMPOTENT)).ready,
    serverMetadata: (o) => unary('ServerMetadata', client.serverMetadata as Method<object, ServerMetadataResponse__Output>, {}, o, IDEMPOTENT),
    modelReady: async (name, version = '', o) => (await unary('ModelReady', client.modelReady as Method<object, { ready: boolean }>, { name, version }, o, IDEMPOTENT)).ready,
    modelMetadata: (name, version = '', o) => unary('ModelMetadata', client.modelMetadata as Method<object, ModelMetadataResponse__Output>, { name, version }, o, IDEMPOTENT),
    modelConfig: async (name, version = '', o) =>
      (await unary('ModelConfig', client.modelConfig as Method<object, { config: ModelConfig__Output }>, { name, version }, o, IDEMPOTENT)).config,
    modelStatistics: async (name = '', version = '', o) =>
      (await unary('ModelStatistics', client.modelStatistics as Method<object, { modelStats: ModelStatistics__Output[] }>, { name, version }, o, IDEMPOTENT)).modelStats,
    repositoryIndex: async (filter = {}, o) =>
      (await unary('RepositoryIndex', client.repositoryIndex as Method<object, { models: ModelIndex[] }>, { ready: filter.ready ?? false }, o, IDEMPOTENT)).models,
    repositoryModelLoad: async (name, load = {}, o) => {
      const parameters = load.config !== undefined ? { config: { stringParam: JSON.stringify(load.config) } } : {};
      await unary('RepositoryModelLoad', client.repositoryModelLoad as Method<object, object>, { modelName: name, parameters }, o);
    },
    repositoryModelUnload: async (name, o) => {
      await unary('RepositoryModelUnload', client.repositoryModelUnload as Method<object, object>, { modelName: name }, o);
    },
    modelInfer: (request, o) => unary('ModelInfer', client.modelInfer as Method<ModelInferRequest, ModelInferResponse__Output>, request, o),
    infer: async (spec, o) => decodeInferResponse(await api.modelInfer(buildInferRequest(spec), o)),
    stream: (o) => {
      const call = rpc.stream(
        'ModelStreamInfer',
        o,
        (metadata, callOptions) => {
          if (!tracer) return client.modelStreamInfer(metadata, callOptions);
          // One CLIENT span for the whole stream; the node makes one server span per request under it.
          const method = `${SERVICE}/ModelStreamInfer`;
          const span = tracer.startSpan(method, { kind: SpanKind.CLIENT, attributes: rpcAttributes(method) });
          const traced = client.modelStreamInfer(injectIntoMetadata(metadata, trace.setSpan(contextApi.active(), span)), callOptions);
          traced.once('status', (status: { code: number; details: string }) => endRpcSpan(span, status.code === Code.OK ? undefined : status));
          return traced;
        },
        options.timeoutMs,
      );
      return createInferStream(call);
    },
    waitForReady: rpc.waitForReady,
    close: rpc.close,
  };
  return api;
}
