import { failedPrecondition, invalidArgument } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { RepositoryIndexRequest__Output } from '../../../shared/generated/inference/RepositoryIndexRequest.js';
import type { RepositoryIndexResponse } from '../../../shared/generated/inference/RepositoryIndexResponse.js';
import type { RepositoryModelLoadRequest__Output } from '../../../shared/generated/inference/RepositoryModelLoadRequest.js';
import type { RepositoryModelLoadResponse } from '../../../shared/generated/inference/RepositoryModelLoadResponse.js';
import type { RepositoryModelUnloadRequest__Output } from '../../../shared/generated/inference/RepositoryModelUnloadRequest.js';
import type { RepositoryModelUnloadResponse } from '../../../shared/generated/inference/RepositoryModelUnloadResponse.js';
import type { ModelManager } from '../models/index.js';
import { unaryHandler } from '../../../shared/rpc/index.js';

/** Whether RepositoryModelLoad / RepositoryModelUnload are served (`explicit`) or refused (`none`), as Triton's `--model-control-mode`. */
export type ModelControlMode = 'none' | 'explicit';

/** The flag that turns model control on, named in the refusal. */
export const MODEL_CONTROL_FLAG = '--model-control explicit';

/** Where placed models live (mesh mode), for RepositoryIndex. */
export interface PlacementView {
  /** Claims of one model, or of all. */
  rows(model?: string): Promise<Array<{ model: string; nodeId: string; grpcAddress: string }>>;
}

/** Response metadata of ModelReady for a placed model: the holders, `node@host:port` comma-separated. */
export const PLACED_ON_HEADER = 'infermesh-placed-on';

/**
 * The one model-control rule of every front door (gRPC and REST): load and unload
 * (`rpc` names the call in the message) are FAILED_PRECONDITION unless `explicit`.
 */
export function requireModelControl(modelControl: ModelControlMode, rpc: string): void {
  if (modelControl !== 'explicit') {
    throw failedPrecondition(`${rpc} is disabled: this node's models are fixed at start; start it with ${MODEL_CONTROL_FLAG} to load and unload over the protocol`);
  }
}

/**
 * RepositoryIndex, RepositoryModelLoad (optional `config` string parameter:
 * config.json JSON), RepositoryModelUnload. Load and unload are refused with
 * FAILED_PRECONDITION unless `modelControl` is `explicit`.
 * With `placement`, RepositoryIndex adds one row per placed model (version ''): READY when this node holds a
 * replica, else UNAVAILABLE (requests here are forwarded), the reason naming the nodes that hold it.
 */
export function repositoryHandlers(manager: ModelManager, logger: Logger, modelControl: ModelControlMode = 'none', placement?: PlacementView) {
  const requireControl = (rpc: string) => requireModelControl(modelControl, rpc);
  return {
    RepositoryIndex: unaryHandler<RepositoryIndexRequest__Output, RepositoryIndexResponse>('RepositoryIndex', logger, async (request) => {
      const local = manager.list();
      const models = local.filter((s) => !request.ready || s.state === 'READY').map((s) => ({ name: s.model, version: s.version, state: s.state, reason: s.reason }));
      if (!placement) return { models };
      const placed = new Map<string, string[]>();
      const rows = await placement.rows().catch((err: unknown) => {
        logger.warn('placement unreadable (NATS away?): RepositoryIndex lists local models only', { err });
        return [];
      });
      for (const r of rows) placed.set(r.model, [...(placed.get(r.model) ?? []), `${r.nodeId} (${r.grpcAddress})`]);
      for (const [name, where] of placed) {
        const here = local.some((s) => s.model === name && s.state === 'READY');
        if (request.ready && !here) continue;
        models.push({ name, version: '', state: here ? 'READY' : 'UNAVAILABLE', reason: `placed on ${where.join(', ')}${here ? '' : '; requests here are forwarded'}` });
      }
      return { models };
    }),

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
