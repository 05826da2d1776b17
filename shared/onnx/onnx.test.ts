import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { buildOnnxModel } from './builder.js';
import { readOnnxSignature, OnnxSignatureError } from './signature.js';
import { packagedModelPath, PACKAGED_MODELS } from './packaged-models.js';

describe('buildOnnxModel', () => {
  it('builds a model that ONNX Runtime runs, with the signature it was given', async () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', 3] }],
      initializers: [{ name: 'w', datatype: 'FP32', dims: [2, 3], values: [1, 2, 3, 4, 5, 6] }],
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 1, 0, 2]), [2, 2]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([5, 7, 9, 8, 10, 12]);
    await session.release();
    const sig = readOnnxSignature(bytes);
    expect(sig.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 2] }]);
    expect(sig.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [-1, 3] }]);
    expect(sig.opset).toBe(17);
  });

  it('reads the signature of a real model no one here wrote (PP-OCR classifier)', () => {
    const sig = readOnnxSignature(readFileSync(packagedModelPath(PACKAGED_MODELS.ocrClassifier)));
    expect(sig.inputs).toHaveLength(1);
    expect(sig.inputs[0]!.datatype).toBe('FP32');
    // The file declares batch, height and width dynamic; the classifier is fed 3x48x192.
    expect(sig.inputs[0]!.shape).toEqual([-1, 3, -1, -1]);
    expect(sig.outputs[0]!.datatype).toBe('FP32');
  });

  it('rejects bytes that are not ONNX with a clear error', () => {
    expect(() => readOnnxSignature(new TextEncoder().encode('definitely not a model'))).toThrow(OnnxSignatureError);
    expect(() => readOnnxSignature(new Uint8Array(0))).toThrow(/not an ONNX model/);
  });
});
