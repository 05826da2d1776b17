import type { Logger } from '../../../shared/logging/index.js';
import type { ModelReadyRequest__Output } from '../../../shared/generated/inference/ModelReadyRequest.js';
import type { ModelReadyResponse } from '../../../shared/generated/inference/ModelReadyResponse.js';
import type { ServerLiveResponse } from '../../../shared/generated/inference/ServerLiveResponse.js';
import type { ServerMetadataResponse } from '../../../shared/generated/inference/ServerMetadataResponse.js';
import type { ServerReadyResponse } from '../../../shared/generated/inference/ServerReadyResponse.js';
import type { ModelManager } from '../models/index.js';
import { unaryHandler } from './handler-edge.js';

/** The server's name and version in ServerMetadata. */
export const SERVER_NAME = 'infermesh';
export const SERVER_VERSION = '0.1.0';
/** KServe/Triton protocol extensions this node implements. */
export const SERVER_EXTENSIONS = ['model_repository', 'model_configuration', 'statistics'];

/** ServerLive, ServerReady, ServerMetadata, ModelReady. `isReady` turns false while draining. */
export function healthHandlers(manager: ModelManager, logger: Logger, isReady: () => boolean) {
  return {
    ServerLive: unaryHandler<unknown, ServerLiveResponse>('ServerLive', logger, () => ({ live: true })),
    ServerReady: unaryHandler<unknown, ServerReadyResponse>('ServerReady', logger, () => ({ ready: isReady() })),
    ServerMetadata: unaryHandler<unknown, ServerMetadataResponse>('ServerMetadata', logger, () => ({
      name: SERVER_NAME,
      version: SERVER_VERSION,
      extensions: SERVER_EXTENSIONS,
    })),
    ModelReady: unaryHandler<ModelReadyRequest__Output, ModelReadyResponse>('ModelReady', logger, (request) => {
      try {
        manager.describe(request.name, request.version);
        return { ready: isReady() };
      } catch {
        return { ready: false };
      }
    }),
  };
}
