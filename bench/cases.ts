import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mlpModel } from './sample-models.js';
import { PACKAGED_MODELS, packagedModelPath, readOnnxSignature } from '../shared/onnx/index.js';
import type { PayloadSpec } from './worker-protocol.js';

/** The batching knobs a case serves its model with (the rest of config.json the harness fills in). */
export interface CaseBatching {
  maxBatchSize: number;
  preferredBatchSizes?: number[];
  maxQueueDelayUs: number;
}

/** A model to benchmark, with the one-row request the load generator sends. */
export interface BenchCase {
  /** Model name in the benchmark's repository (its batching-off twin is `<name>_nobatch`). */
  name: string;
  description: string;
  /** The ONNX file. */
  modelPath: string;
  input: PayloadSpec;
  /** The output the echo server mimics (its size is what the node sends back). */
  output: PayloadSpec;
  batching: CaseBatching;
}

/** Names of the built-in cases. */
export const BUILT_IN_CASES = ['mlp', 'ocr-cls'] as const;
export type BuiltInCase = (typeof BUILT_IN_CASES)[number];

/** Builds a built-in case; `workDir` receives model files that are generated. */
export async function builtInCase(name: BuiltInCase, workDir: string, overrides: Partial<CaseBatching>): Promise<BenchCase> {
  if (name === 'mlp') {
    const modelPath = join(workDir, 'mlp.onnx');
    await writeFile(modelPath, mlpModel({ inputWidth: 16, hiddenWidth: 32, layers: 2, outputWidth: 4 }));
    return {
      name: 'mlp',
      description: 'tiny MLP 16-32-32-4 built with shared/onnx (overhead-bound)',
      modelPath,
      input: { name: 'x', datatype: 'FP32', shape: [1, 16] },
      output: { name: 'y', datatype: 'FP32', shape: [1, 4] },
      batching: { maxBatchSize: 256, maxQueueDelayUs: 0, ...overrides },
    };
  }
  const modelPath = packagedModelPath(PACKAGED_MODELS.ocrClassifier);
  const sig = readOnnxSignature(await readFile(modelPath));
  return {
    name: 'ocr-cls',
    description: 'PP-OCR text-direction classifier, x [N,3,48,192] FP32 (compute-bound)',
    modelPath,
    input: { name: sig.inputs[0]!.name, datatype: 'FP32', shape: [1, 3, 48, 192] },
    output: { name: sig.outputs[0]!.name, datatype: 'FP32', shape: [1, 2] },
    batching: { maxBatchSize: 32, maxQueueDelayUs: 0, ...overrides },
  };
}

/**
 * A case from a Triton-style model repository: the model's newest version,
 * its config.json batching settings, and its first input with dynamic
 * non-batch dimensions taken from `inputShape` (default 1 each).
 */
export async function repositoryCase(dir: string, model: string, inputShape: number[] | undefined, overrides: Partial<CaseBatching>): Promise<BenchCase> {
  const modelDir = join(dir, model);
  if (!existsSync(modelDir)) throw new Error(`--model ${model}: no directory ${modelDir}`);
  const versions = (await readdir(modelDir, { withFileTypes: true })).filter((e) => e.isDirectory() && /^\d+$/.test(e.name)).map((e) => Number(e.name));
  if (versions.length === 0) throw new Error(`--model ${model}: ${modelDir} has no version directory (<dir>/<model>/<version>/model.onnx)`);
  const modelPath = join(modelDir, String(Math.max(...versions)), 'model.onnx');
  const sig = readOnnxSignature(await readFile(modelPath));
  if (sig.inputs.length !== 1) throw new Error(`--model ${model}: the benchmark feeds models with one input; this one has ${sig.inputs.length}`);
  const configPath = join(modelDir, 'config.json');
  const config = existsSync(configPath) ? (JSON.parse(await readFile(configPath, 'utf8')) as Partial<CaseBatching>) : {};
  const fill = (shape: number[], given?: number[]) => {
    let k = 0;
    return [1, ...shape.slice(1).map((d) => (d > 0 ? d : given?.[k++] ?? 1))];
  };
  const input = sig.inputs[0]!;
  const output = sig.outputs[0]!;
  return {
    name: model,
    description: `${model} from ${dir}`,
    modelPath,
    input: { name: input.name, datatype: input.datatype, shape: fill(input.shape, inputShape) },
    output: { name: output.name, datatype: output.datatype, shape: fill(output.shape) },
    batching: {
      maxBatchSize: config.maxBatchSize ?? 0,
      maxQueueDelayUs: config.maxQueueDelayUs ?? 0,
      ...(config.preferredBatchSizes ? { preferredBatchSizes: config.preferredBatchSizes } : {}),
      ...overrides,
    },
  };
}
