import { describe, expect, it } from 'vitest';
import { defineDefaults, resolveOptions } from './resolve-options.js';

describe('resolveOptions', () => {
  const DEFAULTS = defineDefaults({ timeoutMs: 5000, retries: 3, name: 'x' });

  it('takes each given option over its default, and keeps the default for one not given or undefined', () => {
    const o = resolveOptions(DEFAULTS, { timeoutMs: 10, retries: undefined, extra: true });
    expect(o).toEqual({ timeoutMs: 10, retries: 3, name: 'x', extra: true });
    expect(resolveOptions(DEFAULTS, undefined)).toEqual({ timeoutMs: 5000, retries: 3, name: 'x' });
  });

  it('keeps falsy values that are not undefined (0, empty string, false, null)', () => {
    expect(resolveOptions(defineDefaults({ a: 1, b: 'b', c: true, d: {} }), { a: 0, b: '', c: false, d: null })).toEqual({ a: 0, b: '', c: false, d: null });
  });

  it('changes neither argument, and the defaults are frozen', () => {
    const options = { timeoutMs: 1 };
    const o = resolveOptions(DEFAULTS, options);
    o.timeoutMs = 2;
    expect(options).toEqual({ timeoutMs: 1 });
    expect(DEFAULTS.timeoutMs).toBe(5000);
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(() => {
      (DEFAULTS as { timeoutMs: number }).timeoutMs = 7;
    }).toThrow(TypeError);
  });

  it('merges shallowly: a nested object replaces its default as a whole', () => {
    const d = defineDefaults({ http: { maxBodyBytes: 1, requestTimeoutMs: 2 } });
    expect(resolveOptions(d, { http: { maxBodyBytes: 9, requestTimeoutMs: 8 } }).http).toEqual({ maxBodyBytes: 9, requestTimeoutMs: 8 });
  });
});
