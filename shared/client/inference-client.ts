import { credentials as grpcCredentials, type ChannelCredentials, type ChannelOptions, type ClientUnaryCall, type Metadata, type CallOptions as GrpcCallOptions } from '@grpc/grpc-js';
import { context as contextApi, trace, SpanKind, type Tracer } from '@opentelemetry/api';
import { Code, InfermeshError } from '../errors/index.js';
import { endRpcSpan, injectIntoMetadata, rpcAttributes, withClientSpan } from '../telemetry/index.js';
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
import { grpcCallOptions, type CallOptions } from './call-options.js';
import { createInferStream, type InferStream } from './infer-stream.js';
import { buildInferRequest, type InferRequestSpec } from './request-builder.js';
import { decodeInferResponse, type DecodedTensor } from './response-decoder.js';

/** Options of {@link createInferenceClient}. */
export interface InferenceClientOptions {
  /** Default deadline of every call, in ms (default: none). */
  timeoutMs?: number;
  /** Default: insecure (plaintext). */
  credentials?: ChannelCredentials;
  /** grpc-js channel options; message size limits default to 256 MiB. */
  channelOptions?: ChannelOptions;
  /**
   * Records a CLIENT span per call (RPC semantic conventions; one per stream)
   * as a child of the active context, and sends its trace context in the call's
   * metadata, so the node's spans join the caller's trace. Default: no spans
   * (a `traceparent` in the call's own metadata still goes through).
   */
  tracer?: Tracer;
}

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

/** Creates a client of the inference node at `address` (`host:port`). */
export function createInferenceClient(address: string, options: InferenceClientOptions = {}): InferenceClient {
  serviceConstructor ??= (loadProtos(['inference/grpc_service.proto']) as unknown as ProtoGrpcType).inference.GRPCInferenceService;
  const client: GRPCInferenceServiceClient = new serviceConstructor(address, options.credentials ?? grpcCredentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...options.channelOptions,
  });
  let closed = false;

  type Callback<Res> = (err: Error | null, res?: Res) => void;
  type Method<Req, Res> = (request: Req, metadata: Metadata, options: GrpcCallOptions, callback: Callback<Res>) => ClientUnaryCall;
  const tracer = options.tracer;
  const send = <Req, Res>(method: Method<Req, Res>, request: Req, metadata: Metadata, callOptions?: CallOptions): Promise<Res> =>
    new Promise((resolve, reject) => {
      const signal = callOptions?.signal;
      if (signal?.aborted) return reject(new InfermeshError(Code.CANCELLED, 'the call was aborted before it started'));
      const { callOptions: grpcOptions } = grpcCallOptions(callOptions, options.timeoutMs);
      const onAbort = () => call.cancel();
      const call = method.call(client, request, metadata, grpcOptions, (err, response) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(InfermeshError.from(err));
        else resolve(response as Res);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  /** One unary call, in a CLIENT span named after `rpc` when the client traces. */
  const unary = <Req, Res>(rpc: string, method: Method<Req, Res>, request: Req, callOptions?: CallOptions): Promise<Res> => {
    const { metadata } = grpcCallOptions(callOptions, options.timeoutMs);
    if (!tracer) return send(method, request, metadata, callOptions);
    return withClientSpan(tracer, `${SERVICE}/${rpc}`, (traced) => send(method, request, traced, callOptions), { metadata });
  };

  const api: InferenceClient = {
    address,
    serverLive: async (o) => (await unary('ServerLive', client.serverLive as Method<object, { live: boolean }>, {}, o)).live,
    serverReady: async (o) => (await unary('ServerReady', client.serverReady as Method<object, { ready: boolean }>, {}, o)).ready,
    serverMetadata: (o) => unary('ServerMetadata', client.serverMetadata as Method<object, ServerMetadataResponse__Output>, {}, o),
    modelReady: async (name, version = '', o) => (await unary('ModelReady', client.modelReady as Method<object, { ready: boolean }>, { name, version }, o)).ready,
    modelMetadata: (name, version = '', o) => unary('ModelMetadata', client.modelMetadata as Method<object, ModelMetadataResponse__Output>, { name, version }, o),
    modelConfig: async (name, version = '', o) =>
      (await unary('ModelConfig', client.modelConfig as Method<object, { config: ModelConfig__Output }>, { name, version }, o)).config,
    modelStatistics: async (name = '', version = '', o) =>
      (await unary('ModelStatistics', client.modelStatistics as Method<object, { modelStats: ModelStatistics__Output[] }>, { name, version }, o)).modelStats,
    repositoryIndex: async (filter = {}, o) =>
      (await unary('RepositoryIndex', client.repositoryIndex as Method<object, { models: ModelIndex[] }>, { ready: filter.ready ?? false }, o)).models,
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
      const { metadata, callOptions } = grpcCallOptions(o, options.timeoutMs);
      if (!tracer) return createInferStream(client.modelStreamInfer(metadata, callOptions), o?.signal);
      // One CLIENT span for the whole stream; the node makes one server span per request under it.
      const method = `${SERVICE}/ModelStreamInfer`;
      const span = tracer.startSpan(method, { kind: SpanKind.CLIENT, attributes: rpcAttributes(method) });
      const call = client.modelStreamInfer(injectIntoMetadata(metadata, trace.setSpan(contextApi.active(), span)), callOptions);
      call.once('status', (status: { code: number; details: string }) => endRpcSpan(span, status.code === Code.OK ? undefined : status));
      return createInferStream(call, o?.signal);
    },
    waitForReady: (timeoutMs) =>
      new Promise((resolve, reject) => {
        client.waitForReady(Date.now() + timeoutMs, (err) =>
          err ? reject(new InfermeshError(Code.UNAVAILABLE, `${address} not reachable within ${timeoutMs} ms: ${err.message}`, { cause: err })) : resolve(),
        );
      }),
    close: () => {
      if (closed) return;
      closed = true;
      client.close();
    },
  };
  return api;
}
