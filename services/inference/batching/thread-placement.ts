import { Worker } from 'node:worker_threads';

/**
 * Where a version's ORT sessions run (config.json `executionThread`):
 * - `main`: on the event-loop thread, the one that reads and answers
 *   requests (no hand-off; the loop waits while a batch runs);
 * - `worker`: a worker thread per instance, so the loop keeps serving while
 *   a batch runs, at the cost of a hand-off per batch;
 * - `auto` (default): decided at load by measurement, see {@link decideThread}.
 */
export type ExecutionThread = 'auto' | 'main' | 'worker';

export const EXECUTION_THREADS: readonly ExecutionThread[] = ['auto', 'main', 'worker'];

/** `auto` puts models of at least this many bytes on worker threads without measuring: their runs take milliseconds. */
export const AUTO_WORKER_MIN_MODEL_BYTES = 16 * 1024 * 1024;

/** What was decided, and why (reported in the executor's profile and its log line). */
export interface ThreadDecision {
  readonly thread: 'main' | 'worker';
  /** The setting it came from. */
  readonly setting: ExecutionThread;
  readonly reason: string;
  /** The run time auto compared, in µs (the probe's slowest measured size up to the curve's peak). */
  readonly runUs?: number;
  /** The hand-off round trip it was compared with, in µs. */
  readonly handoffUs?: number;
}

/**
 * The first step of the decision, before any session exists: the setting
 * itself, or for `auto` a worker for large models, the event-loop thread on
 * one core (a worker could not run beside it; it would only add a hand-off),
 * else `measure`: start on the event-loop thread and let the probe tell.
 */
export function initialThread(setting: ExecutionThread, modelBytes: number, cores: number): ThreadDecision | 'measure' {
  if (setting !== 'auto') return { thread: setting, setting, reason: 'configured' };
  if (modelBytes >= AUTO_WORKER_MIN_MODEL_BYTES) {
    return { thread: 'worker', setting, reason: `model of ${modelBytes} bytes (>= ${AUTO_WORKER_MIN_MODEL_BYTES}): its runs outweigh a hand-off` };
  }
  if (cores < 2) return { thread: 'main', setting, reason: 'one core: a worker thread could not run beside the event loop' };
  return 'measure';
}

/**
 * Auto's measured step: the event-loop thread spends a whole run per batch
 * when the session is on it, and about a hand-off when it is on a worker; a
 * worker pays once a run takes at least the hand-off's round trip.
 */
export function decideByMeasurement(runNs: number, handoffNs: number): ThreadDecision {
  const runUs = Math.round(runNs / 1000);
  const handoffUs = Math.round(handoffNs / 1000);
  return runNs >= handoffNs
    ? { thread: 'worker', setting: 'auto', reason: `a run (${runUs} µs) costs the event loop more than a hand-off to a worker (${handoffUs} µs)`, runUs, handoffUs }
    : { thread: 'main', setting: 'auto', reason: `a run (${runUs} µs) costs less than a hand-off to a worker (${handoffUs} µs)`, runUs, handoffUs };
}

/**
 * Intra-op threads per CPU instance by default. On the event-loop thread a
 * session runs on that thread (blocked meanwhile), so the instances share
 * every core; on workers one core stays with the event-loop thread and the
 * instances share the rest (the first ones get the remainder), at least one each.
 */
export function defaultIntraOpThreads(thread: 'main' | 'worker', cores: number, cpuInstances: number): number[] {
  const n = Math.max(1, cpuInstances);
  const available = Math.max(n, thread === 'worker' ? cores - 1 : cores);
  const base = Math.floor(available / n);
  return Array.from({ length: n }, (_, i) => base + (i < available - base * n ? 1 : 0));
}

/**
 * Whether ORT's intra-op threads may spin-wait for work after a run: only
 * when they and the event-loop thread each have a core of their own; else a
 * spinning thread takes the core the event loop needs.
 */
export function allowSpinning(thread: 'main' | 'worker', cores: number, intraOpThreads: readonly number[]): boolean {
  // On the event-loop thread, a session's calling thread is the loop itself.
  const threads = 1 + intraOpThreads.reduce((a, t) => a + (thread === 'main' ? t - 1 : t), 0);
  return threads <= cores;
}

/** The ORT session option that turns intra-op spin-waiting off (onnxruntime-node takes it in `extra`). */
export const NO_SPINNING: Readonly<Record<string, string>> = Object.freeze({ 'session.intra_op.allow_spinning': '0' });

const HANDOFF_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => parentPort.postMessage(m, [m.buffer]));
`;
/** Bytes each calibration message carries there and back (a small tensor's worth). */
const HANDOFF_PAYLOAD_BYTES = 16 * 1024;

let handoff: Promise<number> | undefined;

/**
 * The round trip of a hand-off to a worker thread and back on this machine,
 * in ns (the median of 31, after 5 untimed): measured once per process, with
 * a throwaway worker, the first time `auto` needs it.
 */
export function measureHandoffNs(): Promise<number> {
  return (handoff ??= (async () => {
    const worker = new Worker(HANDOFF_WORKER, { eval: true });
    try {
      const times: number[] = [];
      let buffer = new ArrayBuffer(HANDOFF_PAYLOAD_BYTES);
      for (let i = 0; i < 36; i++) {
        const t0 = process.hrtime.bigint();
        buffer = await new Promise<ArrayBuffer>((resolve, reject) => {
          worker.once('message', (m: { buffer: ArrayBuffer }) => resolve(m.buffer));
          worker.once('error', reject);
          worker.postMessage({ buffer }, [buffer]);
        });
        worker.removeAllListeners('error');
        if (i >= 5) times.push(Number(process.hrtime.bigint() - t0));
      }
      times.sort((a, b) => a - b);
      return times[times.length >> 1]!;
    } finally {
      await worker.terminate();
    }
  })().catch((err: unknown) => {
    // Not remembered: a later load measures again.
    handoff = undefined;
    throw err;
  }));
}
