import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Registry } from 'prom-client';
import { Code, invalidArgument } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { ensureStream } from '../../../shared/nats/index.js';
import {
  ALERTS_STREAM_SPEC,
  FEEDBACK_STREAM_SPEC,
  PREDICTIONS_STREAM_SPEC,
  alertCodec,
  alertsSubject,
  feedbackCodec,
  MAX_RECORDS_PER_MESSAGE,
  PREDICTION_RECORD_BATCH_TYPE,
  PREDICTION_RECORD_TYPE,
  PREDICTIONS_MESSAGE_HEADER,
  predictionRecordBatchCodec,
  predictionRecordCodec,
  type Feedback__Output,
  type PredictionRecordBatch__Output,
  type PredictionRecord__Output,
} from '../../../shared/monitor-client/index.js';
import type { SpanStore } from '../store/index.js';
import { DEFAULT_ALERT_RULES, rulesFor, type AlertRulesConfig, type ModelAlertRules } from './alert-rules.js';
import { categoricalProfile, driftOf, numericProfile, type DriftFigure, type FeatureProfile, type ReferenceProfile } from './drift.js';
import { createDurableConsumer, type DurableConsumer } from './durable-consumer.js';
import { joinFeedback, type FeedbackOutcome } from './feedback-join.js';
import { createHealthMetrics, type HealthMetrics } from './health-metrics.js';
import type { AlertRow, HealthPointRow, HealthStore, StoredRecord } from './health-store.js';
import { PREDICTED_CLASS, MalformedRecordError, extractRecordFeatures, type RecordFeatures } from './record-features.js';
import { classificationQuality, regressionQuality } from './quality.js';
import { createReferenceLookups, followReferenceEvents, type ReferenceFetcher } from './registry-reference.js';
import { defineDefaults, resolveOptions } from '../../../shared/options/index.js';

/** Defaults of {@link HealthEngineOptions}. */
export const DEFAULT_HEALTH_ENGINE_OPTIONS = defineDefaults({
  /** Records that make a version's reference when none was given at registration. */
  referenceRecords: 500,
  /** Newest records in the drift window. */
  windowRecords: 500,
  /** Records older than this leave the drift window: 15 minutes. */
  windowMs: 15 * 60_000,
  /** Newest joined feedback rows in the quality window. */
  qualityWindowFeedback: 1000,
  /** Feedback older than this leaves the quality window: 1 hour. */
  qualityWindowMs: 60 * 60_000,
  /** How often figures, gauges, history and alerts are recomputed. */
  evaluateIntervalMs: 10_000,
  /** Prefix of the durable consumer names (`<prefix>-predictions`, `<prefix>-feedback`). */
  durablePrefix: 'monitor',
} as const);

export interface HealthEngineOptions {
  store: HealthStore;
  /** Inference spans, for the error-rate and p99 rules. */
  spans?: SpanStore;
  /** Without NATS the engine only answers from its store and SubmitFeedback. */
  nc?: NatsConnection;
  /** The monitor's Prometheus registry. */
  registry: Registry;
  rules?: AlertRulesConfig;
  referenceRecords?: number;
  /**
   * Where a version's reference given at registration comes from (the
   * registry's GetReference). Asked when a version's first record arrives;
   * while it cannot answer, the version gets no first-records reference.
   * With `nc`, the registry's ReferenceSet events refresh the versions they name.
   * Default: none (references only from SetReference and first records).
   */
  referenceFetcher?: ReferenceFetcher;
  /** Wait before asking the fetcher again after it failed. Default: 15000 ms. */
  referenceRetryMs?: number;
  windowRecords?: number;
  windowMs?: number;
  qualityWindowFeedback?: number;
  qualityWindowMs?: number;
  evaluateIntervalMs?: number;
  durablePrefix?: string;
  logger: Logger;
  now?: () => number;
}

