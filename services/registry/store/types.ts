import type { ModelSignature } from '../../../shared/onnx/index.js';
import type { Actor, AliasAt, AuditEntry, AuditVerification } from '../audit/index.js';

/** What produced a version. */
export interface Lineage {
  trainingRunId: string;
  dataset: string;
  metrics: Record<string, number>;
  /** The version this one was trained from; 0 for none. */
  parentVersion: number;
}

/** A model, without its versions. */
export interface ModelRecord {
  name: string;
  description: string;
  tags: string[];
  labels: Record<string, string>;
  /** The highest version number ever allocated (numbers are never reused); 0 when none. */
  latestVersion: number;
  createdAtMs: number;
  updatedAtMs: number;
}

/** One committed version of a model. */
export interface VersionRecord {
  model: string;
  version: number;
  /** Lowercase hex sha256 of the ONNX file. */
  sha256: string;
  sizeBytes: number;
  description: string;
  labels: Record<string, string>;
  lineage: Lineage;
  /** The serving config, a JSON object text ("{}" when none). */
  configJson: string;
  signature: ModelSignature;
  createdAtMs: number;
}

/** A version's model-health reference profile: the encoded ReferenceProfile and what it holds. */
export interface NewReference {
  /** The encoded, validated `infermesh.registry.v1.ReferenceProfile`. */
  payload: Uint8Array;
  input: string;
  features: number;
  rows: number;
  totalRows: number;
}

/** A stored reference profile. */
export interface ReferenceRecord extends NewReference {
  model: string;
  version: number;
  updatedAtMs: number;
}

/** An alias of a model pointing at one version. */
export interface AliasRecord {
  model: string;
  name: string;
  version: number;
  /** Percent of traffic, 0-100. */
  weight: number;
  updatedAtMs: number;
}

/** One committed change, as stored in the outbox and published on NATS. */
export interface OutboxEvent {
  /** Gap-free commit sequence, 1, 2, 3, ... */
  sequence: number;
  subject: string;
  /** The encoded `infermesh.events.v1.RegistryEvent`. */
  payload: Uint8Array;
  /** W3C trace context of the request that made the change, when there was one. */
  traceparent?: string;
  createdAtMs: number;
  /** When NATS acknowledged it; undefined while unpublished. */
  publishedAtMs?: number;
}

/** Fields of a model a caller sets. */
export interface ModelInput {
  name: string;
  description?: string;
  tags?: string[];
  labels?: Record<string, string>;
}

/** A version to commit (its artifact is already stored and verified). */
export interface NewVersion {
  model: string;
  /** The number to use; undefined or 0 for the next one. ALREADY_EXISTS when taken. */
  version?: number;
  sha256: string;
  sizeBytes: number;
  description?: string;
  labels?: Record<string, string>;
  lineage?: Partial<Lineage>;
  configJson?: string;
  signature: ModelSignature;
  /** Create the model when it does not exist (otherwise NOT_FOUND). */
  createModelIfMissing?: boolean;
  /** Point this alias at the new version in the same commit. */
  alias?: { name: string; weight: number };
  /** Store this reference profile with the version, in the same commit (its ReferenceSet event follows VersionCreated). */
  reference?: NewReference;
}

/** The registry's current state, as of `lastSequence`. */
export interface RegistrySnapshot {
  lastSequence: number;
  models: { model: ModelRecord; versions: VersionRecord[]; aliases: AliasRecord[]; references: Omit<ReferenceRecord, 'payload'>[] }[];
}

/** A model listing query. */
export interface ModelQuery {
  pageSize: number;
  /** Opaque, from the previous page; empty for the first. */
  pageToken?: string;
  namePrefix?: string;
  tag?: string;
  labels?: Record<string, string>;
}

/** Context of a write: the trace to carry into the event's `traceparent` header, and who is making it (for the audit log). */
export interface WriteContext {
  traceparent?: string;
  /** Recorded in the change's audit entry. Default: anonymous, no address. */
  actor?: Actor;
}

/** An issued token as the registry keeps it: never the token itself, only its id and sha256. */
export interface TokenRecord {
  /** The JWT `jti`. */
  id: string;
  /** Lowercase hex sha256 of the token. */
  sha256: string;
  subject: string;
  scopes: string[];
  /** Model globs; empty for every model. */
  models: string[];
  createdAtMs: number;
  expiresAtMs: number;
  /** Undefined while not revoked. */
  revokedAtMs?: number;
  /** Subject of whoever created it. */
  createdBy: string;
}

/** A token to record (its JWT is already signed). */
export type NewToken = Omit<TokenRecord, 'revokedAtMs' | 'createdBy'>;

/** A node identity the registry issued, as its audit entry records it. */
export interface NodeIdentityRecord {
  nodeId: string;
  /** Lowercase hex sha256 of the node's raw Ed25519 public key. */
  keySha256: string;
  expiresAtMs: number;
}

