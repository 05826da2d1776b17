import { onShutdownSignal } from '../../../shared/process/index.js';
import type { Telemetry } from '../../../shared/telemetry/index.js';
import { startInferenceNode, type InferenceNode, type InferenceNodeOptions } from '../inference-node.js';

/**
 * The entry points' common start: the node gets the process's one telemetry
 * (tracer, unless sampling is off, and inference metrics); if the node cannot start, the telemetry is
 * shut down; on SIGTERM/SIGINT the node drains (`drainTimeoutMs`), then the
 * telemetry flushes its last spans. `release` (e.g. draining a NATS connection
 * the entry point opened for the node) runs after the node stops, and when it
 * cannot start, so that nothing keeps a failed process alive.
 */
export async function startNodeProcess(
  options: Omit<InferenceNodeOptions, 'telemetry'>,
  telemetry: Telemetry,
  drainTimeoutMs: number,
  release: () => Promise<void> = async () => {},
): Promise<InferenceNode> {
  // Sampling off: no tracer at all, so no request starts a (non-recording) span or enters a trace context.
  // Otherwise the node applies the ratio itself, once per request (after the caller's traceparent and the model's own rate).
  const tracing = telemetry.sampling === 'off' ? {} : { tracer: telemetry.tracer, sampling: telemetry.sampling };
  const node = await startInferenceNode({ ...options, telemetry: { ...tracing, metrics: telemetry.metrics.inference } }).catch(async (err: unknown) => {
    await release();
    await telemetry.shutdown();
    throw err;
  });
  onShutdownSignal(async () => {
    await node.close({ drainTimeoutMs });
    await release();
    await telemetry.shutdown();
  }, options.logger);
  return node;
}
