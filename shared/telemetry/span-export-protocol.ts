// Messages between WorkerSpanProcessor (the traced program's thread) and the
// span export worker (span-export-worker.ts).
import type { ResourceRecord, ScopeRecord } from './otlp-trace-encoder.js';
import type { SpanRecordBatch } from './span-records.js';

/** The worker's configuration (its `workerData`). */
export interface ExportWorkerData {
  /** OTLP/gRPC endpoint, `http://host:port` or `https://host:port`. */
  endpoint: string;
  exportTimeoutMs: number;
  /** While the endpoint is down: how often to probe it with an empty Export. */
  probeIntervalMs: number;
  /** An encoded export larger than this is dropped (a receiver's default limit is 4 MiB). */
  maxRequestBytes: number;
  /** TLS to an `https://` endpoint: PEM CA to trust (else the system roots), and a client certificate and key for mTLS. */
  tls?: ExportTls;
  /** Sent as `authorization: Bearer <token>` on every Export (a monitor that checks tokens). */
  token?: string;
}

/** PEM material of an OTLP export over TLS (Buffers survive the worker's structured clone). */
export interface ExportTls {
  ca?: Uint8Array;
  cert?: Uint8Array;
  key?: Uint8Array;
}

export type ToExportWorker =
  | {
      kind: 'spans';
      seq: number;
      /** The records; its buffer is transferred. */
      batch: SpanRecordBatch;
      /** Resources and scopes first named in this batch. */
      resources?: Array<{ index: number; resource: ResourceRecord }>;
      scopes?: Array<{ index: number; scope: ScopeRecord }>;
    }
  /** Answered with `flushed` once every batch sent before it is settled. */
  | { kind: 'flush'; seq: number }
  | { kind: 'close' };

export type FromExportWorker =
  | { kind: 'result'; seq: number; spans: number; ok: boolean; reason?: string }
  | { kind: 'flushed'; seq: number }
  /** The endpoint went down (an export failed) or answers again (a probe succeeded). */
  | { kind: 'state'; up: boolean; reason?: string };
