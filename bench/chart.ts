import type { CaseReport } from './report.js';

interface Series {
  label: string;
  color: string;
  dashed: boolean;
  points: { x: number; y: number }[];
}

const COLORS = { served: '#1f77b4', compute: '#2ca02c', transport: '#d62728', nobatch: '#9467bd' } as const;

/**
 * An SVG chart of one case: throughput and p99 latency against concurrency
 * (log scale) for the served node, the compute limit and the transport limit
 * (and the node with batching off); solid lines streaming, dashed unary.
 */
export function renderCaseChart(c: CaseReport): string {
  const W = 1000;
  const H = 420;
  const panels = [
    { title: 'throughput (requests/s)', x0: 70, value: (m: { throughput: number }) => m.throughput },
    { title: 'p99 latency (ms)', x0: 570, value: (m: { p99Ms: number }) => m.p99Ms },
  ];
  const modes = [...new Set(c.points.map((p) => p.mode))];
  const seriesFor = (panel: number): Series[] => {
    const out: Series[] = [];
    for (const mode of modes) {
      const pts = c.points.filter((p) => p.mode === mode).sort((a, b) => a.concurrency - b.concurrency);
      const dashed = mode === 'unary';
      for (const key of ['served', 'nobatch', 'transport'] as const) {
        const points = pts.filter((p) => p[key] && p[key].count > 0).map((p) => ({ x: p.concurrency, y: panel === 0 ? p[key]!.throughput : p[key]!.p99Ms }));
        if (points.length) out.push({ label: `${key === 'transport' ? 'transport limit' : key === 'nobatch' ? 'batching off' : 'served'} (${mode})`, color: COLORS[key], dashed, points });
      }
    }
    const compute = c.points.filter((p, i, all) => p.compute && all.findIndex((q) => q.concurrency === p.concurrency) === i).sort((a, b) => a.concurrency - b.concurrency);
    if (compute.length) {
      out.push({
        label: 'compute limit (in-process ORT)',
        color: COLORS.compute,
        dashed: false,
        points: compute.map((p) => ({ x: p.concurrency, y: panel === 0 ? p.compute!.throughput : p.compute!.p99Ms })),
      });
    }
    return out;
  };
  const xs = [...new Set(c.points.map((p) => p.concurrency))].sort((a, b) => a - b);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 120}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">${esc(c.name)}: ${esc(c.description)}</text>`);
  const legend = new Map<string, Series>();
  panels.forEach((panel, pi) => {
    const series = seriesFor(pi);
    for (const s of series) legend.set(s.label, s);
    const pw = 380;
    const ph = H - 90;
    const top = 50;
    const yMax = niceMax(Math.max(1e-9, ...series.flatMap((s) => s.points.map((p) => p.y))));
    const lx = (x: number) => Math.log2(x);
    const xMin = lx(xs[0] ?? 1);
    const xMax = Math.max(xMin + 1, lx(xs[xs.length - 1] ?? 2));
    const sx = (x: number) => panel.x0 + ((lx(x) - xMin) / (xMax - xMin)) * pw;
    const sy = (y: number) => top + ph - (y / yMax) * ph;
    parts.push(`<text x="${panel.x0 + pw / 2}" y="${top - 10}" text-anchor="middle" font-weight="bold">${panel.title}</text>`);
    parts.push(`<rect x="${panel.x0}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
    for (let k = 0; k <= 4; k++) {
      const v = (yMax * k) / 4;
      parts.push(`<line x1="${panel.x0}" x2="${panel.x0 + pw}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eee"/>`);
      parts.push(`<text x="${panel.x0 - 5}" y="${sy(v) + 4}" text-anchor="end">${fmtTick(v)}</text>`);
    }
    for (const x of xs) {
      parts.push(`<line x1="${sx(x)}" x2="${sx(x)}" y1="${top}" y2="${top + ph}" stroke="#eee"/>`);
      parts.push(`<text x="${sx(x)}" y="${top + ph + 15}" text-anchor="middle">${x}</text>`);
    }
    parts.push(`<text x="${panel.x0 + pw / 2}" y="${top + ph + 32}" text-anchor="middle">concurrency (requests in flight)</text>`);
    for (const s of series) {
      const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
      for (const p of s.points) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
  });
  [...legend.values()].forEach((s, i) => {
    const x = 70 + (i % 3) * 300;
    const y = H + 10 + Math.floor(i / 3) * 20;
    parts.push(`<line x1="${x}" x2="${x + 30}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
    parts.push(`<text x="${x + 36}" y="${y + 4}">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmtTick(v: number): string {
  if (v >= 10_000) return `${(v / 1000).toFixed(0)}k`;
  if (v >= 100) return v.toFixed(0);
  return v.toPrecision(2).replace(/\.0+$/, '');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
