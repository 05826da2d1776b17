import type { Metadata } from '@grpc/grpc-js';
import { Code, InfermeshError } from '../errors/index.js';

/** The header (gRPC metadata key, HTTP header) that carries the token. */
export const AUTHORIZATION_HEADER = 'authorization';

/** Longest token accepted, in characters (a registry token is about 400). */
export const MAX_TOKEN_LENGTH = 8192;

/** HTTP request headers as Node gives them (`IncomingHttpHeaders`), or a fetch `Headers`. */
export type HttpHeaders = Record<string, string | string[] | undefined> | { get(name: string): string | null };

/**
 * The token of an `authorization: Bearer <token>` header, from gRPC metadata
 * or HTTP headers; undefined when there is no such header. UNAUTHENTICATED
 * when the header is there but is not one `Bearer` token (the message never
 * repeats the header's value).
 */
export function bearerToken(source: Metadata | HttpHeaders): string | undefined {
  const values = headerValues(source);
  if (values.length === 0) return undefined;
  if (values.length > 1) throw unauthenticated(`send one '${AUTHORIZATION_HEADER}' header, got ${values.length}`);
  const match = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(values[0]!);
  if (!match) throw unauthenticated(`the '${AUTHORIZATION_HEADER}' header must be 'Bearer <token>'`);
  if (match[1]!.length > MAX_TOKEN_LENGTH) throw unauthenticated(`the token is longer than ${MAX_TOKEN_LENGTH} characters`);
  return match[1]!;
}

/** The value to send: `Bearer <token>`. */
export function bearerHeader(token: string): string {
  return `Bearer ${token}`;
}

function headerValues(source: Metadata | HttpHeaders): string[] {
  if (isMetadata(source)) return source.get(AUTHORIZATION_HEADER).map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
  if (typeof source.get === 'function') {
    const v = (source as { get(name: string): string | null }).get(AUTHORIZATION_HEADER);
    return v === null ? [] : [v];
  }
  const v = (source as Record<string, string | string[] | undefined>)[AUTHORIZATION_HEADER];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function isMetadata(source: unknown): source is Metadata {
  return typeof source === 'object' && source !== null && typeof (source as Metadata).getMap === 'function' && typeof (source as Metadata).get === 'function';
}

function unauthenticated(message: string): InfermeshError {
  return new InfermeshError(Code.UNAUTHENTICATED, message);
}
