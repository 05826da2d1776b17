import type { Attributes, Tracer } from '@opentelemetry/api';
import { ATTR_MODEL_NAME, ATTR_MODEL_VERSION, clientAttributes, type BoundCount, type InferenceMetrics } from '../../../shared/telemetry/index.js';

/**
 * What an inference node traces and counts with, created once at the process
 * entry point (`createTelemetry`) and passed down by constructor: to the
 * server (server spans, `forward`), the model manager (per-version
 * instruments) and through it to every executor (`queue`, `batch`, `ort.run`).
 */
export interface InferenceTelemetry {
  /** Absent: the node does not trace (sampling `off`), and starts no span, not even a non-recording one. */
  readonly tracer?: Tracer;
  /**
   * The node's `--trace-sampling` ratio for new traces (0..1), which the node
   * applies itself at request entry (after the caller's `traceparent` and the
   * model's `tracing.sampleRate`; see request-tracing.ts). Absent with a
   * tracer: the tracer's own sampler decides those.
   */
  readonly sampling?: number;
  /** The node's Prometheus instruments (`telemetry.metrics.inference`); none = no metrics. */
  readonly metrics?: InferenceMetrics;
}

/**
 * One model version's instruments, bound once to its labels and span
 * attributes so the request path does no label lookups of its own.
 */
export interface VersionInstruments {
  /** Undefined when the node does not trace. */
  readonly tracer: Tracer | undefined;
  /** `infermesh.model.name` and `infermesh.model.version`, on every span of this version. */
  readonly spanAttributes: Attributes;
  /** One answered request: its gRPC status name, total time, and (on success) queue and compute times, in ns. */
  recordRequest(status: string, totalNs: number, queueNs?: number, computeNs?: number): void;
  /** One executed batch of `size` requests. */
  recordBatch(size: number): void;
  /** Requests waiting in the version's queue now. */
  setQueueDepth(depth: number): void;
  /** The throughput curve's rows/s at one batch size (the executor refreshes it at most once a second). */
  setBatchRowsPerSecond(batchSize: number, rowsPerSecond: number): void;
  /** Drops the version's gauges (it was unloaded); counters and histograms stay. */
  close(): void;
}

const NS_PER_SECOND = 1e9;

/** Binds `telemetry`'s instruments to one model version. */
export function createVersionInstruments(telemetry: InferenceTelemetry | undefined, model: string, version: string): VersionInstruments {
  // A model loaded by RepositoryModelLoad is named by a client: bounded like any client value (once per version, not per span).
  const spanAttributes: Attributes = clientAttributes({ [ATTR_MODEL_NAME]: model, [ATTR_MODEL_VERSION]: version });
  const metrics = telemetry?.metrics;
  if (!metrics) {
    return { tracer: telemetry?.tracer, spanAttributes, recordRequest: () => {}, recordBatch: () => {}, setQueueDepth: () => {}, setBatchRowsPerSecond: () => {}, close: () => {} };
  }
  const labels = { model, version };
  const total = metrics.requestDurationSeconds.labels(labels);
  const queue = metrics.queueDurationSeconds.labels(labels);
  const compute = metrics.computeDurationSeconds.labels(labels);
  const batch = metrics.batchSize.labels(labels);
  const depth = metrics.queueDepth.labels(labels);
  const byStatus = new Map<string, BoundCount>();
  const curveSizes = new Set<number>();
  // The executor reports its depth at every pump (per request when requests come one at a time): the gauge is set only when it changes.
  let lastDepth: number | undefined;
  return {
    tracer: telemetry.tracer,
    spanAttributes,
    recordRequest(status, totalNs, queueNs, computeNs) {
      let counter = byStatus.get(status);
      if (!counter) byStatus.set(status, (counter = metrics.requestCounts.bind(metrics.requestsTotal, { ...labels, status })));
      counter.inc();
      total.observe(totalNs / NS_PER_SECOND);
      if (queueNs !== undefined) queue.observe(queueNs / NS_PER_SECOND);
      if (computeNs !== undefined) compute.observe(computeNs / NS_PER_SECOND);
    },
    recordBatch: (size) => batch.observe(size),
    setQueueDepth(n) {
      if (n === lastDepth) return;
      lastDepth = n;
      depth.set(n);
    },
    setBatchRowsPerSecond(batchSize, rowsPerSecond) {
      curveSizes.add(batchSize);
      metrics.batchRowsPerSecond.set({ ...labels, batch_size: String(batchSize) }, rowsPerSecond);
    },
    close: () => {
      lastDepth = undefined;
      metrics.queueDepth.remove(labels);
      for (const size of curveSizes) metrics.batchRowsPerSecond.remove({ ...labels, batch_size: String(size) });
    },
  };
}
