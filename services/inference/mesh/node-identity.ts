// Signed heartbeats (issue 12, item 5).
//
// A node identity (shared/auth/node-identity.ts) is a statement {node id, node
// public key, issued, expiry} the registry signs with its signing key
// (IssueNodeIdentity; `infermesh nodes identity` asks for one). A node signs each
// heartbeat with its own key and carries its identity in the beat; a peer that
// verifies trusts the beat only when the identity verifies against a trusted
// issuer key (the registry's public key), is current, names the node of the
// subject and of the beat, and the beat verifies against its key.
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { MsgHdrs } from '@nats-io/nats-core';
import { generateEd25519, nodeIdentityStatement, parseEd25519PublicKeyPem, rawEd25519PublicKey, safeVerify, signedMessage, verifyNodeIdentity, type VerifiedNodeIdentity } from '../../../shared/auth/index.js';
import { writePrivateFile } from '../../../shared/tls/index.js';
import type { NodeIdentity, NodeIdentity__Output } from '../../../shared/generated/infermesh/events/v1/NodeIdentity.js';
import type { NodeHeartbeat__Output } from '../../../shared/generated/infermesh/events/v1/NodeHeartbeat.js';

/** The NATS header that carries a heartbeat's signature (base64 Ed25519). */
export const HEARTBEAT_SIGNATURE_HEADER = 'Infermesh-Heartbeat-Signature';

const HEARTBEAT_CONTEXT = 'infermesh.heartbeat.v1';
const NODE_KEY_FILE = 'node-key.pem';

/** Why a heartbeat was not trusted (the label of the rejected-heartbeats count). */
export type HeartbeatRejection = 'unsigned' | 'bad_identity' | 'expired_identity' | 'bad_signature' | 'node_mismatch' | 'stale';

/** Every {@link HeartbeatRejection}, e.g. to initialise counters. */
export const HEARTBEAT_REJECTIONS: readonly HeartbeatRejection[] = ['unsigned', 'bad_identity', 'expired_identity', 'bad_signature', 'node_mismatch', 'stale'];

/** What a node needs to sign its heartbeats: its private key and the identity the registry issued for it. */
export interface HeartbeatSigner {
  nodeKey: KeyObject;
  identity: NodeIdentity;
}

/** The signature header value of a beat's payload on `subject`. */
export function signHeartbeat(signer: HeartbeatSigner, subject: string, payload: Uint8Array): string {
  return sign(null, signedMessage(HEARTBEAT_CONTEXT, subject, payload), signer.nodeKey).toString('base64');
}

/** Options of {@link createHeartbeatVerifier}. */
export interface HeartbeatVerifierOptions {
  /** Ed25519 public keys of the issuers whose identities are trusted (usually one). */
  issuerKeys: KeyObject[];
  /** A beat whose `time_unix_ms` is further than this from now is stale (a replay). Default 60000 ms. */
  maxClockSkewMs?: number;
  /** Clock (ms). Default Date.now. */
  now?: () => number;
}

/** Checks heartbeats; undefined means trusted. */
export interface HeartbeatVerifier {
  check(subject: string, nodeIdOfSubject: string, payload: Uint8Array, headers: MsgHdrs | undefined, beat: NodeHeartbeat__Output): HeartbeatRejection | undefined;
}

/** Creates a {@link HeartbeatVerifier}. Verified identities are cached by their bytes (bounded), so a beat costs one signature check. */
export function createHeartbeatVerifier(options: HeartbeatVerifierOptions): HeartbeatVerifier {
  if (options.issuerKeys.length === 0) throw new Error('heartbeat verification needs at least one trusted issuer key');
  const now = options.now ?? Date.now;
  const maxSkewMs = options.maxClockSkewMs ?? 60_000;
  const MAX_CACHED = 1024;
  const cache = new Map<string, VerifiedNodeIdentity>();

  const identityOf = (identity: NodeIdentity__Output): VerifiedNodeIdentity | undefined => {
    const cacheKey = Buffer.concat([identity.statement, identity.issuerSignature]).toString('base64');
    const hit = cache.get(cacheKey);
    if (hit) return hit;
    const entry = verifyNodeIdentity(identity, options.issuerKeys);
    if (!entry) return undefined;
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(cacheKey, entry);
    return entry;
  };

  return {
    check(subject, nodeIdOfSubject, payload, headers, beat) {
      const signature = headers?.get(HEARTBEAT_SIGNATURE_HEADER);
      if (!signature || !beat.identity || beat.identity.statement.length === 0) return 'unsigned';
      const identity = identityOf(beat.identity);
      if (!identity) return 'bad_identity';
      if (identity.expiresMs <= now()) return 'expired_identity';
      if (identity.nodeId !== beat.nodeId || beat.nodeId !== nodeIdOfSubject) return 'node_mismatch';
      if (!safeVerify(signedMessage(HEARTBEAT_CONTEXT, subject, payload), identity.key, Buffer.from(signature, 'base64'))) return 'bad_signature';
      if (Math.abs(now() - Number(beat.timeUnixMs)) > maxSkewMs) return 'stale';
      return undefined;
    },
  };
}

