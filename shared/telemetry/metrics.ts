import { Counter, Gauge, type Registry } from 'prom-client';
import { BoundHistogram } from './bound-histogram.js';
import { DeferredCounts } from './deferred-counts.js';
import { METRICS } from './metric-names.js';

/**
 * Every Prometheus instrument infermesh defines, in one place. Names follow
 * Prometheus conventions: an `infermesh_` prefix, base units (`_seconds`,
 * `_bytes`), `_total` on counters. Services get their group from
 * `telemetry.metrics` (see createTelemetry); each group registers its
 * instruments in the process's own Registry on first use.
 */

/**
 * Latency buckets in seconds, fine enough for sub-millisecond inference:
 * 50 µs up to 10 s.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Batch size buckets (requests per executed batch). */
export const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

type ModelLabels = 'model' | 'version';

/**
 * The inference node's instruments. `status` labels are gRPC code names (`OK`, `INVALID_ARGUMENT`, ...).
 * The per-request histograms are {@link BoundHistogram}s: bind a child per model version with `labels()` once.
 */
export interface InferenceMetrics {
  /** `infermesh_inference_requests_total{model,version,status}` */
  requestsTotal: Counter<ModelLabels | 'status'>;
  /** `requestsTotal` counted on the request path: bind per version and status once (`requestCounts.bind(requestsTotal, labels)`); scrapes flush it. */
  requestCounts: DeferredCounts;
  /** `infermesh_inference_request_duration_seconds{model,version}`: whole request, receipt to response. */
  requestDurationSeconds: BoundHistogram<ModelLabels>;
  /** `infermesh_inference_queue_duration_seconds{model,version}`: time waiting in the batching queue. */
  queueDurationSeconds: BoundHistogram<ModelLabels>;
  /** `infermesh_inference_compute_duration_seconds{model,version}`: input copy + ORT run + output slice. */
  computeDurationSeconds: BoundHistogram<ModelLabels>;
  /** `infermesh_inference_batch_size{model,version}`: requests per executed batch. */
  batchSize: BoundHistogram<ModelLabels>;
  /** `infermesh_inference_queue_depth{model,version}`: requests waiting now. */
  queueDepth: Gauge<ModelLabels>;
  /** `infermesh_inference_batch_rows_per_second{model,version,batch_size}`: the throughput curve the scheduler picks batch sizes from (mean over instances). */
  batchRowsPerSecond: Gauge<ModelLabels | 'batch_size'>;
  /** `infermesh_models_loaded{device}`: model versions with a ready session. */
  modelsLoaded: Gauge<'device'>;
  /** `infermesh_device_memory_used_bytes{device}`: memory the node's sessions hold per device. */
  deviceMemoryUsedBytes: Gauge<'device'>;
  /** `infermesh_inference_forwards_total{model,status}`: requests handed to a peer node. */
  forwardsTotal: Counter<'model' | 'status'>;
  /** `infermesh_prediction_records_total{model,outcome}`: sampled prediction records, `published`, or dropped (`queue_full`, `publish_failed`). */
  predictionRecordsTotal: Counter<'model' | 'outcome'>;
}

/** The registry's instruments. */
export interface RegistryMetrics {
  /** `infermesh_registry_versions`: model versions held. */
  versions: Gauge<string>;
  /** `infermesh_registry_uploads_total{status}`: artifact uploads by gRPC code name. */
  uploadsTotal: Counter<'status'>;
  /** `infermesh_registry_outbox_pending`: events written but not yet published on NATS. */
  outboxPending: Gauge<string>;
}

/** The monitor's instruments. */
export interface MonitorMetrics {
  /** `infermesh_monitor_spans_received_total`: spans accepted into the store. */
  spansReceivedTotal: Counter<string>;
  /** `infermesh_monitor_spans_rejected_total{reason}`: spans (or whole exports) rejected as invalid. */
  spansRejectedTotal: Counter<'reason'>;
  /** `infermesh_monitor_spans_pruned_total{reason}`: spans removed by retention (`age` or `size`). */
  spansPrunedTotal: Counter<'reason'>;
  /** `infermesh_monitor_spans_stored`: spans in the store now. */
  spansStored: Gauge<string>;
}

/** Instruments of the telemetry pipeline itself (every process that traces). */
export interface TelemetryMetrics {
  /** `infermesh_telemetry_spans_dropped_total`: spans dropped because the export queue was full. */
  spansDroppedTotal: Counter<string>;
  /** `infermesh_telemetry_spans_exported_total`: spans the exporter delivered. */
  spansExportedTotal: Counter<string>;
  /** `infermesh_telemetry_spans_export_failed_total`: spans lost to failed exports (monitor down, timeout). */
  spansExportFailedTotal: Counter<string>;
}

