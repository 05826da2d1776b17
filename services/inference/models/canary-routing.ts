import { invalidArgument, unavailable } from '../../../shared/errors/index.js';
import { isVersionString } from './model-repository.js';
import type { VersionState } from './version-status.js';

/**
 * Which version serves requests that name none. `default` undefined = the
 * highest READY version; `canary` takes `canaryWeight`% (0-100) of those requests.
 */
export interface ModelRouting {
  default?: string;
  canary?: string;
  canaryWeight?: number;
}

/** What routing reads of a version. */
export interface RoutableVersion {
  readonly state: VersionState;
  readonly reason: string;
}

/**
 * Checks a routing for `model` and returns it as stored: a canary named
 * without a weight gets weight 0. Throws INVALID_ARGUMENT naming the bad field.
 */
export function normalizeRouting(model: string, routing: ModelRouting): ModelRouting {
  for (const v of [routing.default, routing.canary]) {
    if (v !== undefined && !isVersionString(v)) throw invalidArgument(`routing of '${model}': version '${v}' must be a decimal integer`);
  }
  const weight = routing.canaryWeight ?? (routing.canary !== undefined ? 0 : undefined);
  if (weight !== undefined && (!Number.isFinite(weight) || weight < 0 || weight > 100)) {
    throw invalidArgument(`routing of '${model}': canaryWeight must be 0-100, got ${weight}`);
  }
  return { ...routing, ...(weight !== undefined ? { canaryWeight: weight } : {}) };
}

/**
 * The version that serves a request naming none: the canary for `canaryWeight`%
 * of draws of `random` (uniform [0,1)) while it is READY, else the default, else
 * the highest READY version. Throws UNAVAILABLE, with every version's state and
 * reason and the model-level `failure`, when no version is READY.
 */
export function routeVersion(
  model: string,
  routing: ModelRouting,
  versions: ReadonlyMap<string, RoutableVersion>,
  failure: string | undefined,
  random: () => number,
): string {
  const { default: def, canary, canaryWeight = 0 } = routing;
  if (canary !== undefined && canaryWeight > 0 && versions.get(canary)?.state === 'READY' && random() * 100 < canaryWeight) return canary;
  if (def !== undefined) return def;
  let highest: string | undefined;
  for (const [v, s] of versions) if (s.state === 'READY' && (highest === undefined || Number(v) > Number(highest))) highest = v;
  if (highest === undefined) {
    const reasons = [failure, ...[...versions.entries()].map(([v, s]) => `version ${v} is ${s.state}: ${s.reason}`)].filter(Boolean);
    throw unavailable(`model '${model}' has no ready version (${reasons.join('; ') || 'none loaded'})`);
  }
  return highest;
}
