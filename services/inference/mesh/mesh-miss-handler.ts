import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { ModelMissHandler } from '../server/index.js';
import type { PeerForwarder } from './peer-forwarder.js';
import { isForwarded } from './peer-forwarder.js';
import type { PeerTable } from './peer-table.js';
import type { RegistryFollower } from './registry-follower.js';

/** Options of {@link createMeshMissHandler}. */
export interface MeshMissHandlerOptions {
  peers: PeerTable;
  forwarder: PeerForwarder;
  follower: RegistryFollower;
  logger: Logger;
}

/**
 * DESIGN.md "One prediction, end to end", step 2, for a request the node's own
 * manager cannot serve: forward it once to a peer whose heartbeat says it holds
 * the model (the least loaded one; never when the request was itself
 * forwarded), else load the model from the registry here, waiting within the
 * request's deadline, and let the request retry locally. A peer that cannot be
 * reached (UNAVAILABLE) is forgotten until its next beat, and the node loads
 * the model itself.
 */
export function createMeshMissHandler(options: MeshMissHandlerOptions): ModelMissHandler {
  return {
    async handleMiss(request, error, ctx) {
      const model = request.modelName;
      const version = request.modelVersion || undefined;
      if (!isForwarded(ctx.metadata)) {
        const peer = options.peers.holders(model, version)[0];
        if (peer) {
          try {
            return await options.forwarder.forward(peer, request, ctx);
          } catch (err) {
            const e = InfermeshError.from(err);
            if (e.code !== Code.UNAVAILABLE || ctx.signal.aborted) throw e;
            options.logger.warn('peer did not serve a forwarded request; loading the model here', { model, version, peer: peer.nodeId, err: e });
            options.peers.forget(peer.nodeId);
          }
        }
      }
      options.logger.debug('loading a model on demand', { model, version, reason: error.message });
      await options.follower.ensureAvailable(model, version, { deadlineMs: ctx.deadlineMs, signal: ctx.signal });
      return 'retry';
    },
  };
}
