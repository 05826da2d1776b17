// A real network no one here wrote (PP-OCR text-direction classifier): the node's
// answer must equal onnxruntime-node's in-process answer, bit for bit.
import { readFile, rm } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { PACKAGED_MODELS, packagedModelPath } from '../../shared/onnx/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { writeTestRepository } from '../fixtures/models.js';

let repo: string;
let node: InferenceNode;
let client: InferenceClient;
let reference: ort.InferenceSession;

beforeAll(async () => {
  const bytes = await readFile(packagedModelPath(PACKAGED_MODELS.ocrClassifier));
  repo = await writeTestRepository({ 'ocr-cls': { versions: { '1': bytes } } });
  node = await startInferenceNode({ repositoryDir: repo, logger: silentLogger });
  client = createInferenceClient(node.grpcAddress, { timeoutMs: 60_000 });
  reference = await ort.InferenceSession.create(bytes);
});

afterAll(async () => {
  client?.close();
  await node?.close({ drainTimeoutMs: 2000 });
  await reference?.release();
  if (repo) await rm(repo, { recursive: true, force: true });
});

/** A deterministic pseudo-image in [0,1). */
function image(n: number, seed: number): Float32Array {
  const out = new Float32Array(n * 3 * 48 * 192);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 8) / 2 ** 24;
  }
  return out;
}

describe('PP-OCR classifier', () => {
  it('serves the same bits as onnxruntime-node in process, raw and typed', async () => {
    const meta = await client.modelMetadata('ocr-cls');
    const input = meta.inputs[0]!;
    expect(input.datatype).toBe('FP32');
    for (const [n, encoding] of [[1, 'raw'], [4, 'raw'], [2, 'contents']] as const) {
      const data = image(n, n * 7 + 1);
      const served = await client.infer({ modelName: 'ocr-cls', encoding, inputs: [{ name: input.name, datatype: 'FP32', shape: [n, 3, 48, 192], data }] });
      const local = await reference.run({ [input.name]: new ort.Tensor('float32', data, [n, 3, 48, 192]) });
      const outName = reference.outputNames[0]!;
      const expected = local[outName]!;
      const got = served[outName]!;
      expect(got.shape).toEqual(expected.dims.map(Number));
      expect(got.shape).toEqual([n, 2]);
      const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
      expect(bits(got.data as Float32Array)).toEqual(bits(expected.data as Float32Array));
    }
  });
});
