import { invalidArgument } from '../../../shared/errors/index.js';
import type { Duration, ModelManager } from '../models/index.js';
import { PLATFORM, SERVER_EXTENSIONS, SERVER_NAME, SERVER_VERSION, toProtoConfig } from '../server/index.js';
import { snakeCaseKeys } from './json-text.js';

/**
 * The JSON bodies of the protocol's non-inference REST endpoints, from the
 * same model manager and statistics the gRPC handlers answer from (so both
 * fronts agree, and throw the same NOT_FOUND/UNAVAILABLE messages).
 */

export function serverMetadata() {
  return { name: SERVER_NAME, version: SERVER_VERSION, extensions: SERVER_EXTENSIONS };
}

export function modelMetadata(manager: ModelManager, model: string, version: string) {
  const loaded = manager.describe(model, version);
  const tensor = (t: { name: string; datatype: string; shape: number[] }) => ({ name: t.name, datatype: t.datatype, shape: t.shape });
  return {
    name: loaded.model,
    versions: manager.versionsOf(loaded.model),
    platform: PLATFORM,
    inputs: loaded.signature.inputs.map(tensor),
    outputs: loaded.signature.outputs.map(tensor),
  };
}

/** The Triton ModelConfig (same subset as gRPC), with the proto's snake_case field names as Triton's REST answers it. */
export function modelConfig(manager: ModelManager, model: string, version: string) {
  return snakeCaseKeys(toProtoConfig(manager.describe(model, version)));
}

const duration = (d: Duration) => ({ count: d.count, ns: d.ns });

/** `{"model_stats": [...]}` as Triton's REST statistics extension answers: counts and nanoseconds as JSON integers. */
export function modelStatistics(manager: ModelManager, model: string, version: string) {
  return {
    model_stats: manager.statistics(model, version).map(({ loaded, executionCount, batchStats }) => {
      const s = loaded.stats;
      return {
        name: loaded.model,
        version: loaded.version,
        last_inference: s.lastInferenceMs,
        inference_count: s.inferenceCount,
        execution_count: executionCount,
        inference_stats: {
          success: duration(s.success),
          fail: duration(s.fail),
          queue: duration(s.queue),
          compute_input: duration(s.computeInput),
          compute_infer: duration(s.computeInfer),
          compute_output: duration(s.computeOutput),
          cache_hit: { count: 0, ns: 0 },
          cache_miss: { count: 0, ns: 0 },
        },
        batch_stats: batchStats.map((b) => ({
          batch_size: b.batchSize,
          compute_input: { count: b.count, ns: b.computeInputNs },
          compute_infer: { count: b.count, ns: b.computeInferNs },
          compute_output: { count: b.count, ns: b.computeOutputNs },
        })),
      };
    }),
  };
}

/** POST /v2/repository/index: `{"ready": true}` lists only READY versions. */
export function repositoryIndex(manager: ModelManager, body: Record<string, unknown>) {
  if (body.ready !== undefined && typeof body.ready !== 'boolean') throw invalidArgument(`'ready' must be true or false`);
  return manager
    .list()
    .filter((s) => !body.ready || s.state === 'READY')
    .map((s) => ({ name: s.model, version: s.version, state: s.state, reason: s.reason }));
}

/**
 * POST /v2/repository/models/{name}/load, with an optional `{"parameters": {"config": "<config.json text>"}}`
 * (a string, as Triton's parameter is). The same manager call as gRPC's RepositoryModelLoad.
 */
export async function repositoryLoad(manager: ModelManager, model: string, body: Record<string, unknown>): Promise<void> {
  const parameters = body.parameters;
  if (parameters !== undefined && (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))) throw invalidArgument(`'parameters' must be an object`);
  const configText = (parameters as Record<string, unknown> | undefined)?.config;
  let config: unknown;
  if (configText !== undefined) {
    if (typeof configText !== 'string') throw invalidArgument(`parameter 'config' must be a string holding config.json's JSON`);
    try {
      config = JSON.parse(configText);
    } catch (err) {
      throw invalidArgument(`parameter 'config' is not valid JSON: ${(err as Error).message}`);
    }
  }
  await manager.loadFromRepository(model, config);
}

/** POST /v2/repository/models/{name}/unload: the same manager call as gRPC's RepositoryModelUnload. */
export async function repositoryUnload(manager: ModelManager, model: string): Promise<void> {
  await manager.unloadModel(model);
}
