import { invalidArgument } from '../errors/index.js';

/**
 * What a token may do. `admin` implies every other scope.
 *
 * - `infer`: call models on the inference nodes
 * - `models:read`: read models, versions, aliases and references from the registry
 * - `models:write`: push versions, create and update models, set references
 * - `models:promote`: move aliases (production, canary weights)
 * - `models:delete`: delete versions and aliases
 * - `traces:read`: read traces from the monitor
 * - `feedback:write`: send ground truth and interactions
 * - `admin`: tokens, audit, and everything above
 */
export const SCOPES = ['infer', 'models:read', 'models:write', 'models:promote', 'models:delete', 'traces:read', 'feedback:write', 'admin'] as const;

/** One of {@link SCOPES}. */
export type Scope = (typeof SCOPES)[number];

const KNOWN = new Set<string>(SCOPES);

/** Whether `value` names a scope. */
export function isScope(value: string): value is Scope {
  return KNOWN.has(value);
}

/** Checks a list of scope names: INVALID_ARGUMENT naming the first unknown one; at least one is required. Duplicates go. */
export function parseScopes(values: readonly string[], what = 'scopes'): Scope[] {
  if (values.length === 0) throw invalidArgument(`${what}: at least one scope is required (one of ${SCOPES.join(', ')})`);
  for (const v of values) if (!isScope(v)) throw invalidArgument(`${what}: unknown scope '${v}' (expected one of ${SCOPES.join(', ')})`);
  return [...new Set(values as Scope[])];
}

/** Whether a grant of `granted` covers `scope` (`admin` covers all). */
export function hasScope(granted: readonly string[], scope: Scope): boolean {
  return granted.includes(scope) || granted.includes('admin');
}
