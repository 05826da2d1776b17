import { binCounts, chiSquaredHomogeneity, ks2Sample, psiFromCounts, quantileEdges } from './statistics.js';

/** Reference values kept per numeric feature (an even subsample beyond it): enough for KS, bounded in size. */
export const MAX_REFERENCE_VALUES = 5000;

export interface NumericProfile {
  kind: 'numeric';
  /** Sorted reference values (at most MAX_REFERENCE_VALUES). */
  sample: number[];
  /** Inner PSI bin edges (reference deciles) and the reference's counts in those bins. */
  edges: number[];
  counts: number[];
}

export interface CategoricalProfile {
  kind: 'categorical';
  counts: Record<string, number>;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

/** A version's reference: what drift is measured against. */
export interface ReferenceProfile {
  /** `records`: the first N records after the version started serving; `file`: given at registration. */
  source: 'records' | 'file';
  /** Rows behind it. */
  samples: number;
  features: Record<string, FeatureProfile>;
  outputs: Record<string, FeatureProfile>;
}

/** One feature's drift over a window (see DriftFigure in monitor.proto). */
export interface DriftFigure {
  name: string;
  kind: 'numeric' | 'categorical';
  psi: number;
  test: 'ks' | 'chi2';
  statistic: number;
  pValue: number;
  referenceSamples: number;
  windowSamples: number;
}

function evenSubsample(sorted: number[], max: number): number[] {
  if (sorted.length <= max) return sorted;
  return Array.from({ length: max }, (_, i) => sorted[Math.floor((i * sorted.length) / max)]!);
}

/** Profiles numeric values: sorted sample, decile edges, counts. Non-finite values are left out. */
export function numericProfile(values: readonly number[]): NumericProfile {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const edges = quantileEdges(sorted);
  return { kind: 'numeric', sample: evenSubsample(sorted, MAX_REFERENCE_VALUES), edges, counts: binCounts(sorted, edges) };
}

export function categoricalProfile(values: readonly string[]): CategoricalProfile {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return { kind: 'categorical', counts };
}

/** The drift of `window` values against a profile: PSI plus KS (numeric) or chi-squared (categorical). */
export function driftOf(name: string, profile: FeatureProfile, window: readonly (number | string)[]): DriftFigure {
  if (profile.kind === 'numeric') {
    const values = (window as number[]).filter(Number.isFinite).sort((a, b) => a - b);
    const ks = ks2Sample(profile.sample, values);
    const referenceSamples = profile.counts.reduce((a, b) => a + b, 0);
    return { name, kind: 'numeric', psi: psiFromCounts(profile.counts, binCounts(values, profile.edges)), test: 'ks', statistic: ks.statistic, pValue: ks.pValue, referenceSamples, windowSamples: values.length };
  }
  const windowCounts: Record<string, number> = {};
  for (const v of window) windowCounts[String(v)] = (windowCounts[String(v)] ?? 0) + 1;
  const categories = [...new Set([...Object.keys(profile.counts), ...Object.keys(windowCounts)])].sort();
  const ref = categories.map((c) => profile.counts[c] ?? 0);
  const win = categories.map((c) => windowCounts[c] ?? 0);
  const chi = chiSquaredHomogeneity(ref, win);
  return { name, kind: 'categorical', psi: psiFromCounts(ref, win), test: 'chi2', statistic: chi.statistic, pValue: chi.pValue, referenceSamples: ref.reduce((a, b) => a + b, 0), windowSamples: window.length };
}
