import { Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { context as contextApi, trace } from '@opentelemetry/api';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { ATTR_FORWARD_PEER, ATTR_MODEL_NAME, ATTR_MODEL_VERSION, ATTR_NODE_ID, endRpcSpan, SPAN_NAMES } from '../../../shared/telemetry/index.js';
import { createInferenceClient, type InferenceClient } from '../../../shared/client/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { AUTHORIZATION_HEADER } from '../../../shared/auth/index.js';
import type { ModelInferRequest__Output } from '../../../shared/generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../../../shared/generated/inference/ModelInferResponse.js';
import type { InferCallContext } from '../server/index.js';
import type { InferenceTelemetry } from '../telemetry/index.js';
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
  /** A `forward` span per hop (with a CLIENT span under it; the peer's server span is its child) and `infermesh_inference_forwards_total`. */
  telemetry?: InferenceTelemetry;
  /** Channel credentials to the peers (the node's client TLS). Default: insecure. */
  credentials?: ChannelCredentials;
}

/** Sends requests on to peers, over one cached gRPC channel per peer address. */
export interface PeerForwarder {
  /**
   * Forwards one ModelInferRequest to `peer` unchanged (raw tensors included),
   * marked with {@link FORWARDED_BY_HEADER} and carrying the caller's own
   * `authorization` header (the peer checks the caller's scopes), within the caller's deadline and
   * cancelled with it. Resolves with the peer's response; rejects with the
   * peer's status as an InfermeshError. Traced as a `forward` span, a child
   * of the request's server span (`ctx.traceContext`).
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
  const tracer = options.telemetry?.tracer;
  const forwards = options.telemetry?.metrics?.forwardsTotal;
  const clientFor = (address: string) => {
    let client = clients.get(address);
    if (!client) clients.set(address, (client = createInferenceClient(address, { ...(tracer ? { tracer } : {}), ...(options.credentials ? { credentials: options.credentials } : {}) })));
    return client;
  };
  const send = (peer: Peer, request: ModelInferRequest__Output, ctx: InferCallContext) => {
    const metadata = new Metadata();
    metadata.set(FORWARDED_BY_HEADER, options.nodeId);
    const authorization = ctx.metadata?.get(AUTHORIZATION_HEADER)[0];
    if (authorization !== undefined) metadata.set(AUTHORIZATION_HEADER, authorization);
    options.logger.debug('forwarding request', { model: request.modelName, version: request.modelVersion, peer: peer.nodeId, grpc: peer.grpcAddress });
    const timeoutMs = Number.isFinite(ctx.deadlineMs) ? Math.max(1, ctx.deadlineMs - Date.now()) : undefined;
    // The decoded request has every field the wire form has (raw contents as Buffers): it re-encodes as is.
    return clientFor(peer.grpcAddress).modelInfer(request, {
      metadata,
      signal: ctx.signal,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    }) as Promise<ModelInferResponse>;
  };
  return {
    async forward(peer, request, ctx) {
      // The request's own span when sampled; else the context runInference runs the miss in (unsampled, or the caller's).
      const parent = ctx.trace?.context ?? ctx.traceContext ?? contextApi.active();
      const span = tracer?.startSpan(
        SPAN_NAMES.forward,
        {
          attributes: {
            [ATTR_MODEL_NAME]: request.modelName,
            ...(request.modelVersion ? { [ATTR_MODEL_VERSION]: request.modelVersion } : {}),
            [ATTR_NODE_ID]: options.nodeId,
            [ATTR_FORWARD_PEER]: peer.nodeId,
          },
        },
        parent,
      );
      try {
        const response = await (span ? contextApi.with(trace.setSpan(parent, span), () => send(peer, request, ctx)) : send(peer, request, ctx));
        forwards?.inc({ model: request.modelName, status: 'OK' });
        if (span) endRpcSpan(span);
        return response;
      } catch (err) {
        const error = InfermeshError.from(err);
        forwards?.inc({ model: request.modelName, status: Code[error.code] ?? String(error.code) });
        if (span) endRpcSpan(span, error);
        throw error;
      }
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
