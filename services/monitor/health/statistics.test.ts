import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { binCounts, chiSquaredHomogeneity, chiSquaredSf, kolmogorovSf, ks2Sample, psiFromCounts, quantileEdges } from './statistics.js';

/** Deterministic normal samples (Box-Muller over a fixed LCG). */
function normals(n: number, mean: number, sd: number, seed: number): number[] {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);

/** Runs a python3 snippet with numpy/scipy (Debian's python3-scipy); `data` arrives as the JSON variable `d`. */
function scipy(code: string, data: unknown): any {
  const script = `import json, sys\nimport numpy as np\nfrom scipy import stats, special\nd = json.loads(sys.stdin.read())\n${code}`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(data) }).toString());
}

describe('PSI', () => {
  it('matches a hand computation', () => {
    // r = [0.5, 0.5], w = [0.25, 0.75]: (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5)
    expect(psiFromCounts([50, 50], [25, 75])).toBeCloseTo(-0.25 * Math.log(0.5) + 0.25 * Math.log(1.5), 12);
    expect(psiFromCounts([10, 10, 10], [10, 10, 10])).toBe(0);
  });

  it('matches numpy over reference-decile bins for a shifted normal', () => {
    const ref = sorted(normals(2000, 0, 1, 1));
    const win = normals(500, 0.5, 1, 2);
    const edges = quantileEdges(ref);
    const ours = psiFromCounts(binCounts(ref, edges), binCounts(win, edges));
    const theirs = scipy(
      `ref = np.array(d['ref']); win = np.array(d['win'])
edges = np.quantile(ref, np.arange(1, 10) / 10)
r = np.bincount(np.searchsorted(edges, ref, side='left'), minlength=10) / len(ref)
w = np.bincount(np.searchsorted(edges, win, side='left'), minlength=10) / len(win)
r = np.maximum(r, 1e-4); w = np.maximum(w, 1e-4)
print(json.dumps(float(np.sum((w - r) * np.log(w / r)))))`,
      { ref, win },
    );
    expect(ours).toBeCloseTo(theirs, 10);
    expect(ours).toBeGreaterThan(0.1);
  });

  it('is NaN for an empty window and finite for a single value', () => {
    const edges = quantileEdges(sorted(normals(100, 0, 1, 3)));
    expect(psiFromCounts(binCounts(normals(100, 0, 1, 3), edges), binCounts([], edges))).toBeNaN();
    expect(Number.isFinite(psiFromCounts(binCounts(normals(100, 0, 1, 3), edges), binCounts([0.1], edges)))).toBe(true);
    expect(quantileEdges([])).toEqual([]);
    expect(quantileEdges([2, 2, 2])).toEqual([2]);
  });
});

describe('Kolmogorov-Smirnov', () => {
  it('matches scipy.stats.ks_2samp (statistic) and kstwobign (asymptotic p-value)', () => {
    const cases = [
      { a: normals(400, 0, 1, 4), b: normals(300, 0, 1, 5) },
      { a: normals(400, 0, 1, 6), b: normals(300, 0.3, 1, 7) },
      { a: normals(50, 0, 1, 8), b: normals(7, 1, 2, 9) },
      { a: [1, 2, 2, 3, 3, 3], b: [2, 3, 3, 4] },
    ];
    const theirs = scipy(
      `out = []
for c in d:
    r = stats.ks_2samp(c['a'], c['b'], method='asymp')
    n, m = len(c['a']), len(c['b'])
    out.append([float(r.statistic), float(stats.kstwobign.sf(np.sqrt(n * m / (n + m)) * r.statistic)), float(r.pvalue)])
print(json.dumps(out))`,
      cases,
    );
    cases.forEach((c, i) => {
      const ours = ks2Sample(sorted(c.a), sorted(c.b));
      expect(ours.statistic).toBeCloseTo(theirs[i][0], 12);
      expect(ours.pValue).toBeCloseTo(theirs[i][1], 9);
    });
    // Large samples: the asymptotic p-value agrees with scipy's own two-sample p-value.
    expect(ks2Sample(sorted(cases[1]!.a), sorted(cases[1]!.b)).pValue).toBeCloseTo(theirs[1][2], 2);
  });

  it('matches scipy.special.kolmogorov across its range', () => {
    const xs = [0.05, 0.2, 0.5, 0.8, 0.99, 1, 1.2, 2, 3.5];
    const theirs = scipy(`print(json.dumps([float(special.kolmogorov(x)) for x in d]))`, xs);
    xs.forEach((x, i) => expect(kolmogorovSf(x)).toBeCloseTo(theirs[i], 12));
  });

  it('handles empty and single-value samples', () => {
    expect(ks2Sample([], [1, 2]).statistic).toBeNaN();
    const single = ks2Sample([0.5], [0.1, 0.2, 0.3]);
    expect(single.statistic).toBe(1);
    const theirs = scipy(`r = stats.ks_2samp([0.5], [0.1, 0.2, 0.3], method='asymp'); print(json.dumps(float(r.statistic)))`, null);
    expect(single.statistic).toBe(theirs);
    expect(ks2Sample([1], [1]).statistic).toBe(0);
  });
});

describe('chi-squared', () => {
  it('matches a worked example by hand', () => {
    // Reference 50/30/20, window 30/30/40 (n = 100 each): expected 40/30/30 per side.
    const r = chiSquaredHomogeneity([50, 30, 20], [30, 30, 40]);
    expect(r.statistic).toBeCloseTo((2 * 10 ** 2) / 40 + 0 + (2 * 10 ** 2) / 30, 12);
    expect(r.dof).toBe(2);
    // dof 2: the survival function is exp(-x/2).
    expect(r.pValue).toBeCloseTo(Math.exp(-r.statistic / 2), 12);
  });

  it('matches scipy.stats.chi2_contingency(correction=False) and chi2.sf', () => {
    const cases = [
      { r: [120, 80, 40, 10], w: [30, 30, 20, 20] },
      { r: [500, 500], w: [260, 240] },
      { r: [5, 0, 7, 9, 1], w: [3, 2, 0, 8, 4] },
    ];
    const theirs = scipy(
      `out = []
for c in d:
    t = np.array([c['r'], c['w']]); t = t[:, t.sum(axis=0) > 0]
    chi2, p, dof, _ = stats.chi2_contingency(t, correction=False)
    out.append([float(chi2), float(p), int(dof)])
print(json.dumps(out))`,
      cases,
    );
    cases.forEach((c, i) => {
      const ours = chiSquaredHomogeneity(c.r, c.w);
      expect(ours.statistic).toBeCloseTo(theirs[i][0], 10);
      expect(ours.pValue).toBeCloseTo(theirs[i][1], 10);
      expect(ours.dof).toBe(theirs[i][2]);
    });
    const sf = scipy(`print(json.dumps([float(stats.chi2.sf(x, k)) for x, k in d]))`, [[0.5, 1], [3.84, 1], [20, 5], [150, 30], [7, 12]]);
    [[0.5, 1], [3.84, 1], [20, 5], [150, 30], [7, 12]].forEach(([x, k], i) => expect(chiSquaredSf(x!, k!)).toBeCloseTo(sf[i], 12));
  });

  it('is NaN for an empty window or a single category', () => {
    expect(chiSquaredHomogeneity([10, 10], [0, 0]).pValue).toBeNaN();
    expect(chiSquaredHomogeneity([10, 0], [5, 0]).pValue).toBeNaN();
  });
});
