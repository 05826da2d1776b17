import { failedPrecondition, invalidArgument } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { RepositoryIndexRequest__Output } from '../../../shared/generated/inference/RepositoryIndexRequest.js';
import type { RepositoryIndexResponse } from '../../../shared/generated/inference/RepositoryIndexResponse.js';
import type { RepositoryModelLoadRequest__Output } from '../../../shared/generated/inference/RepositoryModelLoadRequest.js';
import type { RepositoryModelLoadResponse } from '../../../shared/generated/inference/RepositoryModelLoadResponse.js';
import type { RepositoryModelUnloadRequest__Output } from '../../../shared/generated/inference/RepositoryModelUnloadRequest.js';
import type { RepositoryModelUnloadResponse } from '../../../shared/generated/inference/RepositoryModelUnloadResponse.js';
import type { ModelManager } from '../models/index.js';
import { unaryHandler } from './handler-edge.js';

/** Whether RepositoryModelLoad / RepositoryModelUnload are served (`explicit`) or refused (`none`), as Triton's `--model-control-mode`. */
export type ModelControlMode = 'none' | 'explicit';

/** The flag that turns model control on, named in the refusal. */
export const MODEL_CONTROL_FLAG = '--model-control explicit';

/**
 * RepositoryIndex, RepositoryModelLoad (optional `config` string parameter:
 * config.json JSON), RepositoryModelUnload. Load and unload are refused with
 * FAILED_PRECONDITION unless `modelControl` is `explicit`.
 */
export function repositoryHandlers(manager: ModelManager, logger: Logger, modelControl: ModelControlMode = 'none') {
  const requireControl = (rpc: string) => {
    if (modelControl !== 'explicit') {
      throw failedPrecondition(`${rpc} is disabled: this node's models are fixed at start; start it with ${MODEL_CONTROL_FLAG} to load and unload over the protocol`);
    }
  };
  return {
    RepositoryIndex: unaryHandler<RepositoryIndexRequest__Output, RepositoryIndexResponse>('RepositoryIndex', logger, (request) => ({
      models: manager
        .list()
        .filter((s) => !request.ready || s.state === 'READY')
        .map((s) => ({ name: s.model, version: s.version, state: s.state, reason: s.reason })),
    })),

    RepositoryModelLoad: unaryHandler<RepositoryModelLoadRequest__Output, RepositoryModelLoadResponse>('RepositoryModelLoad', logger, async (request) => {
      requireControl('RepositoryModelLoad');
      if (request.modelName === '') throw invalidArgument('RepositoryModelLoad needs a model name');
      const configText = request.parameters?.config?.stringParam;
      let config: unknown;
      if (configText !== undefined) {
        try {
          config = JSON.parse(configText);
        } catch (err) {
          throw invalidArgument(`parameter 'config' is not valid JSON: ${(err as Error).message}`);
        }
      }
      await manager.loadFromRepository(request.modelName, config);
      return {};
    }),

    RepositoryModelUnload: unaryHandler<RepositoryModelUnloadRequest__Output, RepositoryModelUnloadResponse>('RepositoryModelUnload', logger, async (request) => {
      requireControl('RepositoryModelUnload');
      await manager.unloadModel(request.modelName);
      return {};
    }),
  };
}
