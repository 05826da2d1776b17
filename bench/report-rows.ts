// The report's row and target shapes, which the cost parts (tracing-cost, records-cost,
// setting-cost) and the extra runners build and report.ts gathers; kept apart from report.ts
// so that those parts do not import the module that imports them.
import type { CpuShare } from './cpu-usage.js';
import type { LatencySummary } from './latency.js';
import type { ServerBreakdown } from './server-stats.js';

/** One measured window of a served or transport configuration. */
export interface Measured extends LatencySummary {
  firstError?: string;
  server?: ServerBreakdown;
  /** The server's and the load generator's CPU share over the window, and which one ran out. */
  cpu?: CpuShare;
}

/**
 * One row of an extra runner (extra-runners.ts): a load generator other than
 * the sweep's grpc-js client (h2load) against the node or a floor server.
 */
export interface LoadRow {
  /** The comparison it belongs to (see ROW_GROUPS in row-names.ts); targets find rows by it. */
  group: string;
  case: string;
  /** `node` (infermesh serve), `grpc-js floor`, `http2 floor`. */
  server: string;
  generator: string;
  mode: 'unary' | 'streaming';
  connections: number;
  streamsPerConnection: number;
  inFlight: number;
  measured: Measured;
}

export interface TargetReport {
  target: string;
  case: string;
  /** The measured ratio, or null when the run did not measure it. */
  measured: number | null;
  threshold: number;
  /** PASS, MISS, or SKIP (not measured in this run). */
  verdict: 'PASS' | 'MISS' | 'SKIP';
  detail: string;
}