/** Creates the inference node's instruments in `registry`. */
export function createInferenceMetrics(registry: Registry): InferenceMetrics {
  const registers = [registry];
  const latency = (metric: { readonly name: string; readonly labelNames: readonly ModelLabels[] }, help: string) =>
    new BoundHistogram({ ...metric, help, buckets: LATENCY_BUCKETS_SECONDS, registers });
  const requestCounts = new DeferredCounts();
  return {
    requestsTotal: new Counter({
      ...METRICS.inferenceRequestsTotal,
      help: 'Inference requests by model, version and gRPC status code name.',
      registers,
      collect: () => requestCounts.flush(),
    }),
    requestCounts,
    requestDurationSeconds: latency(METRICS.inferenceRequestDurationSeconds, 'Inference request latency, receipt to response, in seconds.'),
    queueDurationSeconds: latency(METRICS.inferenceQueueDurationSeconds, 'Time a request waited in its batching queue, in seconds.'),
    computeDurationSeconds: latency(METRICS.inferenceComputeDurationSeconds, 'Compute time of the batch that served a request, in seconds.'),
    batchSize: new BoundHistogram({
      ...METRICS.inferenceBatchSize,
      help: 'Requests per executed batch.',
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    }),
    queueDepth: new Gauge({ ...METRICS.inferenceQueueDepth, help: 'Requests waiting in the batching queue.', registers }),
    batchRowsPerSecond: new Gauge({
      ...METRICS.inferenceBatchRowsPerSecond,
      help: 'Rows per second ONNX Runtime runs at each batch size (measured at load, then a moving average of served batches).',
      registers,
    }),
    modelsLoaded: new Gauge({ ...METRICS.modelsLoaded, help: 'Model versions with a ready session, per device.', registers }),
    deviceMemoryUsedBytes: new Gauge({
      ...METRICS.deviceMemoryUsedBytes,
      help: 'Memory held by loaded sessions, per device, in bytes.',
      registers,
    }),
    forwardsTotal: new Counter({
      ...METRICS.inferenceForwardsTotal,
      help: 'Requests forwarded to a peer node, by model and gRPC status code name.',
      registers,
    }),
    predictionRecordsTotal: new Counter({
      ...METRICS.predictionRecordsTotal,
      help: 'Sampled prediction records by model and outcome: published, or dropped (queue_full, publish_failed) when NATS is slow or down.',
      registers,
    }),
  };
}

/** Creates the registry's instruments in `registry`. */
export function createRegistryMetrics(registry: Registry): RegistryMetrics {
  const registers = [registry];
  return {
    versions: new Gauge({ ...METRICS.registryVersions, help: 'Model versions held by the registry.', registers }),
    uploadsTotal: new Counter({
      ...METRICS.registryUploadsTotal,
      help: 'Artifact uploads by gRPC status code name.',
      registers,
    }),
    outboxPending: new Gauge({ ...METRICS.registryOutboxPending, help: 'Registry events not yet published on NATS.', registers }),
  };
}

/** Creates the monitor's instruments in `registry`. */
export function createMonitorMetrics(registry: Registry): MonitorMetrics {
  const registers = [registry];
  return {
    spansReceivedTotal: new Counter({ ...METRICS.monitorSpansReceivedTotal, help: 'Spans accepted into the store.', registers }),
    spansRejectedTotal: new Counter({
      ...METRICS.monitorSpansRejectedTotal,
      help: 'Spans or whole OTLP exports rejected as invalid, by reason.',
      registers,
    }),
    spansPrunedTotal: new Counter({
      ...METRICS.monitorSpansPrunedTotal,
      help: 'Spans removed by retention, by reason (age or size).',
      registers,
    }),
    spansStored: new Gauge({ ...METRICS.monitorSpansStored, help: 'Spans in the store.', registers }),
  };
}

/** Creates the telemetry pipeline's own instruments in `registry`. */
export function createTelemetryMetrics(registry: Registry): TelemetryMetrics {
  const registers = [registry];
  return {
    spansDroppedTotal: new Counter({
      ...METRICS.telemetrySpansDroppedTotal,
      help: 'Spans dropped because the export queue was full.',
      registers,
    }),
    spansExportedTotal: new Counter({ ...METRICS.telemetrySpansExportedTotal, help: 'Spans delivered by the exporter.', registers }),
    spansExportFailedTotal: new Counter({
      ...METRICS.telemetrySpansExportFailedTotal,
      help: 'Spans lost to failed exports (collector down or slow).',
      registers,
    }),
  };
}

/**
 * The instrument groups of one process, each created in the process's
 * registry the first time it is read (so an inference node does not show the
 * registry's gauges).
 */
export interface MetricGroups {
  readonly inference: InferenceMetrics;
  readonly registry: RegistryMetrics;
  readonly monitor: MonitorMetrics;
  readonly telemetry: TelemetryMetrics;
}

/** Lazily created, memoized metric groups over one registry. */
export function createMetricGroups(registry: Registry): MetricGroups {
  let inference: InferenceMetrics | undefined;
  let registryGroup: RegistryMetrics | undefined;
  let monitor: MonitorMetrics | undefined;
  const telemetry = createTelemetryMetrics(registry);
  return {
    get inference() {
      return (inference ??= createInferenceMetrics(registry));
    },
    get registry() {
      return (registryGroup ??= createRegistryMetrics(registry));
    },
    get monitor() {
      return (monitor ??= createMonitorMetrics(registry));
    },
    telemetry,
  };
}
