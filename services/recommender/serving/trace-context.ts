import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';

/** A W3C trace context for one request: its trace id and the `traceparent` to send downstream. */
export interface TraceContext {
  traceId: string;
  metadata: Metadata;
}

/**
 * Continues the caller's trace when its metadata carries a valid `traceparent`,
 * else starts one; the downstream call gets a new span id under the same trace.
 */
export function traceContextFrom(incoming?: Metadata): TraceContext {
  const header = incoming?.get('traceparent')[0];
  const m = typeof header === 'string' ? /^00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$/.exec(header) : null;
  const traceId = m && !/^0+$/.test(m[1]!) ? m[1]! : randomBytes(16).toString('hex');
  const metadata = new Metadata();
  metadata.set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-${m ? m[2]! : '01'}`);
  return { traceId, metadata };
}