/** Figures of one version (GetModelHealth's VersionHealth, in ms). */
export interface VersionHealthView {
  version: string;
  records: number;
  referenceSource: 'records' | 'file' | '';
  referenceSamples: number;
  windowSamples: number;
  windowStartMs: number;
  windowEndMs: number;
  features: Array<DriftFigure & { psiThreshold: number; pValueThreshold: number; drifting: boolean }>;
  outputs: Array<DriftFigure & { psiThreshold: number; pValueThreshold: number; drifting: boolean }>;
  quality: { task: string; samples: number; accuracy: number; precision: number; recall: number; f1: number; mae: number; rmse: number };
  history: HealthPointRow[];
}

export interface HealthEngine {
  start(): Promise<void>;
  /** Recomputes every version's figures now (also runs every evaluateIntervalMs): gauges, history, alerts. */
  evaluate(): Promise<void>;
  /** Joins feedback items (SubmitFeedback); one outcome per item. */
  submitFeedback(items: readonly Feedback__Output[]): FeedbackOutcome[];
  /** Figures per version of a model (the last evaluation's, computed now when there is none). */
  health(model: string, version?: string, points?: number): VersionHealthView[];
  alerts(options: { model?: string; firingOnly?: boolean; limit?: number }): AlertRow[];
  /**
   * Stores reference data given at registration for a version's input features
   * (its outputs are still profiled from its first records). Replaces any
   * reference it had. Throws INVALID_ARGUMENT for an empty or oversized set.
   */
  setReference(model: string, version: string, features: ReadonlyArray<{ name: string; values: readonly number[]; categories: readonly string[] }>, rows: number): number;
  /** Models and their versions with records. */
  models(): Array<{ model: string; versions: string[] }>;
  /** The newest sample records of a version (for the page's links to traces). */
  records(model: string, version: string, limit: number): Array<{ requestId: string; traceId: string; node: string; timeMs: number; latencyMs: number; predicted: Array<string | number>; inputs: Record<string, Array<number | string>> }>;
  /**
   * Stores one decoded record (what the PREDICTIONS consumer does) under its identity `id`
   * (stream sequence x MAX_RECORDS_PER_MESSAGE + index in the message); false for a
   * redelivery. Throws MalformedRecordError.
   */
  ingestRecord(record: PredictionRecord__Output, id: number): boolean;
  close(): Promise<void>;
}

/** Limits of SetReference. */
export const MAX_REFERENCE_FEATURES = 256;
export const MAX_REFERENCE_FEATURE_VALUES = 100_000;

type FigureWithBounds = VersionHealthView['features'][number];

function gather(records: StoredRecord[]) {
  const values = new Map<string, Array<number | string>>();
  const push = (name: string, list: ReadonlyArray<number | string>) => {
    let into = values.get(name);
    if (!into) values.set(name, (into = []));
    for (const v of list) into.push(v);
  };
  for (const r of records) {
    const f = r.features;
    for (const [k, v] of Object.entries(f.numeric)) push(`in:${k}`, v);
    for (const [k, v] of Object.entries(f.categorical)) push(`in:${k}`, v);
    for (const [k, v] of Object.entries(f.outputs)) push(`out:${k}`, v);
    if (f.task === 'classification') push(`out:${PREDICTED_CLASS}`, f.predicted);
  }
  return values;
}

/** Builds a reference profile from records (the first N after the version started serving). */
export function profileFromRecords(records: StoredRecord[]): ReferenceProfile {
  const features: Record<string, FeatureProfile> = {};
  const outputs: Record<string, FeatureProfile> = {};
  const categorical = new Set<string>();
  for (const r of records) for (const k of Object.keys(r.features.categorical)) categorical.add(`in:${k}`);
  for (const [key, list] of gather(records)) {
    const [side, name] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    const isCategorical = categorical.has(key) || (side === 'out' && name === PREDICTED_CLASS);
    const profile = isCategorical ? categoricalProfile(list.map(String)) : numericProfile(list as number[]);
    (side === 'in' ? features : outputs)[name] = profile;
  }
  const samples = records.reduce((a, r) => a + r.features.rows, 0);
  return { source: 'records', samples, features, outputs };
}

const finiteOr = (v: number, fallback: number | null = null) => (Number.isFinite(v) ? v : fallback);

interface AlertState {
  pendingSinceMs?: number;
  firing?: AlertRow;
}

