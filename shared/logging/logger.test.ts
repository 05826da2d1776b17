import { describe, expect, it } from 'vitest';
import { MAX_LOGGED_ARRAY_ITEMS, MAX_LOGGED_STRING_CHARS, clipText, createLogger } from './index.js';

describe('logger bounds', () => {
  const capture = () => {
    const lines: string[] = [];
    return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) };
  };

  it('cuts long strings, error messages, arrays and binary fields, saying how long they were', () => {
    const { lines, logger } = capture();
    const huge = 'v'.repeat(50_000_000);
    logger.warn(huge, { reason: huge, err: new Error(huge), list: Array.from({ length: 1000 }, (_, i) => i), bytes: Buffer.alloc(10_000_000), nested: { deep: huge } });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(6 * MAX_LOGGED_STRING_CHARS);
    const line = JSON.parse(lines[0]!);
    expect(line.msg).toBe(`${'v'.repeat(MAX_LOGGED_STRING_CHARS)}... (50000000 characters)`);
    expect(line.reason).toBe(line.msg);
    expect(line.err.message).toBe(line.msg);
    expect(line.nested.deep).toBe(line.msg);
    expect(line.list).toHaveLength(MAX_LOGGED_ARRAY_ITEMS + 1);
    expect(line.list.at(-1)).toBe('... (1000 items)');
    expect(line.bytes).toBe('<10000000 bytes>');
  });

  it('leaves short values alone', () => {
    const { lines, logger } = capture();
    logger.info('ready', { model: 'mlp', versions: [1, 2] });
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'ready', model: 'mlp', versions: [1, 2] });
    expect(clipText('abc', 2)).toBe('ab... (3 characters)');
  });
});
