import { SpanStatusCode, type AttributeValue, type Attributes, type Span } from '@opentelemetry/api';
import { loggableMessage } from '../errors/index.js';
import { isSecretKey, redactSecrets, REDACTED } from '../logging/index.js';

/**
 * The one way a value from a client (model name, version, request id, URL
 * path, a header, a parameter) becomes a span attribute: cut to a fixed
 * length with a marker, arrays to a fixed count, credentials scrubbed, and a
 * secret-named key's value replaced. The same bounds apply to span status
 * messages and exception events, which quote error messages.
 */

/** The longest string attribute set from client input, in characters; longer ones end in {@link CLIPPED_MARKER}. */
export const MAX_CLIENT_ATTRIBUTE_CHARS = 256;
/** The most elements of an array attribute set from client input. */
export const MAX_CLIENT_ATTRIBUTE_ITEMS = 16;
/** The longest span status message or exception message, in characters. */
export const MAX_SPAN_ERROR_MESSAGE_CHARS = 1024;
/**
 * The backstop for every exported string attribute (the tracer provider's
 * `attributeValueLengthLimit`), for a value that reached a span some other
 * way: a stack trace, an attribute set by code that forgot these helpers.
 */
export const MAX_EXPORTED_ATTRIBUTE_CHARS = 8192;
/** What a cut string ends with. */
export const CLIPPED_MARKER = '...(clipped)';

function clip(text: string, maxChars: number): string {
  const scrubbed = redactSecrets(text);
  return scrubbed.length <= maxChars ? scrubbed : scrubbed.slice(0, maxChars - CLIPPED_MARKER.length) + CLIPPED_MARKER;
}

/** `value` within the client-input bounds. */
export function capAttributeValue(value: AttributeValue): AttributeValue {
  if (typeof value === 'string') return clip(value, MAX_CLIENT_ATTRIBUTE_CHARS);
  if (Array.isArray(value)) {
    const items = value.length > MAX_CLIENT_ATTRIBUTE_ITEMS ? value.slice(0, MAX_CLIENT_ATTRIBUTE_ITEMS) : value;
    return items.map((v) => (typeof v === 'string' ? clip(v, MAX_CLIENT_ATTRIBUTE_CHARS) : v)) as AttributeValue;
  }
  return value;
}

/** `attributes` with every value within the client-input bounds (a new object; secret-named keys redacted). */
export function clientAttributes(attributes: Attributes): Attributes {
  const capped: Attributes = {};
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined) capped[key] = isSecretKey(key) ? REDACTED : capAttributeValue(value);
  }
  return capped;
}

/** Sets one attribute whose value came from a client, within the bounds. */
export function setClientAttribute(span: Span, key: string, value: AttributeValue): Span {
  return span.setAttribute(key, isSecretKey(key) ? REDACTED : capAttributeValue(value));
}

/** Sets attributes whose values came from a client, within the bounds. */
export function setClientAttributes(span: Span, attributes: Attributes): Span {
  return span.setAttributes(clientAttributes(attributes));
}

// A value an error message quotes ('name', "name"; unclosed where an earlier cut took the end): how the services echo what a client sent.
const QUOTED = new RegExp(`(['"])([^'"\\n]{${MAX_CLIENT_ATTRIBUTE_CHARS + 1},})(\\1|$)`, 'g');

/**
 * An error message fit for a span: its `logMessage` (without the caller's
 * data) when it has one, scrubbed, each quoted value in it cut to
 * {@link MAX_CLIENT_ATTRIBUTE_CHARS} (a client's model name, as it is in an
 * attribute), and the whole cut to {@link MAX_SPAN_ERROR_MESSAGE_CHARS}.
 */
export function spanErrorMessage(err: unknown): string {
  const message = loggableMessage(err).replace(QUOTED, (_q, open: string, value: string, close: string) => open + clip(value, MAX_CLIENT_ATTRIBUTE_CHARS) + close);
  return clip(message, MAX_SPAN_ERROR_MESSAGE_CHARS);
}

/**
 * Marks `span` ERROR with `prefix: message` and records an `exception` event
 * for an Error, both with {@link spanErrorMessage} (the stack keeps its frames
 * under that message, never the raw one, which may quote the caller's data).
 */
export function recordSpanError(span: Span, err: unknown, prefix?: string, message: string = spanErrorMessage(err)): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: prefix ? `${prefix}: ${message}` : message });
  if (err instanceof Error) {
    const frames = err.stack?.indexOf('\n    at ') ?? -1;
    span.recordException({ name: err.name, message, stack: `${err.name}: ${message}${frames >= 0 ? err.stack!.slice(frames) : ''}` });
  }
}
