import { Metadata } from '@grpc/grpc-js';
import { createInferenceClient, type InferenceClient, type ModelInferRequest } from '../../../shared/client/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { ModelInferRequest__Output } from '../../../shared/generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import type { InferCallContext } from '../server/index.js';
import type { Peer } from './peer-table.js';

/**
 * gRPC metadata key that marks a forwarded request; its value is the id of the
 * node that forwarded it. A node never forwards a request that carries it, so a
 * request hops at most once.
 */
export const FORWARDED_BY_HEADER = 'infermesh-forwarded-by';

/** True when the call's metadata says another node already forwarded it. */
export function isForwarded(metadata: Metadata | undefined): boolean {
  return (metadata?.get(FORWARDED_BY_HEADER).length ?? 0) > 0;
}

/** Options of {@link createPeerForwarder}. */
export interface PeerForwarderOptions {
  /** This node's id, sent as the {@link FORWARDED_BY_HEADER} value. */
  nodeId: string;
  logger: Logger;
}

/** Sends requests on to peers, over one cached gRPC channel per peer address. */
export interface PeerForwarder {
  /**
   * Forwards one ModelInferRequest to `peer` unchanged (raw tensors included),
   * marked with {@link FORWARDED_BY_HEADER}, within the caller's deadline and
   * cancelled with it. Resolves with the peer's response; rejects with the
   * peer's status as an InfermeshError. (The `forward` span belongs here.)
   */
  forward(peer: Peer, request: ModelInferRequest__Output, ctx: InferCallContext): Promise<ModelInferResponse>;
  /** Closes the channel to a peer (e.g. one that left). */
  drop(grpcAddress: string): void;
  /** Closes every channel. Idempotent. */
  close(): void;
}

/** Creates a {@link PeerForwarder}. */
export function createPeerForwarder(options: PeerForwarderOptions): PeerForwarder {
  const clients = new Map<string, InferenceClient>();
  const clientFor = (address: string) => {
    let client = clients.get(address);
    if (!client) clients.set(address, (client = createInferenceClient(address)));
    return client;
  };
  return {
    async forward(peer, request, ctx) {
      const metadata = new Metadata();
      metadata.set(FORWARDED_BY_HEADER, options.nodeId);
      options.logger.debug('forwarding request', { model: request.modelName, version: request.modelVersion, peer: peer.nodeId, grpc: peer.grpcAddress });
      const timeoutMs = Number.isFinite(ctx.deadlineMs) ? Math.max(1, ctx.deadlineMs - Date.now()) : undefined;
      // The decoded request has every field the wire form has (raw contents as Buffers): it re-encodes as is.
      return clientFor(peer.grpcAddress).modelInfer(request as unknown as ModelInferRequest, {
        metadata,
        signal: ctx.signal,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      }) as Promise<ModelInferResponse>;
    },
    drop(address) {
      clients.get(address)?.close();
      clients.delete(address);
    },
    close() {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}
