import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { ModelMissHandler } from '../server/index.js';
import type { PeerForwarder } from './peer-forwarder.js';
import { isForwarded } from './peer-forwarder.js';
import type { PeerTable } from './peer-table.js';
import type { RegistryFollower } from './registry-follower.js';
import { isSafeToRetry, neverSent } from './retry-safety.js';

/** Options of {@link createMeshMissHandler}. */
export interface MeshMissHandlerOptions {
  peers: PeerTable;
  forwarder: PeerForwarder;
  follower: RegistryFollower;
  logger: Logger;
}

/**
 * DESIGN.md "One prediction, end to end", step 2, for a request the node's own
 * manager cannot serve: forward it to a peer whose heartbeat says it holds the
 * model (the least loaded first; never when the request was itself forwarded).
 * When that peer cannot have run it (unreachable before the request was sent,
 * or UNAVAILABLE it answered before running it), the next holder is tried,
 * within the caller's deadline; a request that may have run is never sent
 * twice. With no holder left, the model is loaded here (unless placement puts
 * it on other nodes: then UNAVAILABLE names the model) and the request retries
 * locally. A peer that could not be reached is forgotten until its next beat.
 */
export function createMeshMissHandler(options: MeshMissHandlerOptions): ModelMissHandler {
  return {
    async handleMiss(request, error, ctx) {
      const model = request.modelName;
      const version = request.modelVersion || undefined;
      if (!isForwarded(ctx.metadata)) {
        const tried = new Set<string>();
        while (!ctx.signal.aborted && Date.now() < ctx.deadlineMs) {
          const peer = options.peers.holders(model, version).find((p) => !tried.has(p.nodeId));
          if (!peer) break;
          tried.add(peer.nodeId);
          try {
            return await options.forwarder.forward(peer, request, ctx);
          } catch (err) {
            const e = InfermeshError.from(err);
            if (e.code === Code.UNAVAILABLE && !isSafeToRetry(e) && !ctx.signal.aborted) {
              throw new InfermeshError(Code.UNAVAILABLE, `model '${model}': its replica on ${peer.nodeId} failed after the request was sent (not retried: it may have run): ${e.message}`, { cause: e });
            }
            if (!isSafeToRetry(e) || ctx.signal.aborted) throw e;
            options.logger.warn('peer did not run a forwarded request; trying the next replica', { model, version, peer: peer.nodeId, err: e });
            if (neverSent(e)) options.peers.forget(peer.nodeId);
          }
        }
      }
      options.logger.debug('loading a model on demand', { model, version, reason: error.message });
      await options.follower.ensureAvailable(model, version, { deadlineMs: ctx.deadlineMs, signal: ctx.signal });
      return 'retry';
    },
  };
}
