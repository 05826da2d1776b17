import { scopeTable, type MethodScopes } from '../../../shared/auth/index.js';

/**
 * What each inference.GRPCInferenceService method requires. ModelInfer and
 * ModelStreamInfer also check the request's model against the token's
 * patterns (per request, in infer-handlers.ts). The probes are public, and so
 * is grpc.health.v1.Health (it is not behind the hook at all).
 */
export const INFERENCE_METHOD_SCOPES: MethodScopes = {
  ServerLive: 'public',
  ServerReady: 'public',
  ServerMetadata: 'public',
  ModelInfer: 'infer',
  ModelStreamInfer: 'infer',
  ModelMetadata: 'models:read',
  ModelReady: 'models:read',
  ModelConfig: 'models:read',
  ModelStatistics: 'models:read',
  RepositoryIndex: 'models:read',
  RepositoryModelLoad: 'admin',
  RepositoryModelUnload: 'admin',
};

/** The scope table of the inference gRPC service. */
export const INFERENCE_SCOPE_TABLE = scopeTable('inference.GRPCInferenceService', INFERENCE_METHOD_SCOPES);
