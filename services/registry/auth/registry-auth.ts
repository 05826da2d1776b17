import { createHash } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import {
  DEFAULT_NODE_IDENTITY_VALID_FOR_MS,
  MAX_NODE_IDENTITY_VALID_FOR_MS,
  bearerToken,
  createTokenVerifier,
  encodeNodeIdentity,
  issueNodeIdentity,
  nodeIdProblem,
  parseEd25519PublicKeyPem,
  rawEd25519PublicKey,
  type Principal,
  type TokenVerifier,
} from '../../../shared/auth/index.js';
import { invalidArgument } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { ANONYMOUS, type Actor } from '../audit/index.js';
import type { RegistryStore, TokenRecord, WriteContext } from '../store/index.js';
import { loadOrCreateSigningKey, type SigningKey } from './signing-key.js';
import { createTokenIssuer, type TokenIssuer } from './token-issuer.js';

/** Options for {@link createRegistryAuth}. */
export interface RegistryAuthOptions {
  /** The key lives under `<dataDir>/auth/`. */
  dataDir: string;
  store: RegistryStore;
  logger?: Logger;
  clock?: () => number;
}

/** The registry's side of tokens: its key, the issuer, a verifier that knows every revocation, and who a call is. */
export interface RegistryAuth {
  readonly key: SigningKey;
  readonly issuer: TokenIssuer;
  /** Verifies tokens against the registry's own key; revocations made here apply at once. */
  readonly verifier: TokenVerifier;
  /** The principal of a call's `authorization: Bearer` token; undefined when it carries none. UNAUTHENTICATED for a bad one. */
  principalOf(metadata: Metadata): Promise<Principal | undefined>;
  /**
   * Who a call is, for the audit log: its token's subject, else `anonymous`
   * (auth is not enforced here; a call with a bad token is recorded as
   * anonymous), and its peer address.
   */
  actorOf(metadata: Metadata, peer: string): Promise<Actor>;
  /** Issued tokens, newest first (revoked and expired ones with `includeInactive`). */
  listTokens(includeInactive: boolean): Promise<TokenRecord[]>;
  /** Revokes a token (store, audit entry and TokenRevoked event in one commit); this registry's verifier refuses it at once. */
  revoke(tokenId: string, ctx?: WriteContext): Promise<TokenRecord>;
  /**
   * Signs a node identity for a node's Ed25519 key with the signing key (peers
   * trust its public key for heartbeats) and audits it. INVALID_ARGUMENT for a
   * bad node id, a key that is not Ed25519 SPKI PEM, or a validity out of range.
   */
  issueNodeIdentity(request: NodeIdentityRequest, ctx?: WriteContext): Promise<IssuedNodeIdentity>;
}

/** What {@link RegistryAuth.issueNodeIdentity} signs. */
export interface NodeIdentityRequest {
  nodeId: string;
  nodePublicKeyPem: string;
  /** 0: 30 days; at most 366 days. */
  validForMs: number;
}

/** An issued node identity: the encoded NodeIdentity and when it expires. */
export interface IssuedNodeIdentity {
  identity: Uint8Array;
  expiresAtMs: number;
}

/**
 * Loads (or creates) the signing key and seeds the verifier with the
 * revocations of tokens that have not expired yet.
 */
export async function createRegistryAuth(options: RegistryAuthOptions): Promise<RegistryAuth> {
  const clock = options.clock ?? Date.now;
  const key = await loadOrCreateSigningKey(options.dataDir, options.logger);
  if (key.created) options.logger?.info('created the token signing key', { path: key.path, keyId: key.keyId });
  const verifier = createTokenVerifier({ publicKey: key.publicKey, clock });
  for (const t of await options.store.listTokens({ includeInactive: true, nowMs: clock() })) {
    if (t.revokedAtMs !== undefined && t.expiresAtMs > clock()) verifier.revoke(t.id, t.expiresAtMs);
  }
  const principalOf = async (metadata: Metadata) => {
    const token = bearerToken(metadata);
    return token === undefined ? undefined : verifier.verify(token);
  };
  return {
    key,
    issuer: createTokenIssuer({ store: options.store, key, clock }),
    verifier,
    principalOf,
    async actorOf(metadata, peer) {
      const principal = await principalOf(metadata).catch(() => undefined);
      return { subject: principal?.subject ?? ANONYMOUS, address: peer };
    },
    listTokens: (includeInactive) => options.store.listTokens({ includeInactive, nowMs: clock() }),
    async revoke(tokenId, ctx) {
      const record = await options.store.revokeToken(tokenId, ctx);
      verifier.revoke(record.id, record.expiresAtMs);
      return record;
    },
    async issueNodeIdentity(request, ctx) {
      const badId = nodeIdProblem(request.nodeId);
      if (badId) throw invalidArgument(`node_id: ${badId}`);
      const validForMs = request.validForMs === 0 ? DEFAULT_NODE_IDENTITY_VALID_FOR_MS : request.validForMs;
      if (!Number.isSafeInteger(validForMs) || validForMs < 0 || validForMs > MAX_NODE_IDENTITY_VALID_FOR_MS) {
        throw invalidArgument(`valid_for_ms must be at most ${MAX_NODE_IDENTITY_VALID_FOR_MS} (366 days), got ${request.validForMs}`);
      }
      let nodePublicKey;
      try {
        nodePublicKey = parseEd25519PublicKeyPem(request.nodePublicKeyPem);
      } catch (err) {
        throw invalidArgument(`node_public_key_pem is ${(err as Error).message}`);
      }
      const nowMs = clock();
      const expiresAtMs = nowMs + validForMs;
      const identity = issueNodeIdentity({ issuerKey: key.privateKey, nodeId: request.nodeId, nodePublicKey, validForMs, now: () => nowMs });
      const keySha256 = createHash('sha256').update(rawEd25519PublicKey(nodePublicKey)).digest('hex');
      await options.store.recordNodeIdentity({ nodeId: request.nodeId, keySha256, expiresAtMs }, ctx);
      return { identity: encodeNodeIdentity(identity), expiresAtMs };
    },
  };
}