/** An audit listing query. */
export interface AuditQuery {
  /** Only entries about this model. */
  model?: string;
  /** First sequence to return. Default: 1. */
  fromSequence?: number;
  limit: number;
}

/**
 * Where the registry keeps its metadata. Every write commits its change and its
 * outbox event in one transaction; writes are serialized, so event sequences are
 * gap-free and in commit order. Errors are InfermeshErrors: NOT_FOUND,
 * ALREADY_EXISTS, FAILED_PRECONDITION.
 */
export interface RegistryStore {
  /** Random id fixed when the database was created; prefixes JetStream message ids. */
  readonly registryId: string;
  /** `sqlite` or `postgres`. */
  readonly kind: string;

  createModel(input: ModelInput, ctx?: WriteContext): Promise<ModelRecord>;
  /** Replaces description, tags and labels. */
  updateModel(input: ModelInput, ctx?: WriteContext): Promise<ModelRecord>;
  getModel(name: string): Promise<ModelRecord | undefined>;
  listModels(query: ModelQuery): Promise<{ models: ModelRecord[]; nextPageToken: string }>;

  createVersion(input: NewVersion, ctx?: WriteContext): Promise<{ version: VersionRecord; alias?: AliasRecord }>;
  getVersion(model: string, version: number): Promise<VersionRecord | undefined>;
  /** Oldest first. */
  listVersions(model: string): Promise<VersionRecord[]>;
  /** FAILED_PRECONDITION while an alias points at it. Resolves with the deleted version. */
  deleteVersion(model: string, version: number, ctx?: WriteContext): Promise<VersionRecord>;
  /** How many versions (of any model) use this artifact. */
  countArtifactUses(sha256: string): Promise<number>;
  /** How many versions the registry holds, of every model. */
  countVersions(): Promise<number>;

  /** Stores or replaces a version's reference profile (and appends its ReferenceSet event). NOT_FOUND for an unknown model or version. */
  setReference(model: string, version: number, reference: NewReference, ctx?: WriteContext): Promise<ReferenceRecord>;
  getReference(model: string, version: number): Promise<ReferenceRecord | undefined>;

  setAlias(alias: { model: string; name: string; version: number; weight: number }, ctx?: WriteContext): Promise<AliasRecord>;
  deleteAlias(model: string, name: string, ctx?: WriteContext): Promise<void>;
  getAlias(model: string, name: string): Promise<AliasRecord | undefined>;
  listAliases(model: string): Promise<AliasRecord[]>;

  /** Events with sequence >= `fromSequence`, oldest first, at most `limit`. */
  eventsFrom(fromSequence: number, limit: number): Promise<OutboxEvent[]>;
  /** Unpublished events, oldest first, at most `limit`. */
  unpublishedEvents(limit: number): Promise<OutboxEvent[]>;
  markPublished(sequences: readonly number[], atMs: number): Promise<void>;
  /** The last committed sequence; 0 when none. */
  lastSequence(): Promise<number>;
  /** The oldest sequence the outbox still holds; 0 when it holds none. Events before it were pruned. */
  firstSequence(): Promise<number>;
  /**
   * Deletes published events with sequence <= `throughSequence` that were
   * published before `publishedBeforeMs`; the last event always stays (it
   * carries the sequence the next commit continues from). Resolves with how
   * many rows went.
   */
  pruneOutbox(throughSequence: number, publishedBeforeMs: number): Promise<number>;
  /** Every model (or one), with its versions and aliases, and the last sequence they reflect: one consistent read. */
  snapshot(model?: string): Promise<RegistrySnapshot>;

  /** Records an issued token (and its audit entry). ALREADY_EXISTS for a reused id. */
  createToken(token: NewToken, ctx?: WriteContext): Promise<TokenRecord>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  /** Newest first; revoked and expired ones only with `includeInactive`. */
  listTokens(options: { includeInactive: boolean; nowMs: number }): Promise<TokenRecord[]>;
  /**
   * Marks a token revoked, audits it and appends its TokenRevoked event
   * (subject `infermesh.registry.auth.revoked`), in one commit. NOT_FOUND for
   * an unknown id, FAILED_PRECONDITION when already revoked.
   */
  revokeToken(id: string, ctx?: WriteContext): Promise<TokenRecord>;

  /** Records that a node identity was issued (its audit entry: node id, key fingerprint, expiry). */
  recordNodeIdentity(identity: NodeIdentityRecord, ctx?: WriteContext): Promise<void>;

  /**
   * Audit entries, oldest first. Every write above appends its entry in its
   * own transaction, chained by sha256 to the one before.
   */
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /** Walks the whole audit chain (see AuditChainChecker). */
  verifyAudit(): Promise<AuditVerification>;
  /** Every alias of `model` as it stood at `atMs`, from the audit log. */
  aliasesAt(model: string, atMs: number): Promise<AliasAt[]>;

  /** Closes the database connection(s). Idempotent. */
  close(): Promise<void>;
}
