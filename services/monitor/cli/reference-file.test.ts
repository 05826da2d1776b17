import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReferenceCsv, readReferenceFile, referenceFeatures } from './reference-file.js';

const dir = mkdtempSync(join(tmpdir(), 'infermesh-reference-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes arrays with numpy's own np.save. */
function npSave(name: string, code: string): string {
  const path = join(dir, name);
  execFileSync('/usr/bin/python3', ['-c', `import numpy as np\nnp.save(${JSON.stringify(path)}, ${code})`]);
  return path;
}

describe('reference files', () => {
  it('reads .npy files written by numpy (float32 2-D, int64 1-D, float64 in format 2)', async () => {
    const f4 = await readReferenceFile(npSave('f4.npy', 'np.arange(12, dtype=np.float32).reshape(3, 4) / 4'), 'x');
    expect(f4.rows).toBe(3);
    expect(f4.features.map((f) => f.name)).toEqual(['x[0]', 'x[1]', 'x[2]', 'x[3]']);
    expect(f4.features[1]!.values).toEqual([0.25, 1.25, 2.25]);
    const i8 = await readReferenceFile(npSave('i8.npy', 'np.array([3, 1, 3, 2], dtype=np.int64)'), 'ids');
    expect(i8.features).toEqual([{ name: 'ids', categories: ['3', '1', '3', '2'] }]);
    const wide = await readReferenceFile(npSave('wide.npy', 'np.ones((2, 40))'), 'img');
    expect(wide.features).toEqual([{ name: 'img:mean', values: [1, 1] }]);
  });

  it('reads CSV with or without a header, and samples at most 5000 rows', async () => {
    expect(referenceFeatures(parseReferenceCsv('x[0],x[1]\n1,2\n3,4\n'), undefined).map((f) => [f.name, f.values])).toEqual([['x[0]', [1, 3]], ['x[1]', [2, 4]]]);
    expect(referenceFeatures(parseReferenceCsv('1,2\n3,4\n'), 'x').map((f) => f.name)).toEqual(['x[0]', 'x[1]']);
    const path = join(dir, 'big.csv');
    writeFileSync(path, Array.from({ length: 12_000 }, (_, i) => `${i},${-i}`).join('\n'));
    const big = await readReferenceFile(path, 'x');
    expect(big.rows).toBe(12_000);
    expect(big.features[0]!.values!.length).toBe(5000);
    expect(big.features[0]!.values!.slice(0, 3)).toEqual([0, 2, 4]);
  });

  it('names what is wrong with a bad file', async () => {
    expect(() => parseReferenceCsv('1,2\n3\n', 'r.csv')).toThrow('r.csv: CSV row 2 has 1 columns, expected 2');
    expect(() => parseReferenceCsv('1,2\n3,abc\n', 'r.csv')).toThrow("r.csv: CSV row 2 column 2 is not a number: 'abc'");
    expect(() => referenceFeatures(parseReferenceCsv('1,2\n'), undefined)).toThrow('--input NAME');
    writeFileSync(join(dir, 'bad.npy'), 'not numpy');
    await expect(readReferenceFile(join(dir, 'bad.npy'), 'x')).rejects.toThrow('not a .npy file');
    await expect(readReferenceFile(npSave('c16.npy', 'np.zeros(3, dtype=np.complex64)'), 'x')).rejects.toThrow("dtype '<c8' is not supported");
    await expect(readReferenceFile(join(dir, 'data.txt'), 'x')).rejects.toThrow('cannot be read');
  });
});
