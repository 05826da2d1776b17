import { readFile } from 'node:fs/promises';
import type { Logger } from '../../../shared/logging/index.js';
import { unavailable } from '../../../shared/errors/index.js';
import { readOnnxSignature, type ModelSignature } from '../../../shared/onnx/index.js';
import type { CreateModelExecutorOptions, ModelExecutor, ModelSource } from '../execution/index.js';
import { createVersionInstruments, type InferenceTelemetry, type VersionInstruments } from '../telemetry/index.js';
import { checkConfigAgainstSignature, parseModelConfig, type ModelConfig } from '../../../shared/model-config/index.js';
import type { VersionStatistics } from './version-statistics.js';

/** A version that serves requests: its signature, config, executor and statistics. */
export interface LoadedVersion {
  readonly model: string;
  readonly version: string;
  readonly signature: ModelSignature;
  readonly config: ModelConfig;
  readonly executor: ModelExecutor;
  readonly stats: VersionStatistics;
  /** Its tracer, span attributes and metrics, bound to this version. */
  readonly instruments: VersionInstruments;
}

/** What {@link loadModelVersion} builds a version with. */
export interface VersionLoadContext {
  readonly logger: Logger;
  readonly telemetry: InferenceTelemetry | undefined;
  readonly createExecutor: (options: CreateModelExecutorOptions) => Promise<ModelExecutor>;
}

/**
 * Builds one version: reads the ONNX file once (or takes the given bytes), reads
 * its signature from those bytes, checks `rawConfig` against it, and hands the
 * same bytes to the executor factory. Rejects UNAVAILABLE for an unreadable file
 * or model, INVALID_ARGUMENT for a bad config.
 */
export async function loadModelVersion(
  context: VersionLoadContext,
  model: string,
  version: string,
  source: ModelSource,
  rawConfig: unknown,
  stats: VersionStatistics,
): Promise<LoadedVersion> {
  const modelBytes = await readModelBytes(source);
  let signature: ModelSignature;
  try {
    signature = readOnnxSignature(modelBytes);
  } catch (err) {
    throw unavailable(`${'modelPath' in source ? source.modelPath : 'model bytes'}: ${(err as Error).message}`, err);
  }
  const config = parseModelConfig(rawConfig, `config of '${model}'`);
  checkConfigAgainstSignature(config, signature, `config of '${model}'`);
  const instruments = createVersionInstruments(context.telemetry, model, version);
  const executor = await context.createExecutor({
    modelBytes,
    config,
    signature,
    logger: context.logger.child({ model, version }),
    instruments,
  });
  return { model, version, signature, config, executor, stats, instruments };
}

/** The ONNX bytes of `source`: the file read once, or the bytes given. Rejects UNAVAILABLE naming the file. */
export async function readModelBytes(source: ModelSource): Promise<Uint8Array> {
  if ('modelBytes' in source) return source.modelBytes;
  try {
    return await readFile(source.modelPath);
  } catch (err) {
    throw unavailable(`cannot read ${source.modelPath}: ${(err as Error).message}`, err);
  }
}
