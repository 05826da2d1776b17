import type { GRPCInferenceServiceClient } from '../shared/generated/inference/GRPCInferenceService.js';

/** Cumulative counters of one model from ModelStatistics. */
export interface StatsSnapshot {
  success: number;
  /** Requests that failed (any gRPC error the node answered for this model). */
  fail: number;
  inferenceCount: number;
  executionCount: number;
  queueNs: number;
  computeInputNs: number;
  computeInferNs: number;
  computeOutputNs: number;
}

/** What the node says it did during a window: per-request averages in µs, and the mean batch. */
export interface ServerBreakdown {
  requests: number;
  executions: number;
  avgBatch: number;
  queueUs: number;
  computeInputUs: number;
  computeInferUs: number;
  computeOutputUs: number;
}

/** Reads a model's statistics; undefined when the node cannot say (the breakdown is then left out). */
export function readStats(client: GRPCInferenceServiceClient, name: string): Promise<StatsSnapshot | undefined> {
  return new Promise((resolve) => {
    client.ModelStatistics({ name, version: '' }, { deadline: Date.now() + 10_000 }, (err, res) => {
      const s = res?.modelStats?.[0];
      const st = s?.inferenceStats;
      if (err || !s || !st) return resolve(undefined);
      resolve({
        success: Number(st.success?.count ?? 0),
        fail: Number(st.fail?.count ?? 0),
        inferenceCount: Number(s.inferenceCount),
        executionCount: Number(s.executionCount),
        queueNs: Number(st.queue?.ns ?? 0),
        computeInputNs: Number(st.computeInput?.ns ?? 0),
        computeInferNs: Number(st.computeInfer?.ns ?? 0),
        computeOutputNs: Number(st.computeOutput?.ns ?? 0),
      });
    });
  });
}

/** The breakdown between two snapshots. */
export function breakdown(before: StatsSnapshot | undefined, after: StatsSnapshot | undefined): ServerBreakdown | undefined {
  if (!before || !after) return undefined;
  const requests = after.success - before.success;
  const executions = after.executionCount - before.executionCount;
  const per = (a: number, b: number) => (requests > 0 ? (a - b) / requests / 1000 : 0);
  return {
    requests,
    executions,
    avgBatch: executions > 0 ? (after.inferenceCount - before.inferenceCount) / executions : 0,
    queueUs: per(after.queueNs, before.queueNs),
    computeInputUs: per(after.computeInputNs, before.computeInputNs),
    computeInferUs: per(after.computeInferNs, before.computeInferNs),
    computeOutputUs: per(after.computeOutputNs, before.computeOutputNs),
  };
}
