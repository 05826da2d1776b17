// The infermesh monitor's web page: a trace search, a waterfall of one trace
// with span details, and a per-model overview. Plain browser JavaScript, no
// build step and nothing fetched from elsewhere; it reads the monitor's JSON
// API (/api/traces, /api/traces/:id, /api/services, /api/operations,
// /api/overview). Data is only ever inserted as text, never as HTML.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  /** Creates an element: el('a', { href: '#', class: 'x' }, 'text', child). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'style') node.style.cssText = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Replaces a node's children, skipping null/false (replaceChildren would print them). */
  function setChildren(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
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

  // ---- formatting -------------------------------------------------------

  /** A duration in nanoseconds as 523 µs, 4.21 ms or 1.23 s. */
  function fmtDuration(ns) {
    ns = Number(ns);
    if (ns === 0) return '0';
    if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 1 : 0)} µs`;
    if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
    return `${(ns / 1e9).toFixed(2)} s`;
  }

  const pad2 = (n) => String(n).padStart(2, '0');
  function fmtClock(ms) {
    const d = new Date(ms);
    return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  }
  function fmtDateTime(ms) {
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${fmtClock(ms)}`;
  }
  function fmtAgo(ms) {
    const s = Math.max(0, (Date.now() - ms) / 1000);
    if (s < 60) return `${Math.floor(s)}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ago`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
    return `${Math.floor(s / 86400)}d ago`;
  }
  const nsToMs = (ns) => Number(BigInt(ns) / 1000000n);
  const shortId = (id) => id.slice(0, 8);

  const PALETTE = ['#3b82f6', '#10b981', '#f59e0b', '#8b5cf6', '#ec4899', '#14b8a6', '#f97316', '#6366f1'];
  function serviceColor(name) {
    let h = 0;
    for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return PALETTE[h % PALETTE.length];
  }
  const serviceChip = (name) => el('span', { class: 'chip', style: `--c:${serviceColor(name)}` }, name);

  // ---- routing ------------------------------------------------------------

  function route() {
    const hash = location.hash.replace(/^#/, '') || '/traces';
    const [path, query = ''] = hash.split('?');
    const params = new URLSearchParams(query);
    for (const view of document.querySelectorAll('.view')) view.hidden = true;
    for (const a of document.querySelectorAll('[data-nav]')) a.classList.remove('active');
    const traceMatch = /^\/trace\/([0-9a-fA-F]+)$/.exec(path);
    if (traceMatch) {
      $('view-trace').hidden = false;
      document.querySelector('[data-nav="traces"]').classList.add('active');
      showTrace(traceMatch[1].toLowerCase(), params.get('span'));
    } else if (path === '/health') {
      $('view-health').hidden = false;
      document.querySelector('[data-nav="health"]').classList.add('active');
      window.infermeshHealth.show(params);
    } else if (path === '/models') {
      $('view-models').hidden = false;
      document.querySelector('[data-nav="models"]').classList.add('active');
      showModels();
    } else {
      $('view-traces').hidden = false;
      document.querySelector('[data-nav="traces"]').classList.add('active');
      showSearch(params);
    }
  }

  // ---- trace search ---------------------------------------------------

  const FILTERS = ['service', 'operation', 'model', 'version', 'status', 'minDurationMs', 'lookbackMinutes', 'attr', 'order', 'limit'];
  let lastSearch = '#/traces';
  let servicesLoaded = false;

  async function loadServices() {
    if (servicesLoaded) return;
    servicesLoaded = true;
    try {
      const { services } = await api('/api/services');
      const select = $('f-service');
      for (const s of services) select.append(el('option', { value: s }, s));
    } catch {
      servicesLoaded = false;
    }
  }

  async function loadOperations(service, selected) {
    const select = $('f-operation');
    setChildren(select, el('option', { value: '' }, 'all operations'));
    try {
      const { operations } = await api('/api/operations' + (service ? `?service=${encodeURIComponent(service)}` : ''));
      for (const op of operations) select.append(el('option', { value: op }, op));
      select.value = selected || '';
    } catch {
      /* the list stays at "all operations" */
    }
  }

  function formToParams() {
    const form = $('search-form');
    const params = new URLSearchParams();
    for (const name of FILTERS) {
      const value = (form.elements[name].value || '').trim();
      if (value !== '') params.set(name, value);
    }
    return params;
  }

  function paramsToForm(params) {
    const form = $('search-form');
    for (const name of FILTERS) {
      if (name === 'operation') continue;
      const field = form.elements[name];
      const fallback = name === 'lookbackMinutes' ? '60' : name === 'order' ? 'newest' : name === 'limit' ? '50' : '';
      const value = params.get(name) ?? fallback;
      if (field.tagName === 'SELECT' && value && ![...field.options].some((o) => o.value === value)) field.append(el('option', { value }, value));
      field.value = value;
    }
  }

  async function showSearch(params) {
    lastSearch = location.hash || '#/traces';
    await loadServices();
    paramsToForm(params);
    await loadOperations(params.get('service') || '', params.get('operation'));
    const query = new URLSearchParams(params);
    if (!query.has('lookbackMinutes')) query.set('lookbackMinutes', '60');
    if (!query.has('limit')) query.set('limit', '50');
    $('search-error').hidden = true;
    try {
      const { traces } = await api('/api/traces?' + query.toString());
      renderTraceRows(traces);
    } catch (err) {
      $('search-error').textContent = err.message;
      $('search-error').hidden = false;
      renderTraceRows([]);
    }
  }

  function renderTraceRows(traces) {
    const tbody = $('trace-rows');
    const longest = Math.max(1, ...traces.map((t) => Number(t.durationNano)));
    $('result-count').textContent = traces.length === 1 ? '1 trace' : `${traces.length} traces`;
    $('no-traces').hidden = traces.length > 0;
    $('trace-table').hidden = traces.length === 0;
    setChildren(tbody,
      ...traces.map((t) => {
        const href = `#/trace/${t.traceId}`;
        const startMs = nsToMs(t.startTimeUnixNano);
        const pct = Math.max(0.5, (Number(t.durationNano) / longest) * 100);
        const row = el(
          'tr',
          { class: 'trace-row', 'data-trace-id': t.traceId, onclick: (e) => { if (!e.target.closest('a')) location.hash = href; } },
          el('td', {},
            el('a', { href, class: 'trace-name' }, el('span', { class: 'dot', style: `--c:${serviceColor(t.rootService)}` }), `${t.rootService}: `, el('strong', {}, t.rootName)),
            el('div', { class: 'mono muted small' }, t.traceId)),
          el('td', {}, t.services.map(serviceChip)),
          el('td', { class: 'num' }, String(t.spanCount), t.errorCount > 0 ? el('span', { class: 'badge error', title: 'spans with status ERROR' }, `${t.errorCount} error${t.errorCount > 1 ? 's' : ''}`) : null),
          el('td', { class: 'dur-col' },
            el('div', { class: 'dur-cell' },
              el('div', { class: 'dur-track' }, el('div', { class: `dur-bar${t.errorCount ? ' error' : ''}`, style: `width:${pct}%` })),
              el('span', { class: 'dur-text' }, fmtDuration(t.durationNano)))),
          el('td', { title: fmtDateTime(startMs) }, fmtClock(startMs), el('div', { class: 'muted small' }, fmtAgo(startMs))),
        );
        return row;
      }),
    );
  }

  // ---- one trace ------------------------------------------------------

  /** Spans in tree order (children after their parent, siblings by start time), with depth. */
  function spanTree(spans) {
    const ids = new Set(spans.map((s) => s.spanId));
    const children = new Map();
    const roots = [];
    for (const s of spans) {
      if (s.parentSpanId && ids.has(s.parentSpanId)) {
        if (!children.has(s.parentSpanId)) children.set(s.parentSpanId, []);
        children.get(s.parentSpanId).push(s);
      } else roots.push(s);
    }
    const byStart = (a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1);
    const out = [];
    const visit = (s, depth) => {
      out.push({ span: s, depth });
      for (const c of (children.get(s.spanId) || []).sort(byStart)) visit(c, depth + 1);
    };
    for (const r of roots.sort(byStart)) visit(r, 0);
    return out;
  }

  let currentTrace = null;

  async function showTrace(traceId, spanId) {
    $('back-link').href = lastSearch;
    $('trace-error').hidden = true;
    if (!currentTrace || currentTrace.traceId !== traceId) {
      $('trace-title').textContent = 'Loading…';
      setChildren($('trace-meta'));
      setChildren($('wf-rows'));
      $('span-details').hidden = true;
      try {
        const { spans } = await api(`/api/traces/${traceId}`);
        currentTrace = { traceId, spans };
      } catch (err) {
        currentTrace = null;
        $('trace-title').textContent = `Trace ${traceId}`;
        $('trace-error').textContent = err.message;
        $('trace-error').hidden = false;
        return;
      }
      renderTrace(currentTrace);
    }
    const target = currentTrace.spans.find((s) => s.spanId === spanId) || spanTree(currentTrace.spans)[0].span;
    selectSpan(target, Boolean(spanId));
  }

  function renderTrace({ traceId, spans }) {
    const start = spans.reduce((m, s) => (BigInt(s.startTimeUnixNano) < m ? BigInt(s.startTimeUnixNano) : m), BigInt(spans[0].startTimeUnixNano));
    const end = spans.reduce((m, s) => (BigInt(s.endTimeUnixNano) > m ? BigInt(s.endTimeUnixNano) : m), 0n);
    const total = Math.max(1, Number(end - start));
    const tree = spanTree(spans);
    const root = tree[0].span;
    const services = [...new Set(spans.map((s) => s.service))].sort();
    const errors = spans.filter((s) => s.statusCode === 'ERROR').length;
    currentTrace.start = start;
    currentTrace.total = total;

    setChildren($('trace-title'), el('span', { class: 'dot big', style: `--c:${serviceColor(root.service)}` }), `${root.service}: `, el('strong', {}, root.name));
    setChildren($('trace-meta'),
      el('span', {}, 'Trace ', el('code', { 'data-testid': 'trace-id' }, traceId)),
      el('span', {}, 'Started ', el('b', {}, fmtDateTime(Number(start / 1000000n)))),
      el('span', {}, 'Duration ', el('b', {}, fmtDuration(total))),
      el('span', {}, el('b', {}, String(spans.length)), ' spans'),
      errors ? el('span', { class: 'badge error' }, `${errors} error${errors > 1 ? 's' : ''}`) : null,
      el('span', { class: 'chips' }, services.map(serviceChip)),
    );

    // Time axis: five ticks across the trace.
    setChildren($('wf-axis'),
      ...[0, 0.25, 0.5, 0.75, 1].map((f) => el('span', { class: 'tick', style: `left:${f * 100}%` }, el('span', {}, fmtDuration(Math.round(total * f))))),
    );

    setChildren($('wf-rows'),
      ...tree.map(({ span, depth }) => {
        const offset = Number(BigInt(span.startTimeUnixNano) - start);
        const duration = Number(span.durationNano);
        const left = (offset / total) * 100;
        const width = Math.max((duration / total) * 100, 0.2);
        const labelInside = left + width > 72;
        const isError = span.statusCode === 'ERROR';
        return el(
          'div',
          {
            class: `wf-row${isError ? ' error' : ''}`,
            'data-span-id': span.spanId,
            'data-span-name': span.name,
            tabindex: '0',
            onclick: () => navigateToSpan(span.traceId, span.spanId),
            onkeydown: (e) => { if (e.key === 'Enter') navigateToSpan(span.traceId, span.spanId); },
          },
          el('div', { class: 'wf-name-col', style: `padding-left:${10 + depth * 16}px` },
            depth > 0 ? el('span', { class: 'tree-line' }) : null,
            el('span', { class: 'dot', style: `--c:${serviceColor(span.service)}` }),
            el('span', { class: 'svc' }, span.service),
            el('span', { class: 'op', title: span.name }, span.name),
            span.kind === 'SERVER' || span.kind === 'CLIENT' ? el('span', { class: 'kind' }, span.kind.toLowerCase()) : null,
            span.links.length ? el('span', { class: 'link-count', title: `links to ${span.links.length} span(s)` }, `⇢ ${span.links.length}`) : null,
            span.linkedFrom.length ? el('span', { class: 'link-count', title: `linked from ${span.linkedFrom.length} span(s)` }, `⇠ ${span.linkedFrom.length}`) : null,
            isError ? el('span', { class: 'err-mark', title: span.statusMessage }, '!') : null),
          el('div', { class: 'wf-time-col' },
            el('div', { class: 'wf-grid' }),
            el('div', { class: 'wf-bar', style: `left:${left}%;width:${width}%;--c:${isError ? '#dc2626' : serviceColor(span.service)}` },
              labelInside ? el('span', { class: 'wf-label inside' }, fmtDuration(duration)) : null),
            labelInside ? null : el('span', { class: 'wf-label', style: `left:calc(${left + width}% + 6px)` }, fmtDuration(duration))),
        );
      }),
    );
  }

  function navigateToSpan(traceId, spanId) {
    location.hash = `#/trace/${traceId}?span=${spanId}`;
  }

  function linkItem(link, label) {
    const sameTrace = currentTrace && link.traceId === currentTrace.traceId;
    return el('li', {},
      el('a', { href: `#/trace/${link.traceId}?span=${link.spanId}`, class: 'span-link', 'data-testid': label, 'data-trace-id': link.traceId, 'data-span-id': link.spanId },
        link.service ? el('span', { class: 'dot', style: `--c:${serviceColor(link.service)}` }) : null,
        link.name ? `${link.service}: ${link.name}` : 'span not in the monitor'),
      el('span', { class: 'mono muted small' }, ` ${sameTrace ? 'this trace' : 'trace ' + shortId(link.traceId)} · span ${link.spanId}`),
      link.attributes && link.attributes.length ? el('span', { class: 'muted small' }, ' · ' + link.attributes.map((a) => `${a.key}=${a.value}`).join(', ')) : null);
  }

  function attributeTable(attributes) {
    if (!attributes.length) return el('p', { class: 'muted small' }, 'none');
    return el('table', { class: 'kv' },
      el('tbody', {}, attributes.map((a) => el('tr', {}, el('th', {}, a.key), el('td', { class: a.type === 'string' ? '' : 'typed' }, a.value)))));
  }

  function selectSpan(span, scroll) {
    for (const row of document.querySelectorAll('.wf-row')) row.classList.toggle('selected', row.dataset.spanId === span.spanId);
    const offset = Number(BigInt(span.startTimeUnixNano) - currentTrace.start);
    const status = span.statusCode === 'ERROR' ? el('span', { class: 'badge error' }, 'ERROR') : el('span', { class: 'badge ok' }, span.statusCode === 'OK' ? 'OK' : 'unset');
    const panel = $('span-details');
    panel.hidden = false;
    setChildren(panel,
      el('div', { class: 'details-head' },
        el('h2', {}, el('span', { class: 'dot big', style: `--c:${serviceColor(span.service)}` }), `${span.service}: `, el('strong', { 'data-testid': 'detail-name' }, span.name)),
        status),
      el('div', { class: 'facts' },
        fact('Duration', fmtDuration(span.durationNano)),
        fact('Offset', '+' + fmtDuration(offset)),
        fact('Kind', span.kind.toLowerCase()),
        fact('Span', span.spanId, true),
        fact('Parent', span.parentSpanId || '(root)', true),
        fact('Scope', span.scopeName || '–')),
      span.statusMessage ? el('div', { class: 'error-box' }, span.statusMessage) : null,
      span.links.length
        ? el('section', { class: 'links' }, el('h3', {}, span.name === 'batch' ? 'Requests served by this batch' : 'Links'), el('ul', {}, span.links.map((l) => linkItem(l, 'span-link'))))
        : null,
      span.linkedFrom.length
        ? el('section', { class: 'links' },
            el('h3', {}, span.linkedFrom.some((l) => l.name === 'batch') ? 'Served by batch' : 'Linked from'),
            el('ul', {}, span.linkedFrom.map((l) => linkItem(l, 'linked-from'))))
        : null,
      el('section', {}, el('h3', {}, 'Attributes'), attributeTable(span.attributes)),
      span.events.length
        ? el('section', {}, el('h3', {}, 'Events'),
            el('ul', { class: 'events' }, span.events.map((e) =>
              el('li', {}, el('span', { class: 'mono' }, '+' + fmtDuration(Number(BigInt(e.timeUnixNano) - currentTrace.start))), ' ', el('b', {}, e.name),
                e.attributes.length ? el('span', { class: 'muted small' }, ' ' + e.attributes.map((a) => `${a.key}=${a.value}`).join(', ')) : null))))
        : null,
      el('details', {}, el('summary', {}, `Resource (${span.resource.length})`), attributeTable(span.resource)),
    );
    if (scroll) {
      const row = document.querySelector(`.wf-row[data-span-id="${span.spanId}"]`);
      if (row) row.scrollIntoView({ block: 'nearest' });
    }
  }

  function fact(label, value, mono) {
    return el('div', { class: 'fact' }, el('span', { class: 'muted small' }, label), el('span', { class: mono ? 'mono' : '' }, value));
  }

  // ---- models ---------------------------------------------------------

  function sparkline(values) {
    const w = 160;
    const h = 28;
    const max = Math.max(1, ...values);
    const step = values.length > 1 ? w / (values.length - 1) : w;
    const points = values.map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`).join(' ');
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    svg.setAttribute('class', 'spark');
    const area = document.createElementNS(ns, 'polygon');
    area.setAttribute('points', `0,${h} ${points} ${w},${h}`);
    area.setAttribute('class', 'spark-area');
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', points);
    line.setAttribute('class', 'spark-line');
    svg.append(area, line);
    return svg;
  }

  async function showModels() {
    const minutes = $('overview-window').value;
    let overview;
    try {
      overview = await api(`/api/overview?minutes=${minutes}`);
    } catch (err) {
      setChildren($('model-rows'), el('tr', {}, el('td', { colspan: '8', class: 'error-box' }, err.message)));
      return;
    }
    const models = overview.models;
    $('no-models').hidden = models.length > 0;
    $('model-table').hidden = models.length === 0;
    setChildren($('model-rows'),
      ...models.map((m) => {
        const href = `#/traces?model=${encodeURIComponent(m.model)}&version=${encodeURIComponent(m.version)}&lookbackMinutes=${minutes}`;
        const errPct = m.errorRate * 100;
        return el('tr', { class: 'model-row', 'data-model': m.model },
          el('td', {}, el('a', { href }, el('strong', {}, m.model))),
          el('td', {}, m.version || '–'),
          el('td', { class: 'num' }, Number(m.requests).toLocaleString()),
          el('td', { class: 'num' }, m.requestsPerSecond >= 10 ? m.requestsPerSecond.toFixed(0) : m.requestsPerSecond > 0 && m.requestsPerSecond < 0.01 ? '<0.01' : m.requestsPerSecond.toFixed(2)),
          el('td', { class: `num ${errPct >= 5 ? 'bad' : errPct > 0 ? 'warn' : 'good'}` }, `${errPct.toFixed(errPct > 0 && errPct < 1 ? 2 : 1)}%`),
          el('td', { class: 'num' }, fmtDuration(m.p50Ms * 1e6)),
          el('td', { class: 'num' }, fmtDuration(m.p99Ms * 1e6)),
          el('td', {}, sparkline(m.requestsPerMinute.map(Number))));
      }),
    );
  }

  // ---- wiring -----------------------------------------------------------

  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const hash = '#/traces?' + formToParams().toString();
    if (location.hash === hash) route();
    else location.hash = hash;
  });
  $('f-service').addEventListener('change', (e) => loadOperations(e.target.value, ''));
  $('overview-window').addEventListener('change', showModels);
  window.addEventListener('hashchange', route);
  route();
})();
