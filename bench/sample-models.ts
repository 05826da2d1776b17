import { buildOnnxModel } from '../shared/onnx/index.js';

/**
 * Small ONNX models for the batching tests and the benchmark, built in
 * TypeScript so that every caller's output is checkable.
 */

/** y = x + 1 over x [batch, width] FP32 (width dynamic unless given). */
export function addOneModel(width: number | string = 'width'): Uint8Array {
  return buildOnnxModel({
    name: 'add_one',
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', width] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', width] }],
    initializers: [{ name: 'one', datatype: 'FP32', dims: [1], values: [1] }],
    nodes: [{ op: 'Add', inputs: ['x', 'one'], outputs: ['y'] }],
  });
}

/** y = x (BYTES) over x [batch, width]: strings pass through, so each caller sees its own. */
export function stringIdentityModel(): Uint8Array {
  return buildOnnxModel({
    name: 'string_identity',
    inputs: [{ name: 'x', datatype: 'BYTES', shape: ['batch', 'width'] }],
    outputs: [{ name: 'y', datatype: 'BYTES', shape: ['batch', 'width'] }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}

/**
 * A small multi-layer perceptron: x [batch, inputWidth] → hidden (ReLU) layers
 * → y [batch, outputWidth], with fixed pseudo-random weights (deterministic).
 */
export function mlpModel(options: { inputWidth?: number; hiddenWidth?: number; layers?: number; outputWidth?: number } = {}): Uint8Array {
  const inputWidth = options.inputWidth ?? 16;
  const hidden = options.hiddenWidth ?? 32;
  const layers = options.layers ?? 2;
  const outputWidth = options.outputWidth ?? 4;
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed / 0x7fffffff - 0.5) * 0.5;
  };
  const weights = (rows: number, cols: number) => Float32Array.from({ length: rows * cols }, rand);
  const initializers = [];
  const nodes = [];
  let prev = 'x';
  let width = inputWidth;
  for (let l = 0; l <= layers; l++) {
    const last = l === layers;
    const out = last ? outputWidth : hidden;
    initializers.push({ name: `w${l}`, datatype: 'FP32' as const, dims: [width, out], values: weights(width, out) });
    initializers.push({ name: `b${l}`, datatype: 'FP32' as const, dims: [out], values: weights(1, out) });
    nodes.push({ op: 'MatMul', inputs: [prev, `w${l}`], outputs: [`mm${l}`] });
    nodes.push({ op: 'Add', inputs: [`mm${l}`, `b${l}`], outputs: [last ? 'y' : `pre${l}`] });
    if (!last) nodes.push({ op: 'Relu', inputs: [`pre${l}`], outputs: [`h${l}`] });
    prev = `h${l}`;
    width = out;
  }
  return buildOnnxModel({
    name: 'mlp',
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', inputWidth] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', outputWidth] }],
    initializers,
    nodes,
  });
}
