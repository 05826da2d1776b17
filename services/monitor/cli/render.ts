import type { Span__Output } from '../../../shared/generated/infermesh/monitor/v1/Span.js';
import type { TraceSummary__Output } from '../../../shared/generated/infermesh/monitor/v1/TraceSummary.js';

/**
 * Terminal renderings of the Monitor API's answers: a trace list as a table,
 * one trace as an indented timeline (offset from the trace start, duration,
 * a bar showing where the span sits, service and name).
 */

/** A duration in nanoseconds as `523µs`, `4.21ms` or `1.23s`. */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0';
  if (ns < 1_000_000) return `${(ns / 1000).toFixed(ns < 10_000 ? 1 : 0)}µs`;
  if (ns < 1_000_000_000) return `${(ns / 1e6).toFixed(2)}ms`;
  return `${(ns / 1e9).toFixed(2)}s`;
}

function formatTime(unixNano: string): string {
  return new Date(Number(BigInt(unixNano) / 1_000_000n)).toISOString().replace('T', ' ').replace('Z', '');
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/** The trace list as a table, one trace per line. */
export function renderTraceList(traces: readonly TraceSummary__Output[]): string {
  if (traces.length === 0) return 'no traces match\n';
  const header = `${pad('TRACE ID', 32)}  ${pad('STARTED (UTC)', 23)}  ${pad('DURATION', 9, true)}  ${pad('SPANS', 5, true)}  ${pad('ERRORS', 6, true)}  ROOT`;
  const lines = traces.map(
    (t) =>
      `${t.traceId}  ${pad(formatTime(t.startTimeUnixNano), 23)}  ${pad(formatDuration(Number(t.durationNano)), 9, true)}  ${pad(String(t.spanCount), 5, true)}  ${pad(String(t.errorCount), 6, true)}  ${t.rootService}: ${t.rootName}`,
  );
  return [header, ...lines].join('\n') + '\n';
}

/** Spans in tree order (children after their parent, siblings by start), with their depth. */
export function spanTree(spans: readonly Span__Output[]): Array<{ span: Span__Output; depth: number }> {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, Span__Output[]>();
  const roots: Span__Output[] = [];
  for (const s of spans) {
    if (s.parentSpanId && ids.has(s.parentSpanId)) {
      const list = children.get(s.parentSpanId) ?? [];
      list.push(s);
      children.set(s.parentSpanId, list);
    } else {
      roots.push(s);
    }
  }
  const byStart = (a: Span__Output, b: Span__Output) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1);
  const out: Array<{ span: Span__Output; depth: number }> = [];
  const visit = (s: Span__Output, depth: number) => {
    out.push({ span: s, depth });
    for (const c of (children.get(s.spanId) ?? []).sort(byStart)) visit(c, depth + 1);
  };
  for (const r of roots.sort(byStart)) visit(r, 0);
  return out;
}

const BAR_WIDTH = 24;

/** One trace as an indented timeline. */
export function renderTrace(traceId: string, spans: readonly Span__Output[]): string {
  const start = spans.reduce((m, s) => (BigInt(s.startTimeUnixNano) < m ? BigInt(s.startTimeUnixNano) : m), BigInt(spans[0]!.startTimeUnixNano));
  const end = spans.reduce((m, s) => (BigInt(s.endTimeUnixNano) > m ? BigInt(s.endTimeUnixNano) : m), 0n);
  const total = Number(end - start) || 1;
  const services = new Set(spans.map((s) => s.service));
  const lines = [
    `trace ${traceId}: ${spans.length} spans, ${services.size} service${services.size === 1 ? '' : 's'}, ${formatDuration(total)}, started ${formatTime(start.toString())} UTC`,
    '',
    `${pad('OFFSET', 9, true)}  ${pad('DURATION', 9, true)}  ${pad('', BAR_WIDTH + 2)}  SPAN`,
  ];
  for (const { span, depth } of spanTree(spans)) {
    const offset = Number(BigInt(span.startTimeUnixNano) - start);
    const duration = Number(span.durationNano);
    const from = Math.min(BAR_WIDTH - 1, Math.floor((offset / total) * BAR_WIDTH));
    const width = Math.max(1, Math.round((duration / total) * BAR_WIDTH));
    const bar = ' '.repeat(from) + (span.statusCode === 'ERROR' ? '!' : '█').repeat(Math.min(width, BAR_WIDTH - from));
    const model = span.attributes.find((a) => a.key === 'infermesh.model.name')?.value;
    const version = span.attributes.find((a) => a.key === 'infermesh.model.version')?.value;
    const notes = [
      span.kind !== 'INTERNAL' && span.kind !== 'UNSPECIFIED' ? span.kind : '',
      model ? `model=${model}${version ? ` v${version}` : ''}` : '',
      span.statusCode === 'ERROR' ? `ERROR ${span.statusMessage}` : '',
      span.links.length ? `links: ${span.links.map((l) => `${l.name || 'span'} ${l.traceId === traceId ? '' : l.traceId + '/'}${l.spanId}`).join(', ')}` : '',
      span.linkedFrom.length ? `linked from: ${span.linkedFrom.map((l) => `${l.name || 'span'} ${l.traceId === traceId ? '' : l.traceId + '/'}${l.spanId}`).join(', ')}` : '',
    ].filter(Boolean);
    lines.push(
      `${pad('+' + formatDuration(offset), 9, true)}  ${pad(formatDuration(duration), 9, true)}  |${pad(bar, BAR_WIDTH)}|  ${'  '.repeat(depth)}${span.service}: ${span.name}${notes.length ? '  (' + notes.join('; ') + ')' : ''}`,
    );
  }
  return lines.join('\n') + '\n';
}
