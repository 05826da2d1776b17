import { ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import { ATTR_BATCH_SIZE, ATTR_DEVICE, ATTR_INSTANCE, ATTR_QUEUE_PRIORITY, SPAN_NAMES } from '../../../shared/telemetry/index.js';
import { isSampledContext, type VersionInstruments } from '../telemetry/index.js';

/**
 * The batching path's spans (DESIGN.md "Telemetry"), all made on the main
 * thread (sessions on worker threads are timed around the hand-off; no
 * OpenTelemetry runs inside a worker): `queue` per sampled request, child of
 * its server span; `batch` per executed batch, child of the first sampled
 * request it served and linked to every sampled request span; `ort.run`,
 * child of `batch`. Requests that are not sampled cost no span at all.
 */

/** What the executor needs of its version's instruments. */
export type ExecutorInstruments = Pick<VersionInstruments, 'tracer' | 'spanAttributes' | 'recordBatch' | 'setQueueDepth'>;

/** Offset from process.hrtime.bigint() milliseconds to epoch milliseconds (both clocks are monotonic here). */
const HR_TO_EPOCH_MS = performance.timeOrigin + performance.now() - Number(process.hrtime.bigint()) / 1e6;

/** An hrtime reading (ns) as epoch milliseconds, the time a span takes. */
export function hrToEpochMs(ns: bigint): number {
  return HR_TO_EPOCH_MS + Number(ns) / 1e6;
}

/** Link attribute that tells the monitor a batch link points at a request it served. */
const REQUEST_LINK = { 'infermesh.link.kind': 'request' } as const;

/** Starts the `queue` span of a request whose context is sampled; undefined otherwise. */
export function startQueueSpan(instruments: ExecutorInstruments | undefined, parent: Context | undefined, priority: number): Span | undefined {
  if (!instruments?.tracer || !isSampledContext(parent)) return undefined;
  return instruments.tracer.startSpan(SPAN_NAMES.queue, { attributes: { ...instruments.spanAttributes, [ATTR_QUEUE_PRIORITY]: priority } }, parent);
}

/** Ends a span, as an error with `err`'s message when given. */
export function endSpan(span: Span | undefined, err?: unknown, endTimeMs?: number): void {
  if (!span) return;
  if (err !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  span.end(endTimeMs);
}

/** Where a batch runs: its size (requests), device and instance index. */
export interface BatchPlacement {
  size: number;
  device: string;
  instance: number;
}

/**
 * Starts the `batch` span for the requests whose contexts are in `contexts`
 * (undefined entries: not sampled); undefined when none of them is sampled.
 */
export function startBatchSpan(instruments: ExecutorInstruments | undefined, contexts: readonly (Context | undefined)[], at: BatchPlacement): Span | undefined {
  if (!instruments?.tracer) return undefined;
  let parent: Context | undefined;
  const links: Link[] = [];
  for (const ctx of contexts) {
    if (!isSampledContext(ctx)) continue;
    parent ??= ctx;
    links.push({ context: trace.getSpanContext(ctx)!, attributes: REQUEST_LINK });
  }
  if (!parent) return undefined;
  return instruments.tracer.startSpan(
    SPAN_NAMES.batch,
    { attributes: { ...instruments.spanAttributes, [ATTR_BATCH_SIZE]: at.size, [ATTR_DEVICE]: at.device, [ATTR_INSTANCE]: at.instance }, links },
    parent,
  );
}

/** Records the `ort.run` child of `batch`, timed (hrtime ns) around the session call on this thread. */
export function recordOrtRun(
  instruments: ExecutorInstruments | undefined,
  batch: Span | undefined,
  at: BatchPlacement,
  startNs: bigint,
  endNs: bigint,
  err?: unknown,
): void {
  if (!batch || !instruments?.tracer) return;
  const span = instruments.tracer.startSpan(
    SPAN_NAMES.ortRun,
    { startTime: hrToEpochMs(startNs), attributes: { ...instruments.spanAttributes, [ATTR_BATCH_SIZE]: at.size, [ATTR_DEVICE]: at.device, [ATTR_INSTANCE]: at.instance } },
    trace.setSpan(ROOT_CONTEXT, batch),
  );
  endSpan(span, err, hrToEpochMs(endNs));
}
