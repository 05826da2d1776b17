import type { WriteContext } from '../store/index.js';

/**
 * Runs one registry write (a store call that appends an event) and gives it
 * the trace context its event carries: in a `commit` span when tracing, else
 * the caller's own `traceparent`.
 */
export type Commit = <T>(write: (ctx: WriteContext) => Promise<T>) => Promise<T>;
