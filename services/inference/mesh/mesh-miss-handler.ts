import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { ModelMissHandler } from '../server/index.js';
import type { PeerForwarder } from './peer-forwarder.js';
import { isForwarded } from './peer-forwarder.js';
import type { PeerTable } from './peer-table.js';
import type { RegistryFollower } from './registry-follower.js';
import { isSafeToRetry, neverSent } from './retry-safety.js';
import { sleep } from '../../../shared/rpc/index.js';

/** The on-demand loader's answer for a model whose replicas are all on other nodes (on-demand-load.ts). */
function isPlacedElsewhere(err: unknown): boolean {
  return err instanceof InfermeshError && err.code === Code.UNAVAILABLE && err.message.includes('every replica is gone');
}

/** Options of {@link createMeshMissHandler}. */
export interface MeshMissHandlerOptions {
  peers: PeerTable;
  forwarder: PeerForwarder;
  follower: RegistryFollower;
  logger: Logger;
  /**
   * How long a request for a model placed on other nodes waits for a holder's heartbeat when the
   * peer table lists none yet (a claim is visible in the placement bucket up to a beat before the
   * holder's heartbeat says READY), within the caller's deadline. Default: 2 heartbeat intervals
   * of 1000 ms.
   */
  holderGraceMs?: number;
}

const DEFAULT_HOLDER_GRACE_MS = 2_000;
const HOLDER_POLL_MS = 25;

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
      const forwardable = !isForwarded(ctx.metadata);
      for (let attempt = 0; ; attempt++) {
        if (forwardable) {
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
        try {
          await options.follower.ensureAvailable(model, version, { deadlineMs: ctx.deadlineMs, signal: ctx.signal });
          return 'retry';
        } catch (err) {
          // Placed on other nodes, none of them heard from yet: the claim can be a beat ahead of the
          // holder's heartbeat. Wait for one (once, within the deadline), then forward to it.
          if (attempt > 0 || !forwardable || !isPlacedElsewhere(err)) throw err;
          const until = Math.min(ctx.deadlineMs, Date.now() + (options.holderGraceMs ?? DEFAULT_HOLDER_GRACE_MS));
          while (options.peers.holders(model, version).length === 0 && Date.now() < until && !ctx.signal.aborted) await sleep(HOLDER_POLL_MS, ctx.signal);
          if (options.peers.holders(model, version).length === 0) throw err;
        }
      }
    },
  };
}
