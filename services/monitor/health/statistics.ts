/**
 * The drift statistics of the model-health engine, in plain TypeScript (no
 * numeric library): the Population Stability Index over reference-quantile
 * bins, the two-sample Kolmogorov-Smirnov test with its asymptotic p-value,
 * and Pearson's chi-squared test of homogeneity. Tested against scipy
 * (test/unit/health-statistics.test.ts). Empty inputs give NaN, never a throw.
 */

/** Proportions below this are raised to it in PSI, so an empty bin does not make it infinite (Evidently's convention). */
export const PSI_EPSILON = 1e-4;

/** Default number of PSI bins (deciles of the reference). */
export const DEFAULT_PSI_BINS = 10;

/**
 * Inner bin edges at the reference's quantiles (`bins` - 1 of them, duplicates
 * removed, so a feature with few distinct values gets fewer bins). Bin i holds
 * values v with edges[i-1] < v <= edges[i]; the outer bins are open.
 */
export function quantileEdges(sortedReference: ArrayLike<number>, bins = DEFAULT_PSI_BINS): number[] {
  const n = sortedReference.length;
  if (n === 0) return [];
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const pos = (i / bins) * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    const q = sortedReference[lo]! + (sortedReference[hi]! - sortedReference[lo]!) * (pos - lo);
    if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q);
  }
  return edges;
}

/** Counts of `values` in the bins that `edges` (ascending inner edges) delimit: edges.length + 1 counts. */
export function binCounts(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // First edge >= v (binary search): v lands in that bin.
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edges[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    counts[lo]!++;
  }
  return counts;
}

/**
 * PSI = sum over bins of (w - r) * ln(w / r), with r and w the reference's and
 * the window's share of each bin (each at least {@link PSI_EPSILON}). NaN when
 * either side is empty. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 shifted.
 */
export function psiFromCounts(reference: readonly number[], window: readonly number[]): number {
  const rTotal = reference.reduce((a, b) => a + b, 0);
  const wTotal = window.reduce((a, b) => a + b, 0);
  if (rTotal === 0 || wTotal === 0) return NaN;
  let psi = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max(reference[i]! / rTotal, PSI_EPSILON);
    const w = Math.max((window[i] ?? 0) / wTotal, PSI_EPSILON);
    psi += (w - r) * Math.log(w / r);
  }
  return psi;
}

/** The two-sample KS test: the statistic D = sup |F_ref - F_win| and its asymptotic two-sided p-value. */
export interface KsResult {
  statistic: number;
  pValue: number;
}

/** Two-sample Kolmogorov-Smirnov on sorted samples; NaN figures when either is empty. */
export function ks2Sample(sortedA: ArrayLike<number>, sortedB: ArrayLike<number>): KsResult {
  const n = sortedA.length;
  const m = sortedB.length;
  if (n === 0 || m === 0) return { statistic: NaN, pValue: NaN };
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const a = sortedA[i]!;
    const b = sortedB[j]!;
    const x = a <= b ? a : b;
    while (i < n && sortedA[i]! <= x) i++;
    while (j < m && sortedB[j]! <= x) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const en = (n * m) / (n + m);
  return { statistic: d, pValue: kolmogorovSf(Math.sqrt(en) * d) };
}

/**
 * P(K > x) for the Kolmogorov distribution (scipy.special.kolmogorov,
 * scipy.stats.kstwobign.sf): the limit of sqrt(n) * D_n.
 */
export function kolmogorovSf(x: number): number {
  if (!(x > 0)) return 1;
  if (x < 1) {
    // The theta-function form converges fast for small x: P(K <= x) = sqrt(2 pi)/x * sum exp(-(2k-1)^2 pi^2 / (8 x^2)).
    let cdf = 0;
    for (let k = 1; k <= 50; k++) {
      const term = Math.exp(-((2 * k - 1) ** 2) * Math.PI * Math.PI / (8 * x * x));
      cdf += term;
      if (term < 1e-17) break;
    }
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / x) * cdf));
  }
  let sf = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * x * x);
    sf += (k % 2 === 1 ? 2 : -2) * term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, sf));
}

/** Pearson's chi-squared test: the statistic, its degrees of freedom and the p-value. */
export interface ChiSquaredResult {
  statistic: number;
  dof: number;
  pValue: number;
}

/**
 * Chi-squared test of homogeneity between two count vectors over the same
 * categories (a 2 x k contingency table, no continuity correction:
 * scipy.stats.chi2_contingency(..., correction=False)). Categories empty on
 * both sides are left out. NaN figures when a side is empty or fewer than two
 * categories remain.
 */
export function chiSquaredHomogeneity(reference: readonly number[], window: readonly number[]): ChiSquaredResult {
  const cols: Array<[number, number]> = [];
  for (let i = 0; i < Math.max(reference.length, window.length); i++) {
    const r = reference[i] ?? 0;
    const w = window[i] ?? 0;
    if (r + w > 0) cols.push([r, w]);
  }
  const rTotal = cols.reduce((a, c) => a + c[0], 0);
  const wTotal = cols.reduce((a, c) => a + c[1], 0);
  if (rTotal === 0 || wTotal === 0 || cols.length < 2) return { statistic: NaN, dof: Math.max(0, cols.length - 1), pValue: NaN };
  const total = rTotal + wTotal;
  let chi2 = 0;
  for (const [r, w] of cols) {
    const colTotal = r + w;
    const er = (rTotal * colTotal) / total;
    const ew = (wTotal * colTotal) / total;
    chi2 += (r - er) ** 2 / er + (w - ew) ** 2 / ew;
  }
  const dof = cols.length - 1;
  return { statistic: chi2, dof, pValue: chiSquaredSf(chi2, dof) };
}

/** P(X > x) for X ~ chi-squared(dof): the regularized upper incomplete gamma Q(dof/2, x/2). */
export function chiSquaredSf(x: number, dof: number): number {
  if (!(x > 0)) return 1;
  return regularizedGammaQ(dof / 2, x / 2);
}

/** ln Gamma(z) (Lanczos, g = 7, 9 terms; ~15 significant digits for z > 0). */
function logGamma(z: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  z -= 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Q(a, x) = Gamma(a, x) / Gamma(a): a series below a + 1, Lentz's continued fraction above (Numerical Recipes 6.2). */
export function regularizedGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return Math.min(1, Math.max(0, 1 - sum * Math.exp(lnPrefix)));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.min(1, Math.max(0, Math.exp(lnPrefix) * h));
}