export function createHealthEngine(options: HealthEngineOptions): HealthEngine {
  const o = resolveOptions(DEFAULT_HEALTH_ENGINE_OPTIONS, options);
  const { store, logger } = o;
  const now = o.now ?? Date.now;
  const rules = o.rules ?? { default: DEFAULT_ALERT_RULES, models: {} };
  const metrics: HealthMetrics = createHealthMetrics(o.registry);
  const consumers: DurableConsumer[] = [];
  const cache = new Map<string, VersionHealthView>();
  const alertStates = new Map<string, AlertState>();
  let timer: NodeJS.Timeout | undefined;
  let evaluating: Promise<void> | undefined;
  let closed = false;
  let unfollow: (() => void) | undefined;

  // Alerts still firing from before a restart continue (and are not published again).
  for (const a of store.alerts({ firingOnly: true, limit: 10_000 })) alertStates.set(`${a.model}/${a.version}/${a.rule}/${a.subject}`, { firing: a, pendingSinceMs: a.startedMs });

  const setReference: HealthEngine['setReference'] = (model, version, features, rows) => {
    if (!model || !version) throw invalidArgument('model and version are required');
    if (features.length === 0) throw invalidArgument('the reference has no features');
    if (features.length > MAX_REFERENCE_FEATURES) throw invalidArgument(`the reference has ${features.length} features; at most ${MAX_REFERENCE_FEATURES}`);
    const profiles: Record<string, FeatureProfile> = {};
    for (const f of features) {
      if (!f.name) throw invalidArgument('a reference feature has no name');
      const count = f.values.length + f.categories.length;
      if (count === 0 || count > MAX_REFERENCE_FEATURE_VALUES) throw invalidArgument(`reference feature '${f.name}' has ${count} values; expected 1 to ${MAX_REFERENCE_FEATURE_VALUES}`);
      if (f.values.length > 0 && f.categories.length > 0) throw invalidArgument(`reference feature '${f.name}' has both values and categories`);
      profiles[f.name] = f.categories.length > 0 ? categoricalProfile(f.categories) : numericProfile(f.values);
    }
    store.setReference(model, version, { source: 'file', samples: rows || Math.max(...features.map((f) => f.values.length + f.categories.length)), features: profiles, outputs: {} }, 0);
    cache.delete(`${model}\u0000${version}`);
    return features.length;
  };

  const lookups = o.referenceFetcher
    ? createReferenceLookups({
        fetch: o.referenceFetcher,
        apply: (model, version, reference) => setReference(model, version, reference.columns, reference.totalRows),
        hasReference: (model, version) => store.reference(model, version) !== undefined,
        ...(o.referenceRetryMs === undefined ? {} : { retryMs: o.referenceRetryMs }),
        now,
        logger,
      })
    : undefined;

  const ingestRecord = (record: PredictionRecord__Output, id: number): boolean => {
    const features: RecordFeatures = extractRecordFeatures(record);
    lookups?.request(record.model, record.version);
    return store.insertRecord({
      seq: id,
      model: record.model,
      version: record.version,
      requestId: record.requestId,
      traceId: record.traceId,
      node: record.node,
      timeMs: Math.floor(Number(record.timeUnixNano) / 1e6),
      latencyMs: Number(record.latencyNano) / 1e6,
      features,
    });
  };

  const countFeedback = (outcomes: FeedbackOutcome[]) => {
    for (const out of outcomes) {
      if (out.code !== Code.OK) {
        metrics.feedbackTotal.inc({ outcome: 'rejected' });
        metrics.rejectedTotal.inc({ kind: 'feedback', reason: out.code === Code.NOT_FOUND ? 'unknown_id' : 'invalid' });
      } else metrics.feedbackTotal.inc({ outcome: out.duplicate ? 'duplicate' : 'joined' });
    }
    return outcomes;
  };

  const publishAlert = async (alert: AlertRow) => {
    if (!o.nc || o.nc.isClosed()) return;
    try {
      await ensureStream(o.nc, ALERTS_STREAM_SPEC);
      const ns = (ms: number) => (BigInt(Math.floor(ms)) * 1_000_000n).toString();
      await jetstream(o.nc).publish(
        alertsSubject(alert.kind),
        alertCodec.encode({
          id: alert.id,
          kind: alert.kind,
          rule: alert.rule,
          model: alert.model,
          version: alert.version,
          subject: alert.subject,
          state: alert.state === 'firing' ? 'ALERT_STATE_FIRING' : 'ALERT_STATE_RESOLVED',
          value: alert.value,
          threshold: alert.threshold,
          samples: String(alert.samples),
          windowStartUnixNano: ns(alert.windowStartMs),
          windowEndUnixNano: ns(alert.windowEndMs),
          startedUnixNano: ns(alert.startedMs),
          resolvedUnixNano: ns(alert.resolvedMs),
          evidence: alert.evidence,
          message: alert.message,
        }),
        { msgID: `${alert.id}/${alert.state}` },
      );
    } catch (err) {
      logger.warn('alert not published (stored; shown by the monitor)', { err, alert: alert.id });
    }
  };

  /** One rule's verdict for one subject this evaluation; undefined when the window is too thin to judge. */
  interface Verdict {
    kind: string;
    rule: string;
    subject: string;
    breached: boolean;
    value: number;
    threshold: number;
    samples: number;
    forMs: number;
    evidence: Record<string, number>;
    message: string;
  }

  const applyVerdicts = async (model: string, version: string, verdicts: Verdict[], windowStartMs: number, windowEndMs: number) => {
    const t = now();
    for (const v of verdicts) {
      const key = `${model}/${version}/${v.rule}/${v.subject}`;
      const state = alertStates.get(key) ?? {};
      alertStates.set(key, state);
      if (v.breached) {
        state.pendingSinceMs ??= t;
        if (!state.firing && t - state.pendingSinceMs >= v.forMs) {
          const alert: AlertRow = {
            id: `${key}/${t}`,
            kind: v.kind,
            rule: v.rule,
            model,
            version,
            subject: v.subject,
            state: 'firing',
            value: v.value,
            threshold: v.threshold,
            samples: v.samples,
            windowStartMs,
            windowEndMs,
            startedMs: t,
            resolvedMs: 0,
            evidence: v.evidence,
            message: v.message,
          };
          state.firing = alert;
          store.upsertAlert(alert);
          metrics.alertsFiring.inc({ model, version, rule: v.rule });
          logger.info('alert firing', { alert: alert.id, value: v.value, threshold: v.threshold });
          await publishAlert(alert);
        }
      } else {
        state.pendingSinceMs = undefined;
        if (state.firing) {
          const resolved: AlertRow = { ...state.firing, state: 'resolved', resolvedMs: t, value: v.value, samples: v.samples, windowStartMs, windowEndMs, evidence: v.evidence, message: `resolved: ${v.message}` };
          state.firing = undefined;
          store.upsertAlert(resolved);
          metrics.alertsFiring.dec({ model, version, rule: v.rule });
          logger.info('alert resolved', { alert: resolved.id, value: v.value });
          await publishAlert(resolved);
        }
      }
    }
  };

  const withBounds = (f: DriftFigure, r: ModelAlertRules): FigureWithBounds => ({
    ...f,
    psiThreshold: r.drift.psiThreshold,
    pValueThreshold: r.drift.pValueThreshold,
    drifting: Number.isFinite(f.psi) && f.psi > r.drift.psiThreshold && f.windowSamples >= r.drift.minSamples,
  });

  const computeVersion = (model: string, version: string, records: number, points: number): { view: VersionHealthView; verdicts: Verdict[] } => {
    const r = rulesFor(rules, model);
    const t = now();
    let reference = store.reference(model, version);
    if (reference?.source === 'file' && Object.keys(reference.outputs).length === 0) {
      // A reference file profiles the inputs; the outputs come from the first records. The
      // window keeps starting at the first record (lastSeq 0), so output drift reads low
      // until the window has moved past the records its reference was taken from.
      const first = store.firstRecords(model, version, o.referenceRecords);
      if (first.length >= o.referenceRecords) {
        const profile: ReferenceProfile = { ...reference, outputs: profileFromRecords(first).outputs };
        store.setReference(model, version, profile, 0);
        reference = { ...profile, lastSeq: 0 };
      }
    }
    if (!reference) lookups?.request(model, version);
    if (!reference && (!lookups || lookups.firstRecordsAllowed(model, version))) {
      const first = store.firstRecords(model, version, o.referenceRecords);
      if (first.length >= o.referenceRecords) {
        const profile = profileFromRecords(first);
        store.setReference(model, version, profile, first[first.length - 1]!.seq);
        reference = { ...profile, lastSeq: first[first.length - 1]!.seq };
      }
    }
    const quality = qualityOf(model, version, t);
    const view: VersionHealthView = {
      version,
      records,
      referenceSource: reference?.source ?? '',
      referenceSamples: reference?.samples ?? 0,
      windowSamples: 0,
      windowStartMs: 0,
      windowEndMs: 0,
      features: [],
      outputs: [],
      quality,
      history: [],
    };
    const verdicts: Verdict[] = [];
    if (reference) {
      const window = store.recentRecords(model, version, o.windowRecords, reference.lastSeq, t - o.windowMs);
      view.windowSamples = window.reduce((a, rec) => a + rec.features.rows, 0);
      view.windowStartMs = window.length ? window[window.length - 1]!.timeMs : 0;
      view.windowEndMs = window.length ? window[0]!.timeMs : 0;
      const values = gather(window);
      for (const [name, profile] of Object.entries(reference.features)) view.features.push(withBounds(driftOf(name, profile, values.get(`in:${name}`) ?? []), r));
      for (const [name, profile] of Object.entries(reference.outputs)) view.outputs.push(withBounds(driftOf(name, profile, values.get(`out:${name}`) ?? []), r));
      const driftVerdict = (f: FigureWithBounds, rule: string): Verdict | undefined =>
        f.windowSamples < r.drift.minSamples || !Number.isFinite(f.psi)
          ? undefined
          : {
              kind: 'drift',
              rule,
              subject: f.name,
              breached: f.psi > r.drift.psiThreshold,
              value: f.psi,
              threshold: r.drift.psiThreshold,
              samples: f.windowSamples,
              forMs: r.drift.forMs,
              evidence: { psi: f.psi, [`${f.test}_statistic`]: finiteOr(f.statistic, -1)!, [`${f.test}_pvalue`]: finiteOr(f.pValue, -1)!, reference_samples: f.referenceSamples },
              message: `${rule === 'feature_drift' ? 'feature' : 'output'} '${f.name}' of ${model} v${version}: PSI ${f.psi.toFixed(3)} (threshold ${r.drift.psiThreshold}), ${f.test} p=${f.pValue.toExponential(2)} over ${f.windowSamples} rows`,
            };
      for (const f of view.features) {
        const v = driftVerdict(f, 'feature_drift');
        if (v) verdicts.push(v);
      }
      if (r.drift.outputs) {
        for (const f of view.outputs) {
          const v = driftVerdict(f, 'output_drift');
          if (v) verdicts.push(v);
        }
      }
    }
    if (quality.task === 'classification' && quality.samples >= r.accuracy.minSamples) {
      if (r.accuracy.floor !== undefined) {
        verdicts.push({
          kind: 'quality', rule: 'accuracy_floor', subject: '', breached: quality.accuracy < r.accuracy.floor, value: quality.accuracy, threshold: r.accuracy.floor,
          samples: quality.samples, forMs: r.accuracy.forMs, evidence: { accuracy: quality.accuracy, f1: finiteOr(quality.f1, -1)! },
          message: `accuracy of ${model} v${version} is ${quality.accuracy.toFixed(3)} (floor ${r.accuracy.floor}) over ${quality.samples} labelled rows`,
        });
      }
    }
    return { view, verdicts };
  };

  const qualityOf = (model: string, version: string, t: number): VersionHealthView['quality'] => {
    const rows = store.recentFeedback(model, version, o.qualityWindowFeedback, t - o.qualityWindowMs);
    const empty = { task: '', samples: 0, accuracy: NaN, precision: NaN, recall: NaN, f1: NaN, mae: NaN, rmse: NaN };
    if (rows.length === 0) return empty;
    const pairs = rows.flatMap((f) => f.pairs);
    if (rows[0]!.task === 'classification') {
      const q = classificationQuality(pairs.map(([p, truth]) => [String(p), String(truth)] as const));
      return { ...empty, task: 'classification', ...q };
    }
    const q = regressionQuality(pairs.map(([p, truth]) => [Number(p), Number(truth)] as const));
    return { ...empty, task: 'regression', ...q };
  };

  const compareVersion = (a: string, b: string) => {
    const na = Number(a);
    const nb = Number(b);
    return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
  };

  const evaluateOnce = async () => {
    const t = now();
    const overview = o.spans ? await o.spans.queries.modelOverview(Math.max(1, Math.ceil(o.windowMs / 60_000))) : [];
    for (const model of store.models()) {
      const r = rulesFor(rules, model);
      const versions = store.versions(model).sort((a, b) => compareVersion(a.version, b.version));
      const computed = versions.map((v) => ({ ...v, ...computeVersion(model, v.version, v.records, 0) }));
      for (const [i, c] of computed.entries()) {
        const { view, verdicts } = c;
        // Accuracy against the previous version (the highest lower one with enough feedback).
        const previous = computed.slice(0, i).reverse().find((p) => p.view.quality.task === 'classification' && p.view.quality.samples >= r.accuracy.minSamples);
        if (r.accuracy.maxDrop !== undefined && previous && view.quality.task === 'classification' && view.quality.samples >= r.accuracy.minSamples) {
          const drop = previous.view.quality.accuracy - view.quality.accuracy;
          verdicts.push({
            kind: 'quality', rule: 'accuracy_drop', subject: '', breached: drop > r.accuracy.maxDrop, value: view.quality.accuracy, threshold: previous.view.quality.accuracy - r.accuracy.maxDrop,
            samples: view.quality.samples, forMs: r.accuracy.forMs, evidence: { accuracy: view.quality.accuracy, previous_accuracy: previous.view.quality.accuracy, previous_version: Number(previous.version) || 0, drop },
            message: `accuracy of ${model} v${c.version} is ${view.quality.accuracy.toFixed(3)}, ${drop.toFixed(3)} below v${previous.version} (${previous.view.quality.accuracy.toFixed(3)}; at most ${r.accuracy.maxDrop} allowed)`,
          });
        }
        const spans = overview.find((s) => s.model === model && s.version === c.version);
        if (spans && spans.requests >= r.errorRate.minSamples && r.errorRate.max !== undefined) {
          verdicts.push({
            kind: 'errors', rule: 'error_rate', subject: '', breached: spans.errorRate > r.errorRate.max, value: spans.errorRate, threshold: r.errorRate.max, samples: spans.requests, forMs: r.errorRate.forMs,
            evidence: { errors: spans.errors, requests: spans.requests }, message: `error rate of ${model} v${c.version} is ${(spans.errorRate * 100).toFixed(1)}% over ${spans.requests} traced requests (bound ${(r.errorRate.max * 100).toFixed(1)}%)`,
          });
        }
        if (spans && spans.requests >= r.p99Ms.minSamples && r.p99Ms.max !== undefined) {
          verdicts.push({
            kind: 'latency', rule: 'p99_latency', subject: '', breached: spans.p99Ms > r.p99Ms.max, value: spans.p99Ms, threshold: r.p99Ms.max, samples: spans.requests, forMs: r.p99Ms.forMs,
            evidence: { p50_ms: spans.p50Ms, p99_ms: spans.p99Ms }, message: `p99 latency of ${model} v${c.version} is ${spans.p99Ms.toFixed(1)} ms over ${spans.requests} traced requests (bound ${r.p99Ms.max} ms)`,
          });
        }
        updateGauges(model, c.version, view);
        const psi: Record<string, number> = {};
        for (const f of [...view.features, ...view.outputs]) if (Number.isFinite(f.psi)) psi[f.name] = f.psi;
        if (view.windowSamples > 0 || view.quality.samples > 0) {
          store.addPoint(model, c.version, { timeMs: t, psi, accuracy: finiteOr(view.quality.accuracy), feedbackSamples: view.quality.samples, mae: finiteOr(view.quality.mae) });
        }
        cache.set(`${model}\u0000${c.version}`, view);
        await applyVerdicts(model, c.version, verdicts, view.windowStartMs, view.windowEndMs);
      }
    }
    store.prune();
  };

  const updateGauges = (model: string, version: string, view: VersionHealthView) => {
    const labels = { model, version };
    for (const f of view.features) {
      if (Number.isFinite(f.psi)) metrics.featureDriftPsi.set({ ...labels, feature: f.name }, f.psi);
      if (Number.isFinite(f.pValue)) metrics.featureDriftPvalue.set({ ...labels, feature: f.name }, f.pValue);
    }
    for (const f of view.outputs) if (Number.isFinite(f.psi)) metrics.outputDriftPsi.set({ ...labels, output: f.name }, f.psi);
    const q = view.quality;
    metrics.feedbackSamples.set(labels, q.samples);
    if (Number.isFinite(q.accuracy)) metrics.accuracy.set(labels, q.accuracy);
    for (const metric of ['precision', 'recall', 'f1', 'mae', 'rmse'] as const) if (Number.isFinite(q[metric])) metrics.quality.set({ ...labels, metric }, q[metric]);
  };

  const evaluate = () => {
    // One evaluation at a time; a caller arriving during one waits for the next.
    const run = (evaluating ?? Promise.resolve()).then(() => evaluateOnce()).catch((err: unknown) => logger.error('health evaluation failed', { err }));
    evaluating = run;
    return run;
  };

  /** Stores one decoded record under its identity; a malformed one is counted and logged, and false returned. */
  const storeRecord = (record: PredictionRecord__Output, id: number, seq: number): boolean => {
    try {
      metrics.recordsTotal.inc({ outcome: ingestRecord(record, id) ? 'stored' : 'duplicate' });
      return true;
    } catch (err) {
      if (!(err instanceof MalformedRecordError)) throw err;
      metrics.recordsTotal.inc({ outcome: 'rejected' });
      metrics.rejectedTotal.inc({ kind: 'record', reason: err.reason });
      logger.warn('rejected a malformed prediction record', { seq, reason: err.reason, message: err.message });
      return false;
    }
  };

  const rejectMessage = (reason: string, message: string, seq: number, err?: unknown) => {
    metrics.recordsTotal.inc({ outcome: 'rejected' });
    metrics.rejectedTotal.inc({ kind: 'record', reason });
    logger.warn(`rejected a prediction record: ${message}`, { seq, err });
    return 'term' as const;
  };

  /**
   * One PREDICTIONS message: a PredictionRecordBatch (what nodes publish) or a
   * single PredictionRecord (no type header). Record `index` of the message
   * with stream sequence `seq` is stored as `seq * MAX_RECORDS_PER_MESSAGE +
   * index`, so a redelivered message, batch or not, is stored once.
   */
  const recordDisposition = (data: Uint8Array, seq: number, type: string | undefined) => {
    if (type === PREDICTION_RECORD_BATCH_TYPE) {
      let batch: PredictionRecordBatch__Output;
      try {
        batch = predictionRecordBatchCodec.decode(data);
      } catch (err) {
        return rejectMessage('decode', 'not an infermesh.events.v1.PredictionRecordBatch', seq, err);
      }
      const records = batch.records ?? [];
      if (records.length > MAX_RECORDS_PER_MESSAGE) return rejectMessage('batch_too_large', `a batch of ${records.length} records exceeds ${MAX_RECORDS_PER_MESSAGE}`, seq);
      let stored = 0;
      // Each record stands alone (INSERT OR IGNORE by identity): a redelivery after a failure mid-batch stores only what was missing.
      records.forEach((record, index) => {
        if (storeRecord(record, seq * MAX_RECORDS_PER_MESSAGE + index, seq)) stored++;
      });
      return stored > 0 || records.length === 0 ? ('ack' as const) : ('term' as const);
    }
    if (type !== undefined && type !== PREDICTION_RECORD_TYPE) return rejectMessage('unknown_type', `unknown ${PREDICTIONS_MESSAGE_HEADER} '${type}'`, seq);
    let record: PredictionRecord__Output;
    try {
      record = predictionRecordCodec.decode(data);
    } catch (err) {
      return rejectMessage('decode', 'not an infermesh.events.v1.PredictionRecord', seq, err);
    }
    return storeRecord(record, seq * MAX_RECORDS_PER_MESSAGE, seq) ? ('ack' as const) : ('term' as const);
  };

  const feedbackDisposition = (data: Uint8Array, subject: string) => {
    let item: Feedback__Output;
    try {
      item = feedbackCodec.decode(data);
    } catch (err) {
      metrics.feedbackTotal.inc({ outcome: 'rejected' });
      metrics.rejectedTotal.inc({ kind: 'feedback', reason: 'decode' });
      logger.warn('rejected feedback: not an infermesh.events.v1.Feedback', { subject, err });
      return 'term' as const;
    }
    const [outcome] = countFeedback([joinFeedback(store, item, now())]);
    if (outcome!.code !== Code.OK) logger.warn('rejected feedback', { subject, error: outcome!.error });
    return outcome!.code === Code.OK ? ('ack' as const) : ('term' as const);
  };

  return {
    async start() {
      if (o.nc) {
        await Promise.all([ensureStream(o.nc, PREDICTIONS_STREAM_SPEC), ensureStream(o.nc, FEEDBACK_STREAM_SPEC), ensureStream(o.nc, ALERTS_STREAM_SPEC)]);
        consumers.push(
          createDurableConsumer({ nc: o.nc, stream: PREDICTIONS_STREAM_SPEC, durableName: `${o.durablePrefix}-predictions`, logger, handle: (m) => recordDisposition(m.data, m.seq, m.headers?.get(PREDICTIONS_MESSAGE_HEADER) || undefined) }),
          createDurableConsumer({ nc: o.nc, stream: FEEDBACK_STREAM_SPEC, durableName: `${o.durablePrefix}-feedback`, logger, handle: (m) => feedbackDisposition(m.data, m.subject) }),
        );
        for (const c of consumers) await c.start();
        if (lookups) unfollow = followReferenceEvents(o.nc, lookups, logger);
      }
      timer = setInterval(() => void evaluate(), o.evaluateIntervalMs);
      timer.unref();
    },
    evaluate,
    submitFeedback: (items) => countFeedback(items.map((item) => joinFeedback(store, item, now()))),
    health(model, version, points = 60) {
      const versions = store.versions(model).filter((v) => !version || v.version === version);
      return versions.map((v) => {
        const view = cache.get(`${model}\u0000${v.version}`) ?? computeVersion(model, v.version, v.records, points).view;
        return { ...view, records: v.records, history: store.points(model, v.version, points) };
      });
    },
    alerts: ({ model, firingOnly, limit }) => store.alerts({ ...(model ? { model } : {}), firingOnly: firingOnly ?? false, limit: Math.min(1000, limit || 100) }),
    setReference,
    models() {
      const byModel = new Map<string, string[]>();
      for (const v of store.versions()) byModel.set(v.model, [...(byModel.get(v.model) ?? []), v.version]);
      return [...byModel].map(([model, versions]) => ({ model, versions: versions.sort(compareVersion) }));
    },
    records: (model, version, limit) =>
      store.recentRecords(model, version, limit, 0, 0).map((r) => ({
        requestId: r.requestId,
        traceId: r.traceId,
        node: r.node,
        timeMs: r.timeMs,
        latencyMs: r.latencyMs,
        predicted: r.features.predicted,
        inputs: { ...r.features.numeric, ...r.features.categorical },
      })),
    ingestRecord,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      unfollow?.();
      await lookups?.close();
      await Promise.all(consumers.map((c) => c.close()));
      await evaluating;
    },
  };
}
