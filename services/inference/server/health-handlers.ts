import type { Logger } from '../../../shared/logging/index.js';
import type { ModelReadyRequest__Output } from '../../../shared/generated/inference/ModelReadyRequest.js';
import type { ModelReadyResponse } from '../../../shared/generated/inference/ModelReadyResponse.js';
import type { ServerLiveResponse } from '../../../shared/generated/inference/ServerLiveResponse.js';
import type { ServerMetadataResponse } from '../../../shared/generated/inference/ServerMetadataResponse.js';
import type { ServerReadyResponse } from '../../../shared/generated/inference/ServerReadyResponse.js';
import type { ModelManager } from '../models/index.js';
import { Metadata } from '@grpc/grpc-js';
import { unaryHandler } from '../../../shared/rpc/index.js';
import { PLACED_ON_HEADER, type PlacementView } from './repository-handlers.js';

/** The server's name and version in ServerMetadata. */
export const SERVER_NAME = 'infermesh';
export const SERVER_VERSION = '0.1.0';
/** KServe/Triton protocol extensions this node implements. */
export const SERVER_EXTENSIONS = ['model_repository', 'model_configuration', 'statistics'];

/**
 * ServerLive, ServerReady, ServerMetadata, ModelReady. `isReady` turns false while draining. With
 * `placement`, ModelReady of a placed model names its holders in the response metadata
 * `infermesh-placed-on` (ready stays this node's own answer).
 */
export function healthHandlers(manager: ModelManager, logger: Logger, isReady: () => boolean, placement?: PlacementView) {
  return {
    ServerLive: unaryHandler<unknown, ServerLiveResponse>('ServerLive', logger, () => ({ live: true })),
    ServerReady: unaryHandler<unknown, ServerReadyResponse>('ServerReady', logger, () => ({ ready: isReady() })),
    ServerMetadata: unaryHandler<unknown, ServerMetadataResponse>('ServerMetadata', logger, () => ({
      name: SERVER_NAME,
      version: SERVER_VERSION,
      extensions: SERVER_EXTENSIONS,
    })),
    ModelReady: unaryHandler<ModelReadyRequest__Output, ModelReadyResponse>('ModelReady', logger, async (request, call) => {
      const rows = placement ? await placement.rows(request.name).catch(() => []) : [];
      if (rows.length > 0) {
        const metadata = new Metadata();
        metadata.set(PLACED_ON_HEADER, rows.map((r) => `${r.nodeId}@${r.grpcAddress}`).join(','));
        call.sendMetadata(metadata);
      }
      try {
        manager.describe(request.name, request.version);
        return { ready: isReady() };
      } catch {
        return { ready: false };
      }
    }),
  };
}
