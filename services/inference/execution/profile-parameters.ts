import type { ExecutorProfile } from './executor.js';

/**
 * An executor's profile as ModelConfig `parameters` (string values):
 * `execution_thread` (`main` or `worker`), `execution_thread_reason` (the
 * setting and why), and, when the model batches, `batch_rows_per_second`: a
 * JSON array with, per instance, `{ instance, device, batchOverheadUs, rowsPerSecond: { "<batch size>": rows/s } }`
 * (rounded to whole rows/s) of the throughput curve the scheduler picks batch sizes from.
 */
export function profileParameters(profile: ExecutorProfile): Record<string, { stringValue: string }> {
  const { thread, setting, reason } = profile.executionThread;
  const parameters: Record<string, { stringValue: string }> = {
    execution_thread: { stringValue: thread },
    execution_thread_reason: { stringValue: `${setting}: ${reason}` },
  };
  if (profile.curves.length > 0) {
    const curves = profile.curves.map((c) => ({
      instance: c.instance,
      device: c.device,
      batchOverheadUs: c.batchOverheadUs,
      rowsPerSecond: Object.fromEntries(c.points.map((p) => [String(p.batchSize), Math.round(p.rowsPerSecond)])),
    }));
    parameters.batch_rows_per_second = { stringValue: JSON.stringify(curves) };
  }
  return parameters;
}
