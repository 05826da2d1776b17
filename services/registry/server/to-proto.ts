import type { Alias } from '../../../shared/generated/infermesh/registry/v1/Alias.js';
import type { Model } from '../../../shared/generated/infermesh/registry/v1/Model.js';
import type { ModelVersion } from '../../../shared/generated/infermesh/registry/v1/ModelVersion.js';
import type { ReferenceInfo } from '../../../shared/generated/infermesh/registry/v1/ReferenceInfo.js';
import { decodeReferenceProfile } from '../../../shared/registry-client/reference-profile.js';
import type { AliasRecord, ModelRecord, NewReference, ReferenceRecord, VersionRecord } from '../store/index.js';

/** The proto form of a version. */
export function versionToProto(v: VersionRecord): ModelVersion {
  return {
    model: v.model,
    version: v.version,
    sha256: v.sha256,
    sizeBytes: v.sizeBytes,
    description: v.description,
    labels: v.labels,
    lineage: v.lineage,
    configJson: v.configJson,
    signature: v.signature,
    createdAtUnixMs: v.createdAtMs,
  };
}

export function aliasToProto(a: AliasRecord): Alias {
  return { model: a.model, name: a.name, version: a.version, weight: a.weight, updatedAtUnixMs: a.updatedAtMs };
}

/** The proto form of a model; versions only when given (GetModel), aliases always. */
export function modelToProto(m: ModelRecord, aliases: AliasRecord[], versions: VersionRecord[] = []): Model {
  return {
    name: m.name,
    description: m.description,
    tags: m.tags,
    labels: m.labels,
    createdAtUnixMs: m.createdAtMs,
    updatedAtUnixMs: m.updatedAtMs,
    versions: versions.map(versionToProto),
    aliases: aliases.map(aliasToProto),
    latestVersion: m.latestVersion,
  };
}

export function referenceInfoToProto(r: Omit<ReferenceRecord, 'payload'>): ReferenceInfo {
  return { model: r.model, version: r.version, input: r.input, features: r.features, rows: r.rows, totalRows: r.totalRows, updatedAtUnixMs: r.updatedAtMs };
}

/**
 * Checks an encoded ReferenceProfile from a request (size first, then its
 * contents; see decodeReferenceProfile) into what the store keeps.
 */
export function checkReference(bytes: Uint8Array, field: string): NewReference {
  const p = decodeReferenceProfile(bytes, field);
  return { payload: bytes, input: p.input, features: p.features.length, rows: p.rows, totalRows: Number(p.totalRows) };
}
