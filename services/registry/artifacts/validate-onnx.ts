import * as ort from 'onnxruntime-node';
import { invalidArgument } from '../../../shared/errors/index.js';
import { readOnnxSignature, type ModelSignature } from '../../../shared/onnx/index.js';

/**
 * Checks that `bytes` are an ONNX model the mesh can serve: its signature reads
 * (shared/onnx) and ONNX Runtime creates a session from it (released at once).
 * Resolves with the signature; INVALID_ARGUMENT saying what is wrong otherwise.
 */
export async function inspectOnnxModel(bytes: Uint8Array): Promise<ModelSignature> {
  let signature: ModelSignature;
  try {
    signature = readOnnxSignature(bytes);
  } catch (err) {
    throw invalidArgument(`the artifact is not a servable ONNX model: ${(err as Error).message}`, err);
  }
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (err) {
    throw invalidArgument(`ONNX Runtime cannot load the artifact: ${(err as Error).message}`, err);
  } finally {
    await session?.release();
  }
  return signature;
}
