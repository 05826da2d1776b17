import { Counter, Gauge, type Registry } from 'prom-client';
import { METRICS } from '../../../shared/telemetry/index.js';

/** The model-health engine's instruments, on the monitor's Prometheus registry (its /metrics). */
export interface HealthMetrics {
  /** `infermesh_model_accuracy{model,version}`: accuracy over the quality window (classifiers). */
  accuracy: Gauge<'model' | 'version'>;
  /** `infermesh_model_feedback_samples{model,version}`: joined feedback rows behind the quality figures. */
  feedbackSamples: Gauge<'model' | 'version'>;
  /** `infermesh_model_quality{model,version,metric}`: precision, recall, f1 (macro), mae, rmse. */
  quality: Gauge<'model' | 'version' | 'metric'>;
  /** `infermesh_feature_drift_psi{model,version,feature}` */
  featureDriftPsi: Gauge<'model' | 'version' | 'feature'>;
  /** `infermesh_feature_drift_pvalue{model,version,feature}`: KS (numeric) or chi-squared (categorical) p-value. */
  featureDriftPvalue: Gauge<'model' | 'version' | 'feature'>;
  /** `infermesh_output_drift_psi{model,version,output}` */
  outputDriftPsi: Gauge<'model' | 'version' | 'output'>;
  /** `infermesh_health_records_total{outcome}`: stored, duplicate or rejected. */
  recordsTotal: Counter<'outcome'>;
  /** `infermesh_health_feedback_total{outcome}`: joined, duplicate or rejected. */
  feedbackTotal: Counter<'outcome'>;
  /** `infermesh_health_rejected_total{kind,reason}`: malformed records and feedback, by reason. */
  rejectedTotal: Counter<'kind' | 'reason'>;
  /** `infermesh_health_alerts_firing{model,version,rule}` */
  alertsFiring: Gauge<'model' | 'version' | 'rule'>;
}

export function createHealthMetrics(registry: Registry): HealthMetrics {
  const registers = [registry];
  return {
    accuracy: new Gauge({ ...METRICS.modelAccuracy, help: 'Accuracy of a classifier version over the quality window, from joined feedback.', registers }),
    feedbackSamples: new Gauge({ ...METRICS.modelFeedbackSamples, help: 'Joined feedback rows behind the quality figures of a version.', registers }),
    quality: new Gauge({ ...METRICS.modelQuality, help: 'Quality figures of a version over the quality window: precision, recall, f1 (macro), mae, rmse.', registers }),
    featureDriftPsi: new Gauge({ ...METRICS.featureDriftPsi, help: 'Population stability index of an input feature, window against reference.', registers }),
    featureDriftPvalue: new Gauge({ ...METRICS.featureDriftPvalue, help: 'p-value of the drift test of an input feature (KS for numeric, chi-squared for categorical).', registers }),
    outputDriftPsi: new Gauge({ ...METRICS.outputDriftPsi, help: 'Population stability index of an output (or the predicted class), window against reference.', registers }),
    recordsTotal: new Counter({ ...METRICS.healthRecordsTotal, help: 'Prediction records consumed, by outcome (stored, duplicate, rejected).', registers }),
    feedbackTotal: new Counter({ ...METRICS.healthFeedbackTotal, help: 'Feedback items, by outcome (joined, duplicate, rejected).', registers }),
    rejectedTotal: new Counter({ ...METRICS.healthRejectedTotal, help: 'Malformed prediction records and feedback, by kind and reason.', registers }),
    alertsFiring: new Gauge({ ...METRICS.healthAlertsFiring, help: 'Model health alerts firing now, by rule.', registers }),
  };
}
