import type { IncomingHttpHeaders } from 'node:http';
import { context as contextApi, trace, SpanKind, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { epochClock } from '../clock/index.js';
import { clientAttributes, recordSpanError, spanErrorMessage } from './client-attributes.js';
import { extractFromHeaders, type HeaderCarrier } from './propagation.js';

/**
 * Spans for HTTP requests, following the OpenTelemetry HTTP semantic
 * conventions: name `{method} {http.route}` (the route template, never the
 * raw path: bounded cardinality), `http.request.method`, `http.route`,
 * `url.path`, `url.scheme`, `server.port`, `network.protocol.version`,
 * `user_agent.original`, `http.response.status_code`, and `error.type` on
 * failure. Unlike the conventions (which leave 4xx server spans unset), every
 * failed request marks the span ERROR, as the RPC spans do, so the monitor's
 * error rates count bad input and overload over HTTP too.
 */
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_ROUTE = 'http.route';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_URL_PATH = 'url.path';
export const ATTR_URL_SCHEME = 'url.scheme';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_NETWORK_PROTOCOL_VERSION = 'network.protocol.version';
export const ATTR_USER_AGENT_ORIGINAL = 'user_agent.original';
export const ATTR_ERROR_TYPE = 'error.type';

/** What a SERVER span of one HTTP request is started from. */
export interface HttpRequestInfo {
  method: string;
  /** The matched route template, e.g. `/v2/models/{model_name}/infer`. */
  route: string;
  path: string;
  headers: IncomingHttpHeaders;
  httpVersion: string;
  serverPort?: number;
}

/** Node's incoming headers as a read-only {@link HeaderCarrier} (keys are lower case there). */
function headerCarrier(headers: IncomingHttpHeaders): HeaderCarrier {
  return {
    get: (key) => {
      const v = headers[key];
      return Array.isArray(v) ? v[0] : v;
    },
    set: () => {},
  };
}

/**
 * Starts a SERVER span for an HTTP request, a child of the W3C trace context
 * in its `traceparent`/`tracestate` headers. Attributes are set only when the
 * span records (most requests are not sampled). End it with {@link endHttpSpan}.
 */
export function startHttpServerSpan(tracer: Tracer, request: HttpRequestInfo, attributes?: Attributes): { span: Span; context: Context } {
  const parent = extractFromHeaders(headerCarrier(request.headers), contextApi.active());
  const span = tracer.startSpan(`${request.method} ${request.route}`, { kind: SpanKind.SERVER, startTime: epochClock.nowMs() }, parent);
  if (span.isRecording()) {
    // The path (model names), the version and the user agent are the client's: bounded. No other header becomes an attribute.
    span.setAttributes(
      clientAttributes({
        [ATTR_HTTP_REQUEST_METHOD]: request.method,
        [ATTR_HTTP_ROUTE]: request.route,
        [ATTR_URL_PATH]: request.path,
        [ATTR_URL_SCHEME]: 'http',
        [ATTR_NETWORK_PROTOCOL_VERSION]: request.httpVersion,
        ...(request.serverPort !== undefined ? { [ATTR_SERVER_PORT]: request.serverPort } : {}),
        ...(typeof request.headers['user-agent'] === 'string' ? { [ATTR_USER_AGENT_ORIGINAL]: request.headers['user-agent'] } : {}),
        ...attributes,
      }),
    );
  }
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * Ends an HTTP SERVER span with the response status; `error` (a name such as
 * `INVALID_ARGUMENT` and its message) marks it ERROR. With `exception`, the
 * span carries that error's message without the caller's data (its
 * `logMessage`), never `message`, which is what the client is answered.
 */
export function endHttpSpan(span: Span, statusCode: number, error?: { type: string; message: string; exception?: Error }): void {
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
  if (error) {
    span.setAttribute(ATTR_ERROR_TYPE, error.type);
    recordSpanError(span, error.exception, error.type, spanErrorMessage(error.exception ?? error.message));
  }
  span.end(epochClock.nowMs());
}