/**
 * The node's Ed25519 key, kept in `<dataDir>/node-key.pem` (mode 0600) and made
 * there on first use, so a restarted node keeps it (and the identity issued for it).
 */
export async function resolveNodeKey(dataDir: string): Promise<KeyObject> {
  const file = join(dataDir, NODE_KEY_FILE);
  const kept = await readFile(file).catch(() => undefined);
  if (kept) return loadEd25519PrivateKey(kept, file);
  const { privateKey } = generateEd25519();
  await writePrivateFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  return privateKey;
}

/** Parses a PEM Ed25519 private key; the error names `file`. */
export function loadEd25519PrivateKey(pem: Uint8Array | string, file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(typeof pem === 'string' ? pem : Buffer.from(pem));
  } catch (err) {
    throw new Error(`'${file}' is not a PEM private key: ${(err as Error).message}`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`'${file}' holds a ${key.asymmetricKeyType} key; an Ed25519 key is needed`);
  return key;
}

/** Reads a PEM Ed25519 public key (e.g. the trusted issuer's: the registry's); the error names the file. */
export async function readEd25519PublicKey(file: string): Promise<KeyObject> {
  const pem = await readFile(file).catch((err: unknown) => {
    throw new Error(`the issuer public key file '${file}' cannot be read: ${(err as Error).message}`, { cause: err });
  });
  try {
    return parseEd25519PublicKeyPem(pem.toString('utf8'));
  } catch (err) {
    throw new Error(`'${file}' is ${(err as Error).message}`, { cause: err });
  }
}

/** Reads a node identity written by {@link writeNodeIdentity}. */
export async function readNodeIdentity(file: string): Promise<NodeIdentity> {
  const bytes = await readFile(file).catch((err: unknown) => {
    throw new Error(`the node identity file '${file}' cannot be read: ${(err as Error).message}`, { cause: err });
  });
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { statement?: unknown; issuerSignature?: unknown };
    if (typeof parsed.statement !== 'string' || typeof parsed.issuerSignature !== 'string') throw new Error('statement and issuerSignature (base64) are needed');
    return { statement: Buffer.from(parsed.statement, 'base64'), issuerSignature: Buffer.from(parsed.issuerSignature, 'base64') };
  } catch (err) {
    throw new Error(`'${file}' is not a node identity: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes a node identity as JSON with base64 fields. */
export async function writeNodeIdentity(file: string, identity: NodeIdentity): Promise<void> {
  const b64 = (v: NodeIdentity['statement']) => (typeof v === 'string' ? v : Buffer.from(v ?? []).toString('base64'));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify({ statement: b64(identity.statement), issuerSignature: b64(identity.issuerSignature) }) + '\n');
  await rename(`${file}.tmp`, file);
}

/** What a node signs and verifies heartbeats with (MeshOptions.heartbeatTrust). */
export interface HeartbeatTrust {
  /** Sign this node's beats. */
  signer?: HeartbeatSigner;
  /** Trust only verified peer beats. */
  verifier?: HeartbeatVerifier;
}

/** Files of {@link loadHeartbeatTrust}. */
export interface HeartbeatTrustFiles {
  /** The node's data dir: its key is `<dataDir>/node-key.pem` (made when missing). */
  dataDir: string;
  /** The identity issued for this node's key: with it, beats are signed. */
  identityFile?: string;
  /** PEM Ed25519 public key of the trusted issuer (the registry's token public key): with it, peer beats are verified (and unsigned ones ignored). */
  issuerPublicKeyFile?: string;
}

/**
 * Loads a node's heartbeat trust from files; both parts are optional (none:
 * plaintext beats, every beat trusted). An identity issued for another key is an
 * error, so a node never beats with a signature its peers would refuse.
 */
export async function loadHeartbeatTrust(files: HeartbeatTrustFiles): Promise<HeartbeatTrust> {
  const trust: HeartbeatTrust = {};
  if (files.identityFile) {
    const [nodeKey, identity] = await Promise.all([resolveNodeKey(files.dataDir), readNodeIdentity(files.identityFile)]);
    if (!rawEd25519PublicKey(createPublicKey(nodeKey)).equals(nodeIdentityStatement(identity).nodePublicKey)) {
      throw new Error(`the node identity '${files.identityFile}' was issued for another key than '${join(files.dataDir, NODE_KEY_FILE)}'`);
    }
    trust.signer = { nodeKey, identity };
  }
  if (files.issuerPublicKeyFile) trust.verifier = createHeartbeatVerifier({ issuerKeys: [await readEd25519PublicKey(files.issuerPublicKeyFile)] });
  return trust;
}
