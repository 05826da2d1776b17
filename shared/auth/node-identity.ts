// Node identities (issue 12, item 5): a short statement {node id, node public
// key, issued, expiry} signed by an issuer's Ed25519 key — the registry's
// signing key, which issues them through IssueNodeIdentity. The mesh signs its
// heartbeats with the node's key and peers verify the identity carried in each
// beat with verifyNodeIdentity (services/inference/mesh/node-identity.ts).
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { createEventCodec, type EventCodec } from '../nats/index.js';
import type { NodeIdentity, NodeIdentity__Output } from '../generated/infermesh/events/v1/NodeIdentity.js';
import type { NodeIdentityStatement, NodeIdentityStatement__Output } from '../generated/infermesh/events/v1/NodeIdentityStatement.js';

const IDENTITY_CONTEXT = 'infermesh.node-identity.v1';
const HEARTBEAT_PROTO = 'infermesh/events/v1/heartbeat.proto';

/** How long an identity is good for unless asked otherwise: 30 days. */
export const DEFAULT_NODE_IDENTITY_VALID_FOR_MS = 30 * 86_400_000;
/** The longest an identity may be good for: 366 days. */
export const MAX_NODE_IDENTITY_VALID_FOR_MS = 366 * 86_400_000;


let statementCodec: EventCodec<NodeIdentityStatement, NodeIdentityStatement__Output> | undefined;
const statements = () => (statementCodec ??= createEventCodec(HEARTBEAT_PROTO, 'infermesh.events.v1.NodeIdentityStatement'));
let identityCodec: EventCodec<NodeIdentity, NodeIdentity__Output> | undefined;
const identities = () => (identityCodec ??= createEventCodec(HEARTBEAT_PROTO, 'infermesh.events.v1.NodeIdentity'));

/** `context` NUL part NUL part ...: the bytes a node-identity or heartbeat signature covers. */
export function signedMessage(context: string, ...parts: Array<string | Uint8Array>): Buffer {
  return Buffer.concat([Buffer.from(context), ...parts.flatMap((p) => [Buffer.of(0), typeof p === 'string' ? Buffer.from(p) : p])]);
}

/** The raw 32 bytes of an Ed25519 public key. */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x) throw new Error('expected an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error(`an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/** A new Ed25519 key pair (for a node, or an issuer in tests). */
export function generateEd25519(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

/** Node ids are 1-64 characters of `A-Z a-z 0-9 _ -`: one NATS subject token and a valid durable consumer name. */
export function isValidNodeId(nodeId: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(nodeId);
}

/** Why `nodeId` cannot name a node (see {@link isValidNodeId}), or undefined when it can. */
export function nodeIdProblem(nodeId: string): string | undefined {
  return isValidNodeId(nodeId) ? undefined : `a node id is 1-64 of letters, digits, '_' and '-', got '${nodeId.slice(0, 80)}'`;
}

/** Parses an Ed25519 public key in SPKI PEM; the error says what it is instead. */
export function parseEd25519PublicKeyPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem', type: 'spki' });
  } catch (err) {
    throw new Error(`not an SPKI PEM public key: ${(err as Error).message}`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key; an Ed25519 key is needed`);
  return key;
}

/** Options of {@link issueNodeIdentity}. */
export interface IssueNodeIdentityOptions {
  /** The issuer's Ed25519 private key (the registry's signing key). */
  issuerKey: KeyObject;
  nodeId: string;
  /** The node's Ed25519 public key. */
  nodePublicKey: KeyObject;
  /** How long the identity is good for. Default {@link DEFAULT_NODE_IDENTITY_VALID_FOR_MS}. */
  validForMs?: number;
  /** Clock (ms). Default Date.now. */
  now?: () => number;
}

/** Signs a node identity with the issuer's key. */
export function issueNodeIdentity(options: IssueNodeIdentityOptions): NodeIdentity {
  const now = (options.now ?? Date.now)();
  const statement = statements().encode({
    nodeId: options.nodeId,
    nodePublicKey: rawEd25519PublicKey(options.nodePublicKey),
    issuedUnixMs: now,
    expiresUnixMs: now + (options.validForMs ?? DEFAULT_NODE_IDENTITY_VALID_FOR_MS),
  });
  return { statement, issuerSignature: sign(null, signedMessage(IDENTITY_CONTEXT, statement), options.issuerKey) };
}

/** What a verified identity says. */
export interface VerifiedNodeIdentity {
  nodeId: string;
  /** The node's Ed25519 public key. */
  key: KeyObject;
  issuedMs: number;
  expiresMs: number;
}

/** The statement of an identity that verifies against one of `issuerKeys`; undefined when none signed it or it does not decode. Expiry is the caller's to check. */
export function verifyNodeIdentity(identity: NodeIdentity__Output, issuerKeys: readonly KeyObject[]): VerifiedNodeIdentity | undefined {
  const message = signedMessage(IDENTITY_CONTEXT, identity.statement);
  if (!issuerKeys.some((k) => safeVerify(message, k, identity.issuerSignature))) return undefined;
  try {
    const statement = statements().decode(identity.statement);
    return { nodeId: statement.nodeId, key: publicKeyFromRaw(statement.nodePublicKey), issuedMs: Number(statement.issuedUnixMs), expiresMs: Number(statement.expiresUnixMs) };
  } catch {
    return undefined;
  }
}

/** The statement of an identity, unverified (e.g. to check it names this node's key before using it). */
export function nodeIdentityStatement(identity: NodeIdentity): NodeIdentityStatement__Output {
  return statements().decode(identity.statement as Uint8Array);
}

/** An identity as bytes (IssueNodeIdentityResponse.identity). */
export function encodeNodeIdentity(identity: NodeIdentity): Uint8Array {
  return identities().encode(identity);
}

/** The identity of {@link encodeNodeIdentity}'s bytes. */
export function decodeNodeIdentity(bytes: Uint8Array): NodeIdentity__Output {
  return identities().decode(bytes);
}

/** Ed25519 verification that answers false for a malformed signature instead of throwing. */
export function safeVerify(message: Buffer, key: KeyObject, signature: Uint8Array): boolean {
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
