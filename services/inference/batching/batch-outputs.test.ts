import { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Code } from '../../../shared/errors/index.js';
import { fetchNames, outputsPerRequest, runError } from './batch-outputs.js';

const all = ['y', 'z'];
const asking = (rows: number, ...outputNames: string[]) => ({ rows, request: { outputNames } });

describe('fetchNames', () => {
  it('fetches all when any request names none, the shared list when all share it, else the union', () => {
    expect(fetchNames([asking(1)], all)).toBe(all);
    expect(fetchNames([asking(1, 'y'), asking(1)], all)).toBe(all);
    const shared = ['z'];
    expect(fetchNames([{ rows: 1, request: { outputNames: shared } }, { rows: 1, request: { outputNames: shared } }], all)).toBe(shared);
    expect(fetchNames([asking(1, 'y'), asking(1, 'z')], all)).toEqual(['y', 'z']);
  });
});

describe('outputsPerRequest', () => {
  const y = new Tensor('float32', Float32Array.from([0, 1, 2, 3, 4, 5]), [3, 2]);
  const z = new Tensor('float32', Float32Array.from([10, 11, 12]), [3, 1]);

  it('hands a lone request the run tensors themselves, only those it asked for', () => {
    const [out] = outputsPerRequest({ y, z }, [asking(3, 'z')], all);
    expect(Object.keys(out!)).toEqual(['z']);
    expect(out!.z).toBe(z);
  });

  it('hands each request of a batch views of its own rows (no copy)', () => {
    const [a, b] = outputsPerRequest({ y, z }, [asking(1), asking(2, 'y')], all);
    expect(Array.from(a!.y!.data as Float32Array)).toEqual([0, 1]);
    expect(Array.from(a!.z!.data as Float32Array)).toEqual([10]);
    expect(Object.keys(b!)).toEqual(['y']);
    expect(b!.y!.dims).toEqual([2, 2]);
    expect((b!.y!.data as Float32Array).buffer).toBe((y.data).buffer);
  });
});

describe('runError', () => {
  it('blames the caller for feeds ORT rejects, the runtime otherwise', () => {
    expect(runError(new Error('Got invalid dimensions for input: x')).code).toBe(Code.INVALID_ARGUMENT);
    const internal = runError('boom');
    expect(internal.code).toBe(Code.INTERNAL);
    expect(internal.message).toBe('the model run failed: boom');
  });
});
