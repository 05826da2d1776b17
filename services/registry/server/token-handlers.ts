import { TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER } from '../../../shared/auth/index.js';
import { invalidArgument } from '../../../shared/errors/index.js';
import type { ModelRegistryHandlers } from '../../../shared/generated/infermesh/registry/v1/ModelRegistry.js';
import type { TokenInfo } from '../../../shared/generated/infermesh/registry/v1/TokenInfo.js';
import type { TokenRecord } from '../store/index.js';
import { adminUnary, type AdminHandlerDeps } from './admin-unary.js';

/** The token RPCs of ModelRegistry. */
export type TokenHandlers = Pick<ModelRegistryHandlers, 'CreateToken' | 'ListTokens' | 'RevokeToken' | 'GetPublicKey' | 'IssueNodeIdentity'>;

/** ModelRegistry's token RPCs: issue, list, revoke, the public key edges verify with, and node identities signed with its key. */
export function createTokenHandlers(deps: AdminHandlerDeps): TokenHandlers {
  const { auth } = deps;
  return {
    CreateToken: adminUnary(deps, 'CreateToken', async (req, ctx) => {
      const ttlMs = Number(req.ttlMs);
      if (!Number.isSafeInteger(ttlMs)) throw invalidArgument(`ttl_ms must be a whole number of milliseconds, got ${req.ttlMs}`);
      const { token, record } = await auth.issuer.issue({ subject: req.subject, scopes: req.scopes, models: req.models, ttlMs }, ctx);
      return { token, info: tokenToProto(record) };
    }),

    ListTokens: adminUnary(deps, 'ListTokens', async (req) => ({
      tokens: (await auth.listTokens(req.includeInactive)).map(tokenToProto),
    })),

    RevokeToken: adminUnary(deps, 'RevokeToken', async (req, ctx) => {
      if (!req.tokenId) throw invalidArgument('token_id is required');
      const record = await auth.revoke(req.tokenId, ctx);
      return tokenToProto(record);
    }),

    GetPublicKey: adminUnary(deps, 'GetPublicKey', async () => ({
      algorithm: TOKEN_ALGORITHM,
      keyId: auth.key.keyId,
      publicKeyPem: auth.key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
    })),

    IssueNodeIdentity: adminUnary(deps, 'IssueNodeIdentity', async (req, ctx) => {
      const validForMs = Number(req.validForMs);
      if (!Number.isSafeInteger(validForMs)) throw invalidArgument(`valid_for_ms must be a whole number of milliseconds, got ${req.validForMs}`);
      const { identity, expiresAtMs } = await auth.issueNodeIdentity({ nodeId: req.nodeId, nodePublicKeyPem: req.nodePublicKeyPem, validForMs }, ctx);
      return { identity, expiresUnixMs: expiresAtMs };
    }),
  };
}

function tokenToProto(t: TokenRecord): TokenInfo {
  return {
    tokenId: t.id,
    subject: t.subject,
    scopes: t.scopes,
    models: t.models,
    createdAtUnixMs: t.createdAtMs,
    expiresAtUnixMs: t.expiresAtMs,
    revokedAtUnixMs: t.revokedAtMs ?? 0,
    createdBy: t.createdBy,
    sha256: t.sha256,
  };
}
