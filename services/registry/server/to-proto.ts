import type { Alias } from '../../../shared/generated/infermesh/registry/v1/Alias.js';
import type { Model } from '../../../shared/generated/infermesh/registry/v1/Model.js';
import type { ModelVersion } from '../../../shared/generated/infermesh/registry/v1/ModelVersion.js';
import type { AliasRecord, ModelRecord, VersionRecord } from '../store/index.js';

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
