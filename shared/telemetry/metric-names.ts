/**
 * Every Prometheus metric the mesh exposes (`infermesh_*`), with its label set:
 * one table that the code defining the instruments and the code reading
 * /metrics (bench, dashboards' queries) both take names from. Help texts stay
 * where the instruments are made. Renaming a metric here renames it everywhere,
 * which is a breaking change for anyone scraping it.
 */
export const METRICS = {
  // Inference node (shared/telemetry/metrics.ts, createInferenceMetrics).
  inferenceRequestsTotal: { name: 'infermesh_inference_requests_total', labelNames: ['model', 'version', 'status'] },
  inferenceRequestDurationSeconds: { name: 'infermesh_inference_request_duration_seconds', labelNames: ['model', 'version'] },
  inferenceQueueDurationSeconds: { name: 'infermesh_inference_queue_duration_seconds', labelNames: ['model', 'version'] },
  inferenceComputeDurationSeconds: { name: 'infermesh_inference_compute_duration_seconds', labelNames: ['model', 'version'] },
  inferenceBatchSize: { name: 'infermesh_inference_batch_size', labelNames: ['model', 'version'] },
  inferenceQueueDepth: { name: 'infermesh_inference_queue_depth', labelNames: ['model', 'version'] },
  inferenceBatchRowsPerSecond: { name: 'infermesh_inference_batch_rows_per_second', labelNames: ['model', 'version', 'batch_size'] },
  modelsLoaded: { name: 'infermesh_models_loaded', labelNames: ['device'] },
  deviceMemoryUsedBytes: { name: 'infermesh_device_memory_used_bytes', labelNames: ['device'] },
  inferenceForwardsTotal: { name: 'infermesh_inference_forwards_total', labelNames: ['model', 'status'] },
  predictionRecordsTotal: { name: 'infermesh_prediction_records_total', labelNames: ['model', 'outcome'] },

  // Registry (createRegistryMetrics).
  registryVersions: { name: 'infermesh_registry_versions', labelNames: [] },
  registryUploadsTotal: { name: 'infermesh_registry_uploads_total', labelNames: ['status'] },
  registryOutboxPending: { name: 'infermesh_registry_outbox_pending', labelNames: [] },

  // Monitor's trace store (createMonitorMetrics).
  monitorSpansReceivedTotal: { name: 'infermesh_monitor_spans_received_total', labelNames: [] },
  monitorSpansRejectedTotal: { name: 'infermesh_monitor_spans_rejected_total', labelNames: ['reason'] },
  monitorSpansPrunedTotal: { name: 'infermesh_monitor_spans_pruned_total', labelNames: ['reason'] },
  monitorSpansStored: { name: 'infermesh_monitor_spans_stored', labelNames: [] },

  // Monitor's model-health engine (services/monitor/health/health-metrics.ts).
  modelAccuracy: { name: 'infermesh_model_accuracy', labelNames: ['model', 'version'] },
  modelFeedbackSamples: { name: 'infermesh_model_feedback_samples', labelNames: ['model', 'version'] },
  modelQuality: { name: 'infermesh_model_quality', labelNames: ['model', 'version', 'metric'] },
  featureDriftPsi: { name: 'infermesh_feature_drift_psi', labelNames: ['model', 'version', 'feature'] },
  featureDriftPvalue: { name: 'infermesh_feature_drift_pvalue', labelNames: ['model', 'version', 'feature'] },
  outputDriftPsi: { name: 'infermesh_output_drift_psi', labelNames: ['model', 'version', 'output'] },
  healthRecordsTotal: { name: 'infermesh_health_records_total', labelNames: ['outcome'] },
  healthFeedbackTotal: { name: 'infermesh_health_feedback_total', labelNames: ['outcome'] },
  healthRejectedTotal: { name: 'infermesh_health_rejected_total', labelNames: ['kind', 'reason'] },
  healthAlertsFiring: { name: 'infermesh_health_alerts_firing', labelNames: ['model', 'version', 'rule'] },

  // The telemetry pipeline of every process that traces (createTelemetryMetrics).
  telemetrySpansDroppedTotal: { name: 'infermesh_telemetry_spans_dropped_total', labelNames: [] },
  telemetrySpansExportedTotal: { name: 'infermesh_telemetry_spans_exported_total', labelNames: [] },
  telemetrySpansExportFailedTotal: { name: 'infermesh_telemetry_spans_export_failed_total', labelNames: [] },
} as const satisfies Record<string, { readonly name: `infermesh_${string}`; readonly labelNames: readonly string[] }>;

/** The key of a metric in {@link METRICS}. */
export type MetricKey = keyof typeof METRICS;
