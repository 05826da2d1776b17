import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOnnxModel } from '../onnx/index.js';

/** Name of the demo model `infermesh up` serves. */
export const DEMO_MODEL_NAME = 'demo-mlp';

/** Deterministic pseudo-random weights in [-1, 1) (a fixed LCG), so the demo's answers never change. */
function weights(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * A small MLP classifier: x [batch,4] FP32 -> Dense(8) -> ReLU -> Dense(3) ->
 * Softmax -> probabilities [batch,3] FP32. ONNX bytes.
 */
export function buildDemoMlp(): Uint8Array {
  return buildOnnxModel({
    name: DEMO_MODEL_NAME,
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 4] }],
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: ['batch', 3] }],
    initializers: [
      { name: 'w1', datatype: 'FP32', dims: [4, 8], values: weights(32, 1) },
      { name: 'b1', datatype: 'FP32', dims: [8], values: weights(8, 2) },
      { name: 'w2', datatype: 'FP32', dims: [8, 3], values: weights(24, 3) },
      { name: 'b2', datatype: 'FP32', dims: [3], values: weights(3, 4) },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h0'] },
      { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'] },
      { op: 'Relu', inputs: ['h1'], outputs: ['h2'] },
      { op: 'MatMul', inputs: ['h2', 'w2'], outputs: ['l0'] },
      { op: 'Add', inputs: ['l0', 'b2'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: -1 } },
    ],
  });
}

/** The demo model's serving config (config.json): batches up to 32, warmed up with zeros, every request recorded. */
export const DEMO_MODEL_CONFIG = {
  maxBatchSize: 32,
  maxQueueDelayUs: 500,
  instances: [{ device: 'cpu', count: 1 }],
  warmup: [{ inputs: { x: { datatype: 'FP32', shape: [1, 4], data: 'zeros' } } }],
  // The demo records every request so that its model-health view moves within a minute (the default is 1%).
  records: { sampleRate: 1 },
} as const;

/** Writes the demo model into a Triton-style repository: `<repo>/demo-mlp/1/model.onnx` and its config.json. */
export async function writeDemoRepository(repositoryDir: string): Promise<void> {
  const modelDir = join(repositoryDir, DEMO_MODEL_NAME);
  await mkdir(join(modelDir, '1'), { recursive: true });
  await writeFile(join(modelDir, '1', 'model.onnx'), buildDemoMlp());
  await writeFile(join(modelDir, 'config.json'), JSON.stringify(DEMO_MODEL_CONFIG, null, 2) + '\n');
}
