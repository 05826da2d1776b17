import { epochClock } from '../../../shared/clock/index.js';
import { ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Link, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { ATTR_BATCH_SIZE, ATTR_DEVICE, ATTR_INSTANCE, ATTR_QUEUE_PRIORITY, epochMsToHrTime, SPAN_NAMES } from '../../../shared/telemetry/index.js';
import type { VersionInstruments } from '../telemetry/index.js';

/**
 * The batching path's spans (DESIGN.md "Telemetry"), all made on the main
 * thread (sessions on worker threads are timed around the hand-off; no
 * OpenTelemetry runs inside a worker): `queue` per sampled request, child of
 * its server span; `batch` per executed batch, child of the first sampled
 * request it served and linked to every sampled request span; `ort.run`,
 * child of `batch`. Requests that are not sampled cost no span at all.
 */

/** What the executor needs of its version's instruments. */
export type ExecutorInstruments = Pick<VersionInstruments, 'tracer' | 'spanAttributes' | 'recordBatch' | 'setQueueDepth'> &
  Partial<Pick<VersionInstruments, 'setBatchRowsPerSecond'>>;

/**
 * Span times in epoch ms with sub-ms precision. Every span here gets explicit
 * start and end times from this one clock: the SDK's own start times are whole
 * Date.now() milliseconds, too coarse to keep an ort.run of 100 µs inside its
 * batch. The clock follows the wall clock (shared/clock), so these spans stay
 * inside the server spans the SDK anchors to Date.now() however long the node runs.
 */
export const spanTimeMs = (): number => epochClock.nowMs();

/** Link attribute that tells the monitor a batch link points at a request it served. */
const REQUEST_LINK = { 'infermesh.link.kind': 'request' } as const;

/**
 * Starts the `queue` span of a sampled request; undefined for one that is not
 * (its `traceContext` is undefined: runInference gives the executor a context
 * only when the request is sampled, so this is the one check).
 */
export function startQueueSpan(instruments: ExecutorInstruments | undefined, parent: Context | undefined, priority: number): Span | undefined {
  if (parent === undefined || !instruments?.tracer) return undefined;
  const span = startWithVersionAttributes(instruments, instruments.tracer, SPAN_NAMES.queue, { startTime: epochMsToHrTime(spanTimeMs()) }, parent);
  return span.setAttribute(ATTR_QUEUE_PRIORITY, priority);
}

/**
 * Starts a span and sets the version's attributes on it. Set after the start
 * rather than given as start attributes, which the SDK copies and validates
 * twice (once for the sampler, once for the span).
 */
function startWithVersionAttributes(instruments: ExecutorInstruments, tracer: Tracer, name: string, options: SpanOptions, parent: Context): Span {
  return tracer.startSpan(name, options, parent).setAttributes(instruments.spanAttributes);
}

/** The placement attributes of `batch` and `ort.run`. */
function setPlacement(span: Span, at: BatchPlacement): Span {
  return span.setAttribute(ATTR_BATCH_SIZE, at.size).setAttribute(ATTR_DEVICE, at.device).setAttribute(ATTR_INSTANCE, at.instance);
}

/** Ends a span at `atMs` (default now, see {@link spanTimeMs}), as an error with `err`'s message when given. */
export function endSpan(span: Span | undefined, err?: unknown, atMs: number = spanTimeMs()): void {
  if (!span) return;
  if (err !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  span.end(epochMsToHrTime(atMs));
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
 * A context given is a sampled one (see {@link startQueueSpan}).
 */
export function startBatchSpan(instruments: ExecutorInstruments | undefined, contexts: readonly (Context | undefined)[], at: BatchPlacement, startMs: number): Span | undefined {
  if (!instruments?.tracer) return undefined;
  let parent: Context | undefined;
  const links: Link[] = [];
  for (const ctx of contexts) {
    if (ctx === undefined) continue;
    parent ??= ctx;
    links.push({ context: trace.getSpanContext(ctx)!, attributes: REQUEST_LINK });
  }
  if (!parent) return undefined;
  return setPlacement(startWithVersionAttributes(instruments, instruments.tracer, SPAN_NAMES.batch, { startTime: epochMsToHrTime(startMs), links }, parent), at);
}

/** Starts the `ort.run` child of `batch`, just before the session call (on this thread, around a worker's run); end it with {@link endSpan}. */
export function startOrtRunSpan(instruments: ExecutorInstruments | undefined, batch: Span | undefined, at: BatchPlacement): Span | undefined {
  if (!batch || !instruments?.tracer) return undefined;
  return setPlacement(startWithVersionAttributes(instruments, instruments.tracer, SPAN_NAMES.ortRun, { startTime: epochMsToHrTime(spanTimeMs()) }, trace.setSpan(ROOT_CONTEXT, batch)), at);
}
