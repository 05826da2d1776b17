import { describe, expect, it } from 'vitest';
import { parseRequestJson } from './json-parse.js';

describe('parseRequestJson', () => {
  it('parses standard JSON as JSON.parse does', () => {
    const text = '{"a":[0.10000000149011612,1e-30,-0.0,12345678901234],"b":"x","c":true}';
    expect(parseRequestJson(text)).toEqual(JSON.parse(text));
  });

  it('reads integers of 16 or more digits as exact strings, and leaves floats with long fractions alone', () => {
    expect(parseRequestJson('[9223372036854775807,-9223372036854775808,1234567890123456,0.12345678901234567,1.5e300]')).toEqual([
      '9223372036854775807',
      '-9223372036854775808',
      '1234567890123456',
      0.12345678901234567,
      1.5e300,
    ]);
  });

  it('reads the NaN and Infinity tokens Python writes as strings', () => {
    expect(parseRequestJson('{"data":[NaN,Infinity,-Infinity,1]}')).toEqual({ data: ['NaN', 'Infinity', '-Infinity', 1] });
  });

  it('never touches strings, escapes included', () => {
    const text = '["NaN", "he said \\"Infinity 12345678901234567\\"", "\\\\", 12345678901234567]';
    expect(parseRequestJson(text)).toEqual(['NaN', 'he said "Infinity 12345678901234567"', '\\', '12345678901234567']);
  });

  it('still refuses what is not JSON', () => {
    expect(() => parseRequestJson('{"a": [1, 2')).toThrow(SyntaxError);
    expect(() => parseRequestJson('[NaNx]')).toThrow(SyntaxError);
  });
});
