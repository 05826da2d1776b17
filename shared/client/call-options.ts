import { Metadata, type CallOptions as GrpcCallOptions } from '@grpc/grpc-js';

/** Per-call options. */
export interface CallOptions {
  /** Deadline for this call in ms from now (overrides the client's `timeoutMs`). */
  timeoutMs?: number;
  /** Aborting cancels the call; it rejects CANCELLED. */
  signal?: AbortSignal;
  /** Extra gRPC metadata (e.g. `traceparent`). */
  metadata?: Metadata;
}

/** grpc-js call options and metadata for one call. */
export function grpcCallOptions(options: CallOptions | undefined, defaultTimeoutMs: number | undefined): { metadata: Metadata; callOptions: GrpcCallOptions } {
  const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs;
  return {
    metadata: options?.metadata ?? new Metadata(),
    callOptions: timeoutMs !== undefined && Number.isFinite(timeoutMs) ? { deadline: Date.now() + timeoutMs } : {},
  };
}
