import type { Alert__Output } from '../../../shared/monitor-client/index.js';
import type { GetModelHealthResponse__Output } from '../../../shared/generated/infermesh/monitor/v1/GetModelHealthResponse.js';
import type { DriftFigure__Output } from '../../../shared/generated/infermesh/monitor/v1/DriftFigure.js';

const fixed = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const pval = (v: number, samples: number) => (samples === 0 ? '-' : v < 1e-4 ? v.toExponential(1) : v.toFixed(4));
const time = (ns: string) => (Number(ns) > 0 ? new Date(Number(BigInt(ns) / 1_000_000n)).toISOString().replace('T', ' ').slice(0, 19) : '-');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => '  ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n') + '\n';
}

function driftTable(figures: DriftFigure__Output[]): string {
  const rows = [['name', 'kind', 'PSI', 'test', 'statistic', 'p-value', 'window', 'reference', '']];
  for (const f of figures) {
    const samples = Number(f.windowSamples);
    rows.push([f.name, f.kind, samples ? fixed(f.psi) : '-', f.test, samples ? fixed(f.statistic) : '-', pval(f.pValue, samples), String(samples), f.referenceSamples, f.drifting ? 'DRIFT' : '']);
  }
  return table(rows);
}

/** `infermesh models health` output: per version, the reference, drift per feature and output, quality, firing alerts. */
export function renderHealth(health: GetModelHealthResponse__Output, alerts: readonly Alert__Output[]): string {
  let out = `model ${health.model}\n`;
  for (const v of health.versions) {
    out += `\nversion ${v.version}: ${v.records} records; reference ${v.referenceSource ? `${v.referenceSource} (${v.referenceSamples} rows)` : 'not yet (collecting the first records)'}; window ${v.windowSamples} rows ${time(v.windowStartUnixNano)} .. ${time(v.windowEndUnixNano)}\n`;
    const threshold = v.features[0] ?? v.outputs[0];
    if (threshold) out += `  thresholds: PSI > ${threshold.psiThreshold} drifts; p-value < ${threshold.pValueThreshold} significant\n`;
    if (v.features.length) out += ' features\n' + driftTable(v.features);
    if (v.outputs.length) out += ' outputs\n' + driftTable(v.outputs);
    const q = v.quality;
    const samples = Number(q?.samples ?? 0);
    if (!q || samples === 0) out += ' quality: no feedback joined yet\n';
    else if (q.task === 'classification') out += ` quality (${samples} labelled rows): accuracy ${fixed(q.accuracy)}  precision ${fixed(q.precision)}  recall ${fixed(q.recall)}  F1 ${fixed(q.f1)} (macro)\n`;
    else out += ` quality (${samples} rows): MAE ${fixed(q.mae, 4)}  RMSE ${fixed(q.rmse, 4)}\n`;
  }
  out += alerts.length ? `\nfiring alerts\n${alerts.map((a) => '  ' + renderAlert(a)).join('\n')}\n` : '\nno firing alerts\n';
  return out;
}

/** One alert on one line. */
export function renderAlert(a: Alert__Output): string {
  const state = a.state === 'ALERT_STATE_FIRING' ? 'FIRING  ' : 'resolved';
  return `${state} ${time(a.state === 'ALERT_STATE_FIRING' ? a.startedUnixNano : a.resolvedUnixNano)}  ${a.kind}/${a.rule}  ${a.model} v${a.version}${a.subject ? ` ${a.subject}` : ''}  value ${fixed(a.value)} threshold ${fixed(a.threshold)} (${a.samples} samples)  ${a.message}`;
}
