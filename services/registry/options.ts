/**
 * Merges options over their defaults once, at construction. Unlike a spread, an
 * option passed as `undefined` keeps its default.
 */
export function withDefaults<D extends object, O extends object>(defaults: D, options: O): D & O {
  const merged: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) merged[k] = v;
  return merged as D & O;
}
