import type { LatencySummary } from './latency.js';

/**
 * Messages between the benchmark's orchestrator and its child processes (the
 * load generator and the compute-limit runner), over the Node IPC channel.
 */

/** The one input tensor the load generator sends with every request. */
export interface PayloadSpec {
  name: string;
  datatype: string;
  /** Shape of one request's tensor, batch dim included (e.g. [1, 3, 48, 192]). */
  shape: number[];
}

/** How a load generator connects when the node's edge is secured (bench/security-cost.ts). */
export interface LoadSecurity {
  /** PEM of the CA the node's certificate chains to: connect with TLS. */
  caPem: string;
  /** Sent as `authorization: Bearer <token>` on every call (on the stream's metadata when streaming). */
  token?: string;
}

export interface LoadCommand {
  kind: 'load';
  address: string;
  modelName: string;
  mode: 'unary' | 'streaming';
  concurrency: number;
  /** In-flight requests per bidi stream in streaming mode (streams = ceil(concurrency / this)). */
  requestsPerStream: number;
  /** HTTP/2 connections the in-flight requests are spread over (at most one per request in flight). */
  connections: number;
  warmupMs: number;
  windowMs: number;
  input: PayloadSpec;
  /** TLS and token; plaintext without. */
  security?: LoadSecurity;
}

export interface ComputeCommand {
  kind: 'compute';
  modelPath: string;
  input: PayloadSpec;
  batchSizes: number[];
  intraOpThreads: number;
  interOpThreads: number;
  warmupMs: number;
  windowMs: number;
}

export interface ComputePoint extends LatencySummary {
  batchSize: number;
}

export type WorkerReply =
  | { kind: 'load'; summary: LatencySummary; firstError?: string }
  | { kind: 'compute'; points: ComputePoint[] }
  | { kind: 'error'; message: string };

/** A payload of the datatype's bytes: uniform [0, 1) for floats, zeros for integers, 'x' strings for BYTES. */
export function payloadBytes(spec: PayloadSpec): Buffer {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.datatype === 'FP32') {
    let seed = 42;
    const f = Float32Array.from({ length: count }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff));
    return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
  }
  if (spec.datatype === 'BYTES') {
    const out = Buffer.alloc(count * 5);
    for (let i = 0; i < count; i++) {
      out.writeUInt32LE(1, i * 5);
      out.write('x', i * 5 + 4);
    }
    return out;
  }
  const size: Record<string, number> = { FP64: 8, INT64: 8, UINT64: 8, INT32: 4, UINT32: 4, FP16: 2, INT16: 2, UINT16: 2 };
  return Buffer.alloc(count * (size[spec.datatype] ?? 1));
}
