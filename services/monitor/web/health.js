// The monitor page's model-health view (#/health?model=M): per version, drift
// per feature over time, accuracy over time (all versions side by side, e.g.
// production and canary), the current drift figures and quality, the alerts,
// and sample records linked to their traces. Plots are SVG drawn here; data is
// only inserted as text. app.js routes to window.infermeshHealth.show(params).
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const COLORS = ['#4f46e5', '#059669', '#d97706', '#dc2626', '#0891b2', '#7c3aed', '#db2777', '#65a30d'];
  const REFRESH_MS = 5000;
  let timer;
  let current = { model: '', version: '' };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  // A monitor started with --auth answers the API with 401 until the page sends a token with
  // traces:read; the operator pastes it once, and it is kept for this tab only (sessionStorage).
  const TOKEN_KEY = 'infermesh-token';
  async function api(path) {
    const headers = { accept: 'application/json' };
    const kept = sessionStorage.getItem(TOKEN_KEY);
    if (kept) headers.authorization = `Bearer ${kept}`;
    let res = await fetch(path, { headers });
    if (res.status === 401) {
      const token = window.prompt('This monitor requires a token with traces:read (infermesh tokens create --scope traces:read):');
      if (token && token.trim()) {
        sessionStorage.setItem(TOKEN_KEY, token.trim());
        res = await fetch(path, { headers: { ...headers, authorization: `Bearer ${token.trim()}` } });
      }
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
    return body;
  }
  const fmt = (v, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));
  const fmtP = (v) => (v === null || v === undefined ? '–' : v < 1e-4 ? v.toExponential(1) : v.toFixed(4));
  const clock = (ms) => new Date(ms).toLocaleTimeString();

  /**
   * A line chart: series [{ name, color, points: [{ t, v }] }], optional
   * dashed `threshold`, y from 0 to max (or `yMax`). Clicking a point calls
   * onPoint(series, point).
   */
  function lineChart({ id, series, threshold, yMax, yLabel, onPoint }) {
    const W = 560, H = 200, L = 44, R = 12, T = 12, B = 26;
    const all = series.flatMap((s) => s.points);
    const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, class: 'health-chart', 'data-chart': id, role: 'img', 'aria-label': yLabel });
    if (all.length === 0) {
      svg.append(svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'chart-empty' }, 'no data yet'));
      return svg;
    }
    const t0 = Math.min(...all.map((p) => p.t));
    const t1 = Math.max(...all.map((p) => p.t), t0 + 1);
    const top = yMax ?? (Math.max(threshold ?? 0, ...all.map((p) => p.v)) * 1.1 || 1);
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - Math.min(v, top) / top) * (H - T - B);
    for (let i = 0; i <= 4; i++) {
      const v = (top * i) / 4;
      svg.append(svgEl('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
      svg.append(svgEl('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, v >= 10 ? v.toFixed(0) : v.toFixed(2)));
    }
    svg.append(svgEl('text', { x: L, y: H - 6, class: 'axis' }, clock(t0)));
    svg.append(svgEl('text', { x: W - R, y: H - 6, 'text-anchor': 'end', class: 'axis' }, clock(t1)));
    if (threshold !== undefined) svg.append(svgEl('line', { x1: L, x2: W - R, y1: y(threshold), y2: y(threshold), class: 'threshold' }));
    series.forEach((s) => {
      if (s.points.length === 0) return;
      const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
      svg.append(svgEl('path', { d, class: 'series', stroke: s.color, 'data-series': s.name }));
      for (const p of s.points) {
        const dot = svgEl('circle', { cx: x(p.t), cy: y(p.v), r: 3, fill: s.color, class: 'point' });
        dot.append(svgEl('title', {}, `${s.name} ${fmt(p.v)} at ${clock(p.t)}`));
        if (onPoint) dot.addEventListener('click', () => onPoint(s, p));
        svg.append(dot);
      }
    });
    return svg;
  }

  function legend(series) {
    return el('div', { class: 'legend' }, series.map((s) => el('span', { class: 'legend-item' }, el('span', { class: 'swatch', style: `background:${s.color}` }), s.name)));
  }

  function driftTable(figures) {
    return el('table', { class: 'drift' },
      el('thead', {}, el('tr', {}, ['Name', 'Kind', 'PSI', 'Test', 'Statistic', 'p-value', 'Window', 'Reference'].map((h, i) => el('th', { class: i >= 2 && h !== 'Test' ? 'num' : '' }, h)))),
      el('tbody', {}, figures.map((f) => el('tr', { class: f.drifting ? 'drifting' : '', 'data-feature': f.name },
        el('td', {}, el('code', {}, f.name), f.drifting ? el('span', { class: 'badge error' }, 'drift') : null),
        el('td', {}, f.kind), el('td', { class: 'num' }, fmt(f.psi)), el('td', {}, f.test === 'ks' ? 'KS' : 'χ²'),
        el('td', { class: 'num' }, fmt(f.statistic)), el('td', { class: 'num' }, fmtP(f.pValue)),
        el('td', { class: 'num' }, f.windowSamples), el('td', { class: 'num' }, f.referenceSamples)))));
  }

  async function showRecords(model, version, aroundMs) {
    const box = $('health-records');
    box.hidden = false;
    setBox(box, el('p', { class: 'muted' }, 'loading records…'));
    try {
      const { records } = await api(`/api/health/records?model=${encodeURIComponent(model)}&version=${encodeURIComponent(version)}&limit=50`);
      const sorted = aroundMs ? records.slice().sort((a, b) => Math.abs(a.timeMs - aroundMs) - Math.abs(b.timeMs - aroundMs)).slice(0, 15) : records.slice(0, 15);
      setBox(box,
        el('div', { class: 'panel-head' }, el('h2', {}, `Sample records of ${model} v${version}`), aroundMs ? el('span', { class: 'muted' }, `nearest ${clock(aroundMs)}`) : null),
        el('table', { class: 'records' },
          el('thead', {}, el('tr', {}, el('th', {}, 'Time'), el('th', {}, 'Request'), el('th', {}, 'Predicted'), el('th', { class: 'num' }, 'Latency'), el('th', {}, 'Inputs'), el('th', {}, 'Trace'))),
          el('tbody', {}, sorted.map((r) => el('tr', { class: 'record-row' },
            el('td', {}, clock(r.timeMs)), el('td', {}, el('code', {}, r.requestId.slice(0, 18))), el('td', {}, r.predicted.map(String).join(', ')),
            el('td', { class: 'num' }, `${fmt(r.latencyMs, 2)} ms`),
            el('td', {}, el('code', {}, Object.entries(r.inputs).map(([k, v]) => `${k}=${v.map((n) => (typeof n === 'number' ? n.toFixed(2) : n)).join('|')}`).join(' '))),
            el('td', {}, r.traceId ? el('a', { href: `#/trace/${r.traceId}`, class: 'trace-link' }, r.traceId.slice(0, 8)) : el('span', { class: 'muted' }, 'not traced')))))));
    } catch (err) {
      setBox(box, el('div', { class: 'error-box' }, err.message));
    }
  }

  function setBox(node, ...children) {
    node.replaceChildren(...children.flat().filter(Boolean));
  }

  function versionCard(model, v, alerts) {
    const names = [...new Set(v.history.flatMap((p) => Object.keys(p.psi)))];
    const featureNames = new Set(v.features.map((f) => f.name));
    const driftSeries = names.filter((n) => featureNames.has(n)).map((n, i) => ({ name: n, color: COLORS[i % COLORS.length], points: v.history.filter((p) => p.psi[n] !== undefined).map((p) => ({ t: p.timeMs, v: p.psi[n] })) }));
    const outputSeries = names.filter((n) => !featureNames.has(n)).map((n, i) => ({ name: n, color: COLORS[(i + 3) % COLORS.length], points: v.history.filter((p) => p.psi[n] !== undefined).map((p) => ({ t: p.timeMs, v: p.psi[n] })) }));
    const threshold = (v.features[0] || v.outputs[0] || {}).psiThreshold;
    const q = v.quality;
    const qualityLine = !q.samples ? 'no feedback joined yet'
      : q.task === 'classification' ? `accuracy ${fmt(q.accuracy)} · precision ${fmt(q.precision)} · recall ${fmt(q.recall)} · F1 ${fmt(q.f1)} (macro) over ${q.samples} labelled rows`
        : `MAE ${fmt(q.mae, 4)} · RMSE ${fmt(q.rmse, 4)} over ${q.samples} rows`;
    const firing = alerts.filter((a) => a.version === v.version && a.state === 'firing');
    return el('section', { class: 'panel version-card', 'data-version': v.version },
      el('div', { class: 'panel-head' },
        el('h2', {}, `${model} v${v.version}`),
        firing.length ? el('span', { class: 'badge error' }, `${firing.length} firing`) : el('span', { class: 'badge ok' }, 'healthy'),
        el('span', { class: 'muted' }, `${v.records} records · reference ${v.referenceSource ? `${v.referenceSource}, ${v.referenceSamples} rows` : 'collecting'} · window ${v.windowSamples} rows`),
        el('a', { href: '#', class: 'records-link', onclick: (e) => { e.preventDefault(); showRecords(model, v.version); } }, 'sample records')),
      el('p', { class: 'quality', 'data-testid': 'quality' }, qualityLine),
      el('div', { class: 'charts' },
        el('figure', {}, el('figcaption', {}, 'Feature drift (PSI) over time'), lineChart({ id: `drift-${v.version}`, series: driftSeries, threshold, yLabel: 'PSI', onPoint: (_s, p) => showRecords(model, v.version, p.t) }), legend(driftSeries)),
        el('figure', {}, el('figcaption', {}, 'Output drift (PSI) over time'), lineChart({ id: `output-${v.version}`, series: outputSeries, threshold, yLabel: 'PSI', onPoint: (_s, p) => showRecords(model, v.version, p.t) }), legend(outputSeries))),
      v.features.length ? driftTable(v.features) : el('p', { class: 'muted' }, 'No reference yet: drift starts once the first records of this version are in.'),
      v.outputs.length ? driftTable(v.outputs) : null);
  }

  function alertList(alerts) {
    if (alerts.length === 0) return el('p', { class: 'muted', id: 'no-alerts' }, 'No alerts.');
    return el('ul', { class: 'alerts', id: 'health-alerts' }, alerts.map((a) => el('li', { class: `alert ${a.state}`, 'data-rule': a.rule, 'data-subject': a.subject },
      el('span', { class: `badge ${a.state === 'firing' ? 'error' : 'ok'}` }, a.state), el('strong', {}, `${a.kind}/${a.rule}`), ` v${a.version} `, a.subject ? el('code', {}, a.subject) : null,
      el('span', { class: 'muted' }, ` ${a.message} · since ${clock(a.startedMs)}${a.resolvedMs ? ` · resolved ${clock(a.resolvedMs)}` : ''}`))));
  }

  async function render() {
    const body = $('health-body');
    let models;
    try {
      ({ models } = await api('/api/health/models'));
    } catch (err) {
      setBox(body, el('div', { class: 'error-box' }, err.message));
      return;
    }
    const select = $('health-model');
    const names = models.map((m) => m.model);
    if (select.options.length !== names.length || [...select.options].some((o, i) => o.value !== names[i])) setBox(select, names.map((n) => el('option', { value: n }, n)));
    if (!current.model || !names.includes(current.model)) current.model = names[0] || '';
    select.value = current.model;
    if (!current.model) {
      setBox(body, el('p', { class: 'empty', id: 'no-health' }, 'No prediction records yet. Inference nodes publish them on NATS (records.sampleRate in a model\'s config.json); the monitor needs --nats.'));
      return;
    }
    try {
      const [health, { alerts }] = await Promise.all([
        api(`/api/health?model=${encodeURIComponent(current.model)}&points=120`),
        api(`/api/alerts?model=${encodeURIComponent(current.model)}&limit=50`),
      ]);
      const accuracySeries = health.versions.map((v, i) => ({ name: `v${v.version}`, color: COLORS[i % COLORS.length], points: v.history.filter((p) => p.accuracy !== null && p.feedbackSamples > 0).map((p) => ({ t: p.timeMs, v: p.accuracy })) }));
      setBox(body,
        el('section', { class: 'panel' }, el('div', { class: 'panel-head' }, el('h2', {}, 'Alerts')), alertList(alerts)),
        el('section', { class: 'panel' },
          el('div', { class: 'panel-head' }, el('h2', {}, 'Accuracy over time, per version'), el('span', { class: 'muted' }, 'from joined feedback')),
          lineChart({ id: 'accuracy', series: accuracySeries, yMax: 1, yLabel: 'accuracy', onPoint: (s, p) => showRecords(current.model, s.name.slice(1), p.t) }), legend(accuracySeries)),
        health.versions.map((v) => versionCard(current.model, v, alerts)));
      body.dataset.loaded = String(Date.now());
    } catch (err) {
      setBox(body, el('div', { class: 'error-box' }, err.message));
    }
  }

  function show(params) {
    current = { model: params.get('model') || current.model, version: '' };
    $('health-records').hidden = true;
    clearInterval(timer);
    render();
    timer = setInterval(() => {
      if ($('view-health').hidden) clearInterval(timer);
      else render();
    }, REFRESH_MS);
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('health-model').addEventListener('change', (e) => {
      location.hash = `#/health?model=${encodeURIComponent(e.target.value)}`;
    });
  });
  window.infermeshHealth = { show };
})();
