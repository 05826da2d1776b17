import { describe, expect, it } from 'vitest';
import { REFERENCE_LIMITS, decodeReferenceProfile, encodeReferenceProfile, referenceColumns, toReferenceProfile } from './reference-profile.js';

describe('reference profiles', () => {
  it('packs columns row-major and reads them back', () => {
    const profile = toReferenceProfile('x', [{ name: 'x[0]', values: [1, 2, 3] }, { name: 'x[1]', categories: ['4', '5', '4'] }], 3);
    const decoded = decodeReferenceProfile(encodeReferenceProfile(profile));
    expect(decoded).toMatchObject({ input: 'x', features: ['x[0]', 'x[1]'], categorical: [false, true], values: [1, 4, 2, 5, 3, 4], rows: 3, totalRows: '3' });
    expect(referenceColumns(decoded)).toEqual([
      { name: 'x[0]', values: [1, 2, 3], categories: [] },
      { name: 'x[1]', values: [], categories: ['4', '5', '4'] },
    ]);
  });

  it('keeps an even sample of as many rows as fit 8 MiB and 5000 rows', () => {
    const wide = Array.from({ length: 600 }, (_, c) => ({ name: `feature_with_a_long_name_${c}`, values: Array.from({ length: 3000 }, (_, r) => r + c / 1000) }));
    const profile = toReferenceProfile('x', wide, 3000);
    const bytes = encodeReferenceProfile(profile);
    expect(bytes.byteLength).toBeLessThanOrEqual(REFERENCE_LIMITS.maxBytes);
    expect(profile.rows).toBe(Math.floor((REFERENCE_LIMITS.maxBytes - 1024 - wide.reduce((a, c) => a + c.name.length + 8, 0)) / (8 * 600)));
    expect(decodeReferenceProfile(bytes).values.slice(0, 2)).toEqual([0, 0.001]);
    const tall = toReferenceProfile('x', [{ name: 'x', values: Array.from({ length: 20_000 }, (_, r) => r) }], 20_000);
    expect(tall.rows).toBe(5000);
    expect(tall.values!.slice(0, 3)).toEqual([0, 4, 8]);
    expect(tall.totalRows).toBe(20_000);
  });

  it('names what is wrong with a profile', () => {
    const bad = (p: object) => () => decodeReferenceProfile(encodeReferenceProfile({ input: 'x', features: ['a'], rows: 1, totalRows: 1, values: [1], ...p }));
    expect(bad({ input: '' })).toThrow('reference.input must name the model input');
    expect(bad({ features: ['a', 'a'], values: [1, 2] })).toThrow("reference names feature 'a' twice");
    expect(bad({ values: [1, 2] })).toThrow('reference has 2 values; 1 rows x 1 features need 1');
    expect(bad({ values: [Number.POSITIVE_INFINITY] })).toThrow("reference row 1 feature 'a' is not a finite number");
    expect(bad({ categorical: [true, false] })).toThrow('reference.categorical has 2 flags for 1 features');
    expect(() => decodeReferenceProfile(new Uint8Array([0xff, 0xff]))).toThrow('reference is not an encoded infermesh.registry.v1.ReferenceProfile');
  });
});
