import { epochClock } from '../clock/index.js';
import {
  context as contextApi,
  trace,
  SpanKind,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { Metadata, type handleUnaryCall } from '@grpc/grpc-js';
import { Code, InfermeshError } from '../errors/index.js';
import { ATTR_RPC_GRPC_STATUS_CODE, ATTR_RPC_METHOD, ATTR_RPC_SERVICE, ATTR_RPC_SYSTEM } from './attributes.js';
import { recordSpanError, setClientAttributes } from './client-attributes.js';
import { extractFromMetadata, injectIntoMetadata } from './propagation.js';
import { runInSpan } from './run-in-span.js';
import { epochMsToHrTime } from './request-sampling.js';

/**
 * Spans for gRPC calls, following the OpenTelemetry RPC semantic conventions:
 * name `package.Service/Method`, `rpc.system=grpc`, `rpc.service`,
 * `rpc.method`, `rpc.grpc.status_code`. Every non-OK status marks the span
 * ERROR, so the monitor's error rates count overload and bad input too.
 */

/** The span name and attributes of one method, computed once (a process calls a handful of methods, per request). */
interface MethodSpanInfo {
  name: string;
  attributes: Readonly<Attributes>;
}

const methodInfo = new Map<string, MethodSpanInfo>();

function spanInfo(fullMethod: string): MethodSpanInfo {
  let info = methodInfo.get(fullMethod);
  if (!info) {
    const path = fullMethod.startsWith('/') ? fullMethod.slice(1) : fullMethod;
    const slash = path.lastIndexOf('/');
    const attributes = Object.freeze({
      [ATTR_RPC_SYSTEM]: 'grpc',
      [ATTR_RPC_SERVICE]: slash < 0 ? path : path.slice(0, slash),
      [ATTR_RPC_METHOD]: slash < 0 ? '' : path.slice(slash + 1),
    });
    methodInfo.set(fullMethod, (info = { name: path, attributes }));
  }
  return info;
}

/**
 * Splits `package.Service/Method` (a leading `/`, as grpc-js paths have, is
 * allowed). The object is shared and frozen: spread it to add attributes.
 */
export function rpcAttributes(fullMethod: string): Attributes {
  return spanInfo(fullMethod).attributes;
}

/**
 * Starts an RPC span. The attributes are set only once the span turns out to
 * be recording: most requests are not sampled, and the SDK would copy and
 * validate start attributes even for a span it then drops.
 */
function startRpcSpan(tracer: Tracer, fullMethod: string, kind: SpanKind, parent: Context, extra: Attributes | undefined): Span {
  const info = spanInfo(fullMethod);
  // Timed by the process clock, like the inference spans inside it (shared/clock),
  // so children always nest inside their server span.
  const span = tracer.startSpan(info.name, { kind, startTime: epochMsToHrTime(epochClock.nowMs()) }, parent);
  if (span.isRecording()) {
    span.setAttributes(info.attributes);
    // Callers pass model names and versions from the request: bounded like every client value.
    if (extra) setClientAttributes(span, extra);
  }
  return span;
}

/** The gRPC status code of anything a handler or client call failed with. */
export function grpcStatusCodeOf(err: unknown): number {
  if (err instanceof InfermeshError) return err.code;
  if (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number') {
    return (err as { code: number }).code;
  }
  return InfermeshError.from(err).code;
}

/**
 * Starts a SERVER span for an incoming call, as a child of the trace context
 * in the call's metadata. Returns the span and the context to run the handler
 * in (`context.with(ctx, ...)`). End it with {@link endRpcSpan}.
 */
export function startServerSpan(
  tracer: Tracer,
  fullMethod: string,
  metadata: Metadata | undefined,
  attributes?: Attributes,
): { span: Span; context: Context } {
  const parent = extractFromMetadata(metadata, contextApi.active());
  const span = startRpcSpan(tracer, fullMethod, SpanKind.SERVER, parent, attributes);
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * Starts a SERVER span under `parent`, a context the caller built after
 * deciding to sample (request-sampling.ts: `DECIDED_SAMPLED_ROOT` or
 * `sampledParentContext`), with the method's attributes and `attributes`
 * (set as given: the caller bounds client values). Returns the span and the
 * context holding it. End it with {@link endRpcSpan}.
 */
export function startDecidedServerSpan(tracer: Tracer, fullMethod: string, parent: Context, attributes?: Attributes): { span: Span; context: Context } {
  const info = spanInfo(fullMethod);
  const span = tracer.startSpan(info.name, { kind: SpanKind.SERVER, startTime: epochMsToHrTime(epochClock.nowMs()) }, parent);
  if (span.isRecording()) {
    span.setAttributes(info.attributes);
    if (attributes) span.setAttributes(attributes);
  }
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * Ends an RPC span with its gRPC status: OK when `err` is undefined/null, else
 * the error's code, message and exception event (the message without the
 * caller's data, cut: see recordSpanError).
 */
export function endRpcSpan(span: Span, err?: unknown): void {
  // Most spans are not sampled: nothing to set, and no clock to read, for them.
  if (!span.isRecording()) return span.end();
  if (err === undefined || err === null) {
    span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, Code.OK);
  } else {
    const code = grpcStatusCodeOf(err);
    span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, code);
    if (code !== Code.OK) recordSpanError(span, err, String(Code[code] ?? code));
  }
  span.end(epochMsToHrTime(epochClock.nowMs()));
}

/**
 * Runs `fn` inside a SERVER span for one call and ends the span with the
 * outcome; rethrows what `fn` throws.
 */
export async function withServerSpan<T>(
  tracer: Tracer,
  fullMethod: string,
  metadata: Metadata | undefined,
  fn: (span: Span) => Promise<T> | T,
  attributes?: Attributes,
): Promise<T> {
  const { span, context } = startServerSpan(tracer, fullMethod, metadata, attributes);
  return runInSpan(span, context, () => fn(span), endRpcSpan);
}

/**
 * Wraps a grpc-js unary handler so that each call runs in a SERVER span
 * (named `fullMethod`, e.g. `inference.GRPCInferenceService/ModelInfer`) that
 * ends with the status the handler passes to its callback.
 */
export function traceUnaryHandler<Req, Res>(tracer: Tracer, fullMethod: string, handler: handleUnaryCall<Req, Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const { span, context } = startServerSpan(tracer, fullMethod, call.metadata);
    contextApi.with(context, () =>
      handler(call, (err, value, trailer, flags) => {
        endRpcSpan(span, err ?? undefined);
        callback(err, value, trailer, flags);
      }),
    );
  };
}

/**
 * Runs an outgoing call inside a CLIENT span: `fn` receives metadata carrying
 * the span's trace context (added to `options.metadata` when given) and
 * passes it to the grpc-js call. Ends the span with the outcome.
 */
export async function withClientSpan<T>(
  tracer: Tracer,
  fullMethod: string,
  fn: (metadata: Metadata, span: Span) => Promise<T>,
  options: { metadata?: Metadata; attributes?: Attributes; parent?: Context } = {},
): Promise<T> {
  const parent = options.parent ?? contextApi.active();
  const span = startRpcSpan(tracer, fullMethod, SpanKind.CLIENT, parent, options.attributes);
  const ctx = trace.setSpan(parent, span);
  const metadata = injectIntoMetadata(options.metadata ?? new Metadata(), ctx);
  return runInSpan(span, ctx, () => fn(metadata, span), endRpcSpan);
}
