import { existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TraceFlags, type Context } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../logging/index.js';
import type { TelemetryMetrics } from './metrics.js';
import type { ExportTls, ExportWorkerData, FromExportWorker, ToExportWorker } from './span-export-protocol.js';
import type { ResourceRecord, ScopeRecord } from './otlp-trace-encoder.js';
import { SpanRecordWriter } from './span-records.js';
import { resolveOptions } from '../options/index.js';

/** Defaults of {@link WorkerSpanProcessorOptions}. */
export const DEFAULT_WORKER_SPAN_PROCESSOR_OPTIONS = {
  probeIntervalMs: 5000,
  maxRequestBytes: 4 << 20,
} as const;

export interface WorkerSpanProcessorOptions {
  /** OTLP/gRPC endpoint, `http://host:port`. */
  endpoint: string;
  metrics: TelemetryMetrics;
  logger: Logger;
  /** Spans ended but not yet settled by the worker, at most; further spans are dropped and counted. */
  maxQueueSize: number;
  /** Spans per export at most. */
  maxExportBatchSize: number;
  /** Longest wait from a span's end to its batch's hand-over, in ms. */
  scheduledDelayMs: number;
  /** How long one export may take, in ms; also bounds forceFlush. */
  exportTimeoutMs: number;
  /** While the endpoint is down, how often the worker probes it, in ms. Default 5000. */
  probeIntervalMs?: number;
  /** Largest encoded export sent, in bytes. Default 4 MiB (a gRPC receiver's default limit). */
  maxRequestBytes?: number;
  /** TLS of an `https://` endpoint (CA, client certificate and key). Default: the system roots, no client certificate. */
  tls?: ExportTls;
  /** Sent as `authorization: Bearer <token>` on every export (a monitor started with --auth). Default: none. */
  token?: string;
}

/** The compiled worker next to this module (in dist/), also when this module runs from source (tests). */
function workerScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'span-export-worker.js');
  if (existsSync(sibling)) return sibling;
  const built = resolve(here, '..', '..', 'dist', 'shared', 'telemetry', 'span-export-worker.js');
  if (here.split(sep).includes('dist') || !existsSync(built)) {
    throw new Error(`the span export worker ${built} is missing: run \`npm run build\` first`);
  }
  return built;
}

/**
 * A SpanProcessor that exports sampled spans by OTLP/gRPC from a worker
 * thread. The traced thread only writes each ended span as a compact binary
 * record (span-records.ts) and transfers the batch's buffer; encoding the
 * protobuf and the HTTP/2 call happen in the worker (span-export-worker.ts).
 * Bounded: at most `maxQueueSize` spans are waiting, the rest are dropped and
 * counted. No retries: when an export fails the endpoint counts as down, spans
 * are dropped at their end (counted as failed, one warning per outage) until
 * the worker's probe finds the endpoint answering again.
 */
export class WorkerSpanProcessor implements SpanProcessor {
  readonly #o: Required<Omit<WorkerSpanProcessorOptions, 'tls' | 'token'>> & Pick<WorkerSpanProcessorOptions, 'tls' | 'token'>;
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  readonly #records = new SpanRecordWriter();
  #inWorker = 0;
  #down = false;
  #closed = false;
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #resources = new Map<Resource, number>();
  readonly #scopes = new Map<InstrumentationScope, number>();
  #newResources: Array<{ index: number; resource: ResourceRecord }> = [];
  #newScopes: Array<{ index: number; scope: ScopeRecord }> = [];
  readonly #flushes = new Map<number, () => void>();
  #shutdown: Promise<void> | undefined;

