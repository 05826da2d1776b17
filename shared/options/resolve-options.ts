/**
 * Options are resolved once, at construction (as nats.js's `parseOptions()`):
 * a frozen `DEFAULT_X` constant next to the options interface, and one call
 *
 * ```ts
 * export const DEFAULT_WIDGET_OPTIONS = defineDefaults({ timeoutMs: 5000, retries: 3 });
 * const o = resolveOptions(DEFAULT_WIDGET_OPTIONS, options);
 * ```
 *
 * Unlike a spread, an option passed as `undefined` keeps its default, so
 * callers may forward optional values (`{ timeoutMs: flags.timeoutMs }`)
 * without `...(x !== undefined ? { x } : {})` at every call site. The merge is
 * shallow: a nested options object replaces its default as a whole.
 */

/** Freezes a defaults object (shallowly), so no caller can change the defaults of every later construction. */
export function defineDefaults<D extends object>(defaults: D): Readonly<D> {
  return Object.freeze({ ...defaults });
}

/** What {@link resolveOptions} returns: each defaulted key is present (with its default's type or the option's), the rest as passed. */
export type Resolved<D, O> = Omit<O, keyof D> & { [K in keyof D]: K extends keyof O ? Exclude<O[K], undefined> | D[K] : D[K] };

/**
 * `options` over `defaults`: a new object with every own key of both, where a
 * key of `options` whose value is `undefined` keeps the default. Neither
 * argument is changed.
 */
export function resolveOptions<D extends object, O extends object>(defaults: Readonly<D>, options: O | undefined): Resolved<D, O> {
  const merged: Record<string, unknown> = { ...defaults };
  if (options) for (const [k, v] of Object.entries(options)) if (v !== undefined) merged[k] = v;
  return merged as Resolved<D, O>;
}
