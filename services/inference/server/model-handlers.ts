import type { Logger } from '../../../shared/logging/index.js';
import type { Datatype } from '../../../shared/onnx/index.js';
import type { ModelConfigRequest__Output } from '../../../shared/generated/inference/ModelConfigRequest.js';
import type { ModelConfigResponse } from '../../../shared/generated/inference/ModelConfigResponse.js';
import type { ModelConfig as ProtoModelConfig } from '../../../shared/generated/inference/ModelConfig.js';
import type { ModelMetadataRequest__Output } from '../../../shared/generated/inference/ModelMetadataRequest.js';
import type { ModelMetadataResponse } from '../../../shared/generated/inference/ModelMetadataResponse.js';
import type { ModelStatisticsRequest__Output } from '../../../shared/generated/inference/ModelStatisticsRequest.js';
import type { ModelStatisticsResponse } from '../../../shared/generated/inference/ModelStatisticsResponse.js';
import type { Duration, LoadedVersion, ModelManager } from '../models/index.js';
import { MODEL_FILENAME } from '../models/index.js';
import { profileParameters } from '../execution/index.js';
import { unaryHandler } from '../../../shared/rpc/index.js';

/** The platform name Triton uses for ONNX models. */
export const PLATFORM = 'onnxruntime_onnx';

/** ModelMetadata, ModelConfig, ModelStatistics. */
export function modelHandlers(manager: ModelManager, logger: Logger) {
  return {
    ModelMetadata: unaryHandler<ModelMetadataRequest__Output, ModelMetadataResponse>('ModelMetadata', logger, (request) => {
      const loaded = manager.describe(request.name, request.version);
      return {
        name: loaded.model,
        versions: manager.versionsOf(loaded.model),
        platform: PLATFORM,
        inputs: loaded.signature.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
        outputs: loaded.signature.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      };
    }),

    ModelConfig: unaryHandler<ModelConfigRequest__Output, ModelConfigResponse>('ModelConfig', logger, (request) => ({
      config: toProtoConfig(manager.describe(request.name, request.version)),
    })),

    ModelStatistics: unaryHandler<ModelStatisticsRequest__Output, ModelStatisticsResponse>('ModelStatistics', logger, (request) => ({
      modelStats: manager.statistics(request.name, request.version).map(({ loaded, executionCount, batchStats }) => {
        const s = loaded.stats;
        return {
          name: loaded.model,
          version: loaded.version,
          lastInference: String(s.lastInferenceMs),
          inferenceCount: String(s.inferenceCount),
          executionCount: String(executionCount),
          inferenceStats: {
            success: duration(s.success),
            fail: duration(s.fail),
            queue: duration(s.queue),
            computeInput: duration(s.computeInput),
            computeInfer: duration(s.computeInfer),
            computeOutput: duration(s.computeOutput),
            cacheHit: { count: '0', ns: '0' },
            cacheMiss: { count: '0', ns: '0' },
          },
          batchStats: batchStats.map((b) => ({
            batchSize: String(b.batchSize),
            computeInput: { count: String(b.count), ns: String(b.computeInputNs) },
            computeInfer: { count: String(b.count), ns: String(b.computeInferNs) },
            computeOutput: { count: String(b.count), ns: String(b.computeOutputNs) },
          })),
        };
      }),
    })),
  };
}

const duration = (d: Duration) => ({ count: String(d.count), ns: String(d.ns) });

const configType = (datatype: Datatype) => (datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`);

/** The Triton ModelConfig subset: batching, tensors (dims without the batch dim when batching), instance groups. */
export function toProtoConfig(loaded: LoadedVersion): ProtoModelConfig {
  const { config, signature } = loaded;
  const dims = (shape: number[]) => (config.maxBatchSize > 0 ? shape.slice(1) : shape);
  const proto: ProtoModelConfig = {
    name: loaded.model,
    platform: PLATFORM,
    backend: 'onnxruntime',
    maxBatchSize: config.maxBatchSize,
    input: signature.inputs.map((t) => ({ name: t.name, dataType: configType(t.datatype) as never, dims: dims(t.shape) })),
    output: signature.outputs.map((t) => ({ name: t.name, dataType: configType(t.datatype) as never, dims: dims(t.shape) })),
    instanceGroup: config.instances.map((g, i) => {
      const gpu = /^cuda:(\d+)$/.exec(g.device);
      return { name: `${loaded.model}_${i}`, kind: gpu ? 'KIND_GPU' : 'KIND_CPU', count: g.count, gpus: gpu ? [Number(gpu[1])] : [] };
    }),
    defaultModelFilename: MODEL_FILENAME,
  };
  // Where the sessions run and the measured throughput curve (see execution/profile-parameters.ts).
  const profile = loaded.executor.profile?.();
  if (profile) proto.parameters = profileParameters(profile);
  if (config.maxBatchSize > 0) {
    proto.dynamicBatching = {
      preferredBatchSize: config.preferredBatchSizes,
      maxQueueDelayMicroseconds: String(config.maxQueueDelayUs),
      priorityLevels: String(config.priorityLevels),
      defaultQueuePolicy: {
        maxQueueSize: config.maxQueueSize,
        defaultTimeoutMicroseconds: String((config.defaultTimeoutMs ?? 0) * 1000),
      },
    };
  }
  return proto;
}
