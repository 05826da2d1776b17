// The span store's query worker: a read-only connection to the store's
// SQLite file (WAL: it reads committed data while the monitor's loop keeps
// inserting) answering SpanQueries calls one at a time, so a search over a
// day of spans never blocks the loop that receives OTLP exports.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { createSpanQueries, type SpanQueries } from './span-queries.js';

/** What the store sends: one call of a {@link SpanQueries} method. */
export interface SpanQueryCall {
  id: number;
  method: keyof SpanQueries;
  args: unknown[];
}

/** What the worker answers: the method's result, or the message of what it threw. */
export type SpanQueryReply = { id: number; result: unknown } | { id: number; error: string };

const { file } = workerData as { file: string };
const db = new Database(file, { readonly: true, fileMustExist: true });
db.defaultSafeIntegers(true);
const queries = createSpanQueries(db);

parentPort!.on('message', (call: SpanQueryCall) => {
  let reply: SpanQueryReply;
  try {
    const fn = queries[call.method] as (...args: unknown[]) => unknown;
    reply = { id: call.id, result: fn(...call.args) };
  } catch (err) {
    reply = { id: call.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
