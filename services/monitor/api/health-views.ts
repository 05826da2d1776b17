import type { Alert } from '../../../shared/generated/infermesh/events/v1/Alert.js';
import type { VersionHealth } from '../../../shared/generated/infermesh/monitor/v1/VersionHealth.js';
import { invalidArgument } from '../../../shared/errors/index.js';
import type { AlertRow, VersionHealthView } from '../health/index.js';

const ns = (ms: number) => (BigInt(Math.floor(ms)) * 1_000_000n).toString();
/** NaN (no figure) goes on the wire as 0 with the sample count saying there is none; JSON views keep null. */
const num = (v: number) => (Number.isFinite(v) ? v : 0);

/** A VersionHealth message of monitor.proto. */
export function versionHealthMessage(v: VersionHealthView): VersionHealth {
  const figure = (f: VersionHealthView['features'][number]) => ({
    name: f.name,
    kind: f.kind,
    psi: num(f.psi),
    test: f.test,
    statistic: num(f.statistic),
    pValue: num(f.pValue),
    referenceSamples: String(f.referenceSamples),
    windowSamples: String(f.windowSamples),
    psiThreshold: f.psiThreshold,
    pValueThreshold: f.pValueThreshold,
    drifting: f.drifting,
  });
  const q = v.quality;
  return {
    version: v.version,
    records: String(v.records),
    referenceSource: v.referenceSource,
    referenceSamples: String(v.referenceSamples),
    windowSamples: String(v.windowSamples),
    features: v.features.map(figure),
    outputs: v.outputs.map(figure),
    quality: { task: q.task, samples: String(q.samples), accuracy: num(q.accuracy), precision: num(q.precision), recall: num(q.recall), f1: num(q.f1), mae: num(q.mae), rmse: num(q.rmse) },
    history: v.history.map((p) => ({ timeUnixNano: ns(p.timeMs), psi: p.psi, accuracy: p.accuracy ?? 0, feedbackSamples: String(p.feedbackSamples), mae: p.mae ?? 0 })),
    windowStartUnixNano: ns(v.windowStartMs),
    windowEndUnixNano: ns(v.windowEndMs),
  };
}

/** A JSON view for the web page: NaN figures become null. */
export function versionHealthJson(v: VersionHealthView): unknown {
  return JSON.parse(JSON.stringify(v, (_k, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value)));
}

/** An infermesh.events.v1.Alert message. */
export function alertMessage(a: AlertRow): Alert {
  return {
    id: a.id,
    kind: a.kind,
    rule: a.rule,
    model: a.model,
    version: a.version,
    subject: a.subject,
    state: a.state === 'firing' ? 'ALERT_STATE_FIRING' : 'ALERT_STATE_RESOLVED',
    value: a.value,
    threshold: a.threshold,
    samples: String(a.samples),
    windowStartUnixNano: ns(a.windowStartMs),
    windowEndUnixNano: ns(a.windowEndMs),
    startedUnixNano: ns(a.startedMs),
    resolvedUnixNano: ns(a.resolvedMs),
    evidence: a.evidence,
    message: a.message,
  };
}

/** History points asked for: default 60, at most 1000. */
export function healthPoints(points: number | undefined): number {
  if (points === undefined || points === 0) return 60;
  if (!Number.isInteger(points) || points < 0 || points > 1000) throw invalidArgument(`points must be a whole number from 1 to 1000, got ${points}`);
  return points;
}
