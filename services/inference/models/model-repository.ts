import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InfermeshError, Code, invalidArgument, notFound } from '../../../shared/errors/index.js';
import { parseModelConfig, type ModelConfig } from '../../../shared/model-config/index.js';

/** One version directory of a Triton-style repository: `<dir>/<model>/<version>/model.onnx`. */
export interface RepositoryVersion {
  version: string;
  modelPath: string;
}

/** One model directory of the repository, as found on disk. */
export interface RepositoryModel {
  name: string;
  /** Versions in ascending numeric order (directories whose name is a decimal integer). */
  versions: RepositoryVersion[];
  /** The parsed `config.json` (defaults when absent); undefined when it is invalid, see `configError`. */
  config?: ModelConfig;
  configError?: string;
}

/** The file name of a version's model inside its version directory. */
export const MODEL_FILENAME = 'model.onnx';

/** True for version strings infermesh accepts: decimal integers without leading zeros ("1", "12"). */
export function isVersionString(v: string): boolean {
  return /^(0|[1-9]\d*)$/.test(v);
}

/** Scans every model directory under `dir`. Rejects NOT_FOUND when `dir` is missing. */
export async function scanModelRepository(dir: string): Promise<RepositoryModel[]> {
  if (!existsSync(dir)) throw notFound(`model repository '${dir}' does not exist`);
  const entries = await readdir(dir, { withFileTypes: true });
  const models = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  return Promise.all(models.map((name) => scanRepositoryModel(dir, name)));
}

/** Scans one model directory. Rejects INVALID_ARGUMENT for an empty name, NOT_FOUND when `<dir>/<name>` is not a directory. */
export async function scanRepositoryModel(dir: string, name: string): Promise<RepositoryModel> {
  if (name === '') throw invalidArgument('a model name is required (the model repository has no model named \'\')');
  const modelDir = join(dir, name);
  if (name.includes('/') || name.includes('\\') || name.startsWith('.') || !(await stat(modelDir).catch(() => undefined))?.isDirectory()) {
    throw notFound(`model '${name}' is not in the model repository '${dir}'`);
  }
  const entries = await readdir(modelDir, { withFileTypes: true });
  const versions = entries
    .filter((e) => e.isDirectory() && isVersionString(e.name))
    .map((e) => ({ version: e.name, modelPath: join(modelDir, e.name, MODEL_FILENAME) }))
    .sort((a, b) => Number(a.version) - Number(b.version));
  const model: RepositoryModel = { name, versions };
  const configPath = join(modelDir, 'config.json');
  if (!existsSync(configPath)) {
    model.config = parseModelConfig(undefined);
    return model;
  }
  try {
    const text = await readFile(configPath, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new InfermeshError(Code.INVALID_ARGUMENT, `${configPath}: not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    model.config = parseModelConfig(json, configPath);
  } catch (err) {
    model.configError = (err as Error).message;
  }
  return model;
}
