import { scopeTable, type MethodScopes } from '../../../shared/auth/index.js';

/**
 * What each infermesh.registry.v1.ModelRegistry method requires when the
 * registry enforces tokens. Methods whose request names a `model` also check
 * it against the token's model patterns (registry-service.ts).
 */
export const REGISTRY_METHOD_SCOPES: MethodScopes = {
  GetModel: 'models:read',
  ListModels: 'models:read',
  GetVersion: 'models:read',
  DownloadVersion: 'models:read',
  Watch: 'models:read',
  GetReference: 'models:read',
  CreateModel: 'models:write',
  UpdateModel: 'models:write',
  UploadVersion: 'models:write',
  SetReference: 'models:write',
  SetAlias: 'models:promote',
  DeleteVersion: 'models:delete',
  DeleteAlias: 'models:delete',
  CreateToken: 'admin',
  ListTokens: 'admin',
  RevokeToken: 'admin',
  IssueNodeIdentity: 'admin',
  ListAudit: 'admin',
  VerifyAudit: 'admin',
  GetModelHistory: 'admin',
  // Edges fetch the key to verify tokens with before they have one.
  GetPublicKey: 'public',
};

/** The scope table of the registry's gRPC service. */
export const REGISTRY_SCOPE_TABLE = scopeTable('infermesh.registry.v1.ModelRegistry', REGISTRY_METHOD_SCOPES);
