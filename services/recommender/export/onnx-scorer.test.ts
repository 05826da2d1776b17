import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { readOnnxSignature } from '../../../shared/onnx/index.js';
import { createRandom, scoreItems, type FactorModel } from '../learning/index.js';
import { exportScorerOnnx, MASK_EXCLUDED } from './onnx-scorer.js';

function randomModel(items: number, dim: number): FactorModel {
  const rng = createRandom(42);
  return {
    users: 0,
    items,
    dim,
    userFactors: new Float32Array(0),
    itemFactors: Float32Array.from({ length: items * dim }, () => rng.normal()),
    params: {} as FactorModel['params'],
  };
}

/** In-process top k: indices by descending score (excluded items removed). */
function topK(model: FactorModel, user: Float32Array, k: number, excluded = new Set<number>()): number[] {
  const s = scoreItems(model, user);
  return Array.from(s.keys())
    .filter((i) => !excluded.has(i))
    .sort((a, b) => s[b]! - s[a]!)
    .slice(0, k);
}

describe('ONNX scorer export', () => {
  const model = randomModel(300, 8);
  const rng = createRandom(7);
  const batch = 5;
  const users = Float32Array.from({ length: batch * model.dim }, () => rng.normal());
  const userRow = (n: number) => users.subarray(n * model.dim, (n + 1) * model.dim);

  it('gives the same top k as in-process scoring, for a batch, with k as an input and a mask', async () => {
    const bytes = exportScorerOnnx(model);
    const sig = readOnnxSignature(bytes);
    expect(sig.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([
      ['user', 'FP32', [-1, 8]],
      ['mask', 'FP32', [-1, 300]],
      ['k', 'INT64', [1]],
    ]);
    expect(sig.outputs.map((t) => [t.name, t.datatype])).toEqual([['scores', 'FP32'], ['items', 'INT64']]);
    const session = await ort.InferenceSession.create(bytes);
    try {
      const mask = new Float32Array(batch * model.items);
      const excluded = Array.from({ length: batch }, (_, n) => new Set(topK(model, userRow(n), 3))); // drop each user's best three
      excluded.forEach((set, n) => set.forEach((i) => (mask[n * model.items + i] = MASK_EXCLUDED)));
      const k = 10;
      const out = await session.run({
        user: new ort.Tensor('float32', users, [batch, model.dim]),
        mask: new ort.Tensor('float32', mask, [batch, model.items]),
        k: new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]),
      });
      expect(out.items!.dims).toEqual([batch, k]);
      const idx = out.items!.data as BigInt64Array;
      const val = out.scores!.data as Float32Array;
      for (let n = 0; n < batch; n++) {
        const expected = topK(model, userRow(n), k, excluded[n]);
        expect(Array.from(idx.subarray(n * k, (n + 1) * k), Number)).toEqual(expected);
        const s = scoreItems(model, userRow(n), expected);
        for (let j = 0; j < k; j++) expect(val[n * k + j]).toBeCloseTo(s[j]!, 3);
      }
    } finally {
      await session.release();
    }
  });

  it('bakes k into the graph when fixed, and works without a mask', async () => {
    const bytes = exportScorerOnnx(model, { k: 4, mask: false });
    expect(readOnnxSignature(bytes).inputs.map((t) => t.name)).toEqual(['user']);
    const session = await ort.InferenceSession.create(bytes);
    try {
      const out = await session.run({ user: new ort.Tensor('float32', users, [batch, model.dim]) });
      expect(out.items!.dims).toEqual([batch, 4]);
      const idx = out.items!.data as BigInt64Array;
      for (let n = 0; n < batch; n++) expect(Array.from(idx.subarray(n * 4, n * 4 + 4), Number)).toEqual(topK(model, userRow(n), 4));
    } finally {
      await session.release();
    }
  });
});