  constructor(options: WorkerSpanProcessorOptions) {
    this.#o = resolveOptions(DEFAULT_WORKER_SPAN_PROCESSOR_OPTIONS, options);
    const workerData: ExportWorkerData = {
      endpoint: this.#o.endpoint,
      exportTimeoutMs: this.#o.exportTimeoutMs,
      probeIntervalMs: this.#o.probeIntervalMs,
      maxRequestBytes: this.#o.maxRequestBytes,
      ...(this.#o.tls ? { tls: this.#o.tls } : {}),
      ...(this.#o.token ? { token: this.#o.token } : {}),
    };
    this.#worker = new Worker(workerScript(), { workerData });
    // The worker never keeps the process alive; shutdown() flushes it first.
    this.#worker.unref();
    this.#worker.on('message', (message: FromExportWorker) => this.#onMessage(message));
    this.#worker.on('error', (err) => {
      this.#o.logger.warn('the span export worker failed; spans are dropped from now on', { err });
      this.#down = true;
    });
    this.#exited = new Promise((resolveExit) => this.#worker.once('exit', () => resolveExit()));
    void this.#exited.then(() => {
      this.#down = true;
      for (const done of this.#flushes.values()) done();
      this.#flushes.clear();
    });
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#closed || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    const m = this.#o.metrics;
    if (this.#down) {
      m.spansExportFailedTotal.inc();
      return;
    }
    if (this.#records.spans + this.#inWorker >= this.#o.maxQueueSize) {
      m.spansDroppedTotal.inc();
      return;
    }
    let resource = this.#resources.get(span.resource);
    if (resource === undefined) {
      resource = this.#resources.size;
      this.#resources.set(span.resource, resource);
      const schemaUrl = span.resource.schemaUrl;
      this.#newResources.push({ index: resource, resource: { attributes: { ...span.resource.attributes }, ...(schemaUrl ? { schemaUrl } : {}) } });
    }
    let scope = this.#scopes.get(span.instrumentationScope);
    if (scope === undefined) {
      scope = this.#scopes.size;
      this.#scopes.set(span.instrumentationScope, scope);
      const { name, version, schemaUrl } = span.instrumentationScope;
      this.#newScopes.push({ index: scope, scope: { name, ...(version ? { version } : {}), ...(schemaUrl ? { schemaUrl } : {}) } });
    }
    this.#records.append(span, resource, scope);
    if (this.#records.spans >= this.#o.maxExportBatchSize) this.#handOver();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => this.#handOver(), this.#o.scheduledDelayMs);
      this.#timer.unref();
    }
  }

  /** Posts the spans collected so far to the worker. */
  #handOver(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#records.spans === 0) return;
    const batch = this.#records.take();
    const message: ToExportWorker = { kind: 'spans', seq: ++this.#seq, batch };
    if (this.#newResources.length) message.resources = this.#newResources;
    if (this.#newScopes.length) message.scopes = this.#newScopes;
    this.#worker.postMessage(message, [batch.buffer]);
    this.#inWorker += batch.spans;
    this.#newResources = [];
    this.#newScopes = [];
  }

  #onMessage(message: FromExportWorker): void {
    const m = this.#o.metrics;
    if (message.kind === 'result') {
      this.#inWorker -= message.spans;
      if (message.ok) m.spansExportedTotal.inc(message.spans);
      else m.spansExportFailedTotal.inc(message.spans);
    } else if (message.kind === 'state') {
      this.#down = !message.up;
      if (message.up) this.#o.logger.info('span export recovered: the OTLP endpoint answers again', { endpoint: this.#o.endpoint });
      else {
        this.#o.logger.warn('span export failed; spans are dropped (and counted) until the OTLP endpoint answers', {
          endpoint: this.#o.endpoint,
          reason: message.reason,
          probeIntervalMs: this.#o.probeIntervalMs,
        });
      }
    } else {
      this.#flushes.get(message.seq)?.();
      this.#flushes.delete(message.seq);
    }
  }

  /** Hands over what is buffered and waits until the worker has settled it (bounded by the export timeout). */
  forceFlush(): Promise<void> {
    this.#handOver();
    if (this.#inWorker === 0) return Promise.resolve();
    const seq = ++this.#seq;
    return new Promise<void>((resolveFlush) => {
      const timer = setTimeout(() => {
        this.#flushes.delete(seq);
        resolveFlush();
      }, this.#o.exportTimeoutMs + 1000);
      timer.unref();
      this.#flushes.set(seq, () => {
        clearTimeout(timer);
        resolveFlush();
      });
      this.#worker.postMessage({ kind: 'flush', seq } satisfies ToExportWorker);
    });
  }

  /** Flushes, then stops the worker. Idempotent. */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      // Keep the process alive until the worker has flushed and exited (bounded by the timers
      // below): an unref'd worker would let a failing entry point exit before its error is reported.
      this.#worker.ref();
      await this.forceFlush();
      this.#closed = true;
      this.#worker.postMessage({ kind: 'close' } satisfies ToExportWorker);
      const timer = setTimeout(() => void this.#worker.terminate(), 1000);
      timer.unref();
      await this.#exited;
      clearTimeout(timer);
    })();
    return this.#shutdown;
  }
}
