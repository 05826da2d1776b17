import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { Code, InfermeshError, invalidArgument } from '../../../shared/errors/index.js';
import { readOnnxSignature, type ModelSignature } from '../../../shared/onnx/index.js';
import { resolveOptions } from '../../../shared/options/index.js';

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

/** Options of {@link inspectOnnxFile}. */
export interface InspectOnnxFileOptions {
  /** Files up to this size are checked in this process; larger ones in a child process. Default: 64 MiB. */
  inProcessMaxBytes?: number;
  /** How long the child's check may take before it is killed (INVALID_ARGUMENT). Default: 300000 ms. */
  timeoutMs?: number;
}

/** Defaults of {@link InspectOnnxFileOptions}. */
export const DEFAULT_INSPECT_ONNX_FILE_OPTIONS = { inProcessMaxBytes: 64 << 20, timeoutMs: 300_000 } as const;

/**
 * {@link inspectOnnxModel} for a file on disk (an upload's temp file). A small
 * file is read and checked here; a larger one in a child process
 * (`onnx-check-main.js`), so that reading and loading a 2 GiB model costs that
 * child's memory, released when it exits, and never the registry's: the
 * registry's memory per upload stays bounded by `inProcessMaxBytes`.
 */
export async function inspectOnnxFile(path: string, options: InspectOnnxFileOptions = {}): Promise<ModelSignature> {
  const o = resolveOptions(DEFAULT_INSPECT_ONNX_FILE_OPTIONS, options);
  const { size } = await stat(path);
  if (size <= o.inProcessMaxBytes) {
    return inspectOnnxModel(await readFile(path));
  }
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [checkScript(), path], { timeout: o.timeoutMs, maxBuffer: 16 << 20, killSignal: 'SIGKILL' }, (err, out, errText) => {
      if (!err) return resolve(out);
      if (err.killed) return reject(invalidArgument(`checking the ${size}-byte artifact took longer than ${o.timeoutMs} ms`, err));
      reject(new InfermeshError(Code.INTERNAL, `the ONNX check of the artifact crashed: ${errText.trim().split('\n').pop() ?? err.message}`, { cause: err }));
    });
  });
  const answer = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { signature?: ModelSignature; invalid?: string };
  if (answer.invalid !== undefined) throw invalidArgument(answer.invalid);
  if (!answer.signature) throw new InfermeshError(Code.INTERNAL, 'the ONNX check of the artifact gave no answer');
  return answer.signature;
}

/**
 * The compiled check script: next to this module in dist/, or, when this
 * module runs from its TypeScript source (tests), the build's copy under
 * dist/ (the tests build first, as they do for every spawned process).
 */
function checkScript(): string {
  const sibling = fileURLToPath(new URL('./onnx-check-main.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  const built = fileURLToPath(new URL('../../../dist/services/registry/artifacts/onnx-check-main.js', import.meta.url));
  if (existsSync(built)) return built;
  throw new InfermeshError(Code.INTERNAL, `the ONNX check script is missing (looked at ${sibling} and ${built}; run npm run build)`);
}
