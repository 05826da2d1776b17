/**
 * Reconciling one model, as pure functions: what the registry wants of it (its aliases and
 * versions), the routing that follows once the wanted versions loaded or failed, and which of the
 * versions this node holds must go. The registry follower does the I/O around them.
 */
import type { Model__Output } from '../../../shared/generated/infermesh/registry/v1/Model.js';
import type { ModelVersion__Output } from '../../../shared/generated/infermesh/registry/v1/ModelVersion.js';
import { MAX_MODEL_REPLICAS } from '../../../shared/model-config/index.js';
import type { ModelRouting } from '../models/index.js';
import { SERVED_ALIASES } from '../../../shared/registry-client/index.js';

/** The aliases a node serves: `production` takes unversioned requests, `canary` a weighted share of them. */

type Alias = Model__Output['aliases'][number];

/** What the registry wants of one model. */
export interface DesiredModel {
  /** Whether the registry knows the model (an unknown or deleted model wants nothing). */
  known: boolean;
  /** The registry's versions, by version string. */
  versions: ReadonlyMap<string, ModelVersion__Output>;
  production?: Alias;
  canary?: Alias;
  /** The versions `production` and `canary` point at. */
  aliased: ReadonlySet<string>;
  /** `replicas` of the production version's config: the model is placed on that many nodes. Undefined: on every node. */
  replicas?: number;
}

/** What the registry wants of a model, from its `getModel` answer (undefined: NOT_FOUND). */
export function desiredModel(info: Model__Output | undefined): DesiredModel {
  const versions = new Map((info?.versions ?? []).map((v) => [String(v.version), v]));
  const production = info?.aliases.find((a) => a.name === SERVED_ALIASES.production && a.version > 0);
  const canary = info?.aliases.find((a) => a.name === SERVED_ALIASES.canary && a.version > 0);
  const aliased = new Set([production, canary].filter((a) => a !== undefined).map((a) => String(a.version)));
  const replicas = replicasIn(production ? versions.get(String(production.version)) : undefined);
  return { known: info !== undefined, versions, ...(production ? { production } : {}), ...(canary ? { canary } : {}), aliased, ...(replicas !== undefined ? { replicas } : {}) };
}

/**
 * The routing of a model served here once its aliased versions were loaded: production takes
 * the default unless it failed to load (then the previous default stays while it is READY), the
 * canary its weight unless it failed.
 */
export function routingFor(desired: DesiredModel, failed: ReadonlySet<string>, previous: { default?: string; defaultReady: boolean }): ModelRouting {
  const { production, canary } = desired;
  const routing: ModelRouting = {};
  if (production && !failed.has(String(production.version))) routing.default = String(production.version);
  // A production version that cannot load here: keep serving the one before it.
  else if (production && previous.default !== undefined && previous.defaultReady) routing.default = previous.default;
  if (canary && !failed.has(String(canary.version))) {
    routing.canary = String(canary.version);
    routing.canaryWeight = canary.weight;
  }
  return routing;
}

/** A version this node loaded, as reconciliation sees it. */
export interface HeldVersion {
  /** Loaded for a request that named it, not for an alias: kept while no alias points at it. */
  onDemand: boolean;
}

/** A held version to unload, and why. */
export interface Unload {
  version: string;
  reason: string;
}

/**
 * The held versions of a model to unload: those deleted from the registry, and those loaded
 * for an alias that no longer points at them (unless they are still the routed default) or
 * whose model is placed on other nodes. On-demand versions stay until deleted.
 */
export function unloadsFor(held: Iterable<[string, HeldVersion]>, desired: DesiredModel, o: { here: boolean; routedDefault: string | undefined }): Unload[] {
  const toLoad = o.here ? desired.aliased : new Set<string>();
  const unloads: Unload[] = [];
  for (const [version, h] of held) {
    const deleted = !desired.versions.has(version);
    const unaliased = !h.onDemand && !toLoad.has(version) && (version !== o.routedDefault || !o.here);
    if (deleted) unloads.push({ version, reason: 'deleted from the registry' });
    else if (unaliased) unloads.push({ version, reason: o.here ? 'no longer aliased' : 'its replicas are placed on other nodes' });
  }
  return unloads;
}

/** The `replicas` of a version's serving config, or undefined (every node; also for a config that is not JSON: its load reports that). */
export function replicasIn(mv: ModelVersion__Output | undefined): number | undefined {
  if (!mv?.configJson) return undefined;
  try {
    const replicas = (JSON.parse(mv.configJson) as { replicas?: unknown }).replicas;
    // Out of range: not placed here; the load itself rejects the config, naming the key.
    return typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 1 && replicas <= MAX_MODEL_REPLICAS ? replicas : undefined;
  } catch {
    return undefined;
  }
}
