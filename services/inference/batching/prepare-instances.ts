import { availableParallelism } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { invalidArgument } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { ModelSignature } from '../../../shared/onnx/index.js';
import { probeCurve, probeInputs, probeShape, probeShapeOf, probeSizes, type ProbeShape } from './curve-probe.js';
import type { Tensor } from 'onnxruntime-node';
import type { Device } from './devices.js';
import { createInstancePool, type Instance, type InstancePool } from './instance-pool.js';
import { decideByMeasurement, initialThread, measureHandoffNs, type ExecutionThread, type ThreadDecision } from './thread-placement.js';
import { ThroughputCurve } from './throughput-curve.js';
import { warmupTensors, type WarmupSampleSpec } from './warmup.js';

/** Without a synthetic input to measure with, `auto` falls back to the model's size: at least this many bytes go to workers. */
const FALLBACK_WORKER_MIN_MODEL_BYTES = 256 * 1024;
/** Auto stops measuring on the event-loop thread once a run takes this many hand-offs: a worker plainly pays. */
const CLEAR_WORKER_HANDOFFS = 10;

/** One instance as the scheduler sees it. */
export interface Slot {
  readonly instance: Instance;
  /** Its throughput curve (undefined when the model does not batch). */
  readonly curve: ThroughputCurve | undefined;
  warmupRuns: number;
  /** Session runs the load-time measurement made on it. */
  probeRuns: number;
  /** The curve is still to be measured, on the shapes of the first request (no warm-up sample fixed the model's dynamic dimensions). */
  probePending: boolean;
  executions: number;
  busy: boolean;
}

export interface PrepareOptions {
  readonly modelBytes: Uint8Array;
  readonly devices: readonly Device[];
  readonly allowCpuFallback: boolean;
  readonly intraOpThreads?: number | undefined;
  readonly interOpThreads?: number | undefined;
  readonly cpuCount?: number | undefined;
  readonly setting: ExecutionThread;
  readonly maxBatchSize: number;
  readonly warmup: readonly WarmupSampleSpec[];
  /** The model's signature (shapes the synthetic probe inputs); undefined: no probe. */
  readonly signature: ModelSignature | undefined;
  /** Time each instance may spend measuring its curve, in ms; 0: none (the curve is learnt from served batches only). */
  readonly probeBudgetMs: number;
  readonly logger: Logger;
}

export interface PreparedInstances {
  readonly pool: InstancePool;
  readonly slots: Slot[];
  readonly decision: ThreadDecision;
  /** Why the curve was not measured at load, when it was not. */
  readonly probeNote: string | undefined;
}

/**
 * Creates the instances, runs every warm-up sample on each, measures each
 * one's throughput curve within the budget, and settles where the sessions
 * run: for `auto`, by timing the model on the event-loop thread first and
 * moving the sessions to workers when a run costs more than a hand-off
 * (see thread-placement.ts). Closes whatever it created when it fails.
 */
export async function prepareInstances(options: PrepareOptions): Promise<PreparedInstances> {
  const cores = options.cpuCount ?? availableParallelism();
  const batched = options.maxBatchSize > 0;
  const shape = options.signature ? probeShape(options.signature, options.warmup, batched) : { unavailable: 'the model signature is unknown' };
  const probeNote = 'unavailable' in shape ? shape.unavailable : options.probeBudgetMs === 0 ? 'curveProbeBudgetMs is 0' : undefined;
  const first = initialThread(options.setting, options.modelBytes.byteLength, cores);

  if (first !== 'measure') return { ...(await setUp(options, first.thread, shape, cores)), decision: first, probeNote };
  if ('unavailable' in shape) {
    const thread = options.modelBytes.byteLength >= FALLBACK_WORKER_MIN_MODEL_BYTES ? 'worker' : 'main';
    const decision: ThreadDecision = { thread, setting: 'auto', reason: `not measured (${shape.unavailable}): by model size (${options.modelBytes.byteLength} bytes)` };
    return { ...(await setUp(options, thread, shape, cores)), decision, probeNote };
  }
  let handoffNs: number;
  try {
    handoffNs = await measureHandoffNs();
  } catch (err) {
    const decision: ThreadDecision = { thread: 'main', setting: 'auto', reason: `a worker thread could not be started to measure a hand-off (${(err as Error).message})` };
    return { ...(await setUp(options, 'main', shape, cores)), decision, probeNote };
  }
  const onMain = await setUp(options, 'main', shape, cores, handoffNs * CLEAR_WORKER_HANDOFFS);
  let decision: ThreadDecision;
  if (onMain.stopped !== undefined) {
    decision = decideByMeasurement(onMain.stopped, handoffNs);
  } else {
    // The size the scheduler will form under load is the curve's peak.
    const curve = onMain.slots[0]!.curve;
    const peak = curve?.measured ? curve.bestSize(options.maxBatchSize) : 1;
    decision = decideByMeasurement(onMain.runNs.get(peak) ?? onMain.runNs.get(1) ?? 0, handoffNs);
  }
  if (decision.thread === 'main') return { pool: onMain.pool, slots: onMain.slots, decision, probeNote };
  await onMain.pool.close();
  return { ...(await setUp(options, 'worker', shape, cores)), decision, probeNote };
}

interface SetUp {
  pool: InstancePool;
  slots: Slot[];
  /** Instance 0's measured run times per size. */
  runNs: ReadonlyMap<number, number>;
  /** The run time that stopped the measurement (stopAtNs), if one did. */
  stopped: number | undefined;
}

async function setUp(options: PrepareOptions, thread: 'main' | 'worker', shape: ProbeShape | { unavailable: string }, cores: number, stopAtNs?: number): Promise<SetUp> {
  const pool = await createInstancePool({
    modelBytes: options.modelBytes,
    devices: options.devices,
    allowCpuFallback: options.allowCpuFallback,
    ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
    ...(options.interOpThreads ? { interOpThreads: options.interOpThreads } : {}),
    cpuCount: cores,
    thread,
    logger: options.logger,
  });
  const batched = options.maxBatchSize > 0;
  const slots: Slot[] = pool.instances.map((instance) => ({
    instance,
    curve: batched ? new ThroughputCurve(options.maxBatchSize) : undefined,
    warmupRuns: 0,
    probeRuns: 0,
    probePending: batched && options.probeBudgetMs > 0 && 'unavailable' in shape,
    executions: 0,
    busy: false,
  }));
  try {
    const samples = options.warmup.map((s, i) => warmupTensors(s, i));
    for (const slot of slots) {
      for (let i = 0; i < samples.length; i++) {
        try {
          // A run on the event-loop thread finishes before run() returns: the loop gets a turn between samples.
          await nextTurn();
          await slot.instance.runner.run(samples[i]!, slot.instance.runner.outputNames, false);
        } catch (err) {
          throw invalidArgument(`warmup[${i}] failed on instance ${slot.instance.index} (${slot.instance.device}): ${(err as Error).message}`, err);
        }
        slot.warmupRuns++;
      }
    }
    let runNs: ReadonlyMap<number, number> = new Map();
    let stopped: number | undefined;
    if (!('unavailable' in shape)) {
      const inputs = probeInputs(shape, batched);
      // Measuring for the thread decision alone (no curve wanted) takes one size.
      const curveWanted = batched && options.probeBudgetMs > 0;
      const sizes = curveWanted ? probeSizes(options.maxBatchSize) : [1];
      const budgetMs = curveWanted ? options.probeBudgetMs : stopAtNs !== undefined ? Math.max(options.probeBudgetMs, 50) : 0;
      for (const slot of budgetMs > 0 ? slots : []) {
        const probe = await probeCurve({
          runner: slot.instance.runner, inputs, sizes, budgetMs, rowBytes: shape.rowBytes,
          ...(curveWanted && slot.curve ? { curve: slot.curve } : {}),
          ...(stopAtNs !== undefined ? { stopAtNs } : {}),
        }).catch((err: unknown) => {
          // A model may reject zeros (or need other shapes): the curve is then learnt from served batches.
          options.logger.warn('throughput probe failed; the curve is learnt from served batches', { instance: slot.instance.index, error: (err as Error).message });
          return { runNs: new Map<number, number>(), runs: 0, stopped: false };
        });
        slot.probeRuns += probe.runs;
        if (slot === slots[0]) runNs = probe.runNs;
        if (probe.stopped) {
          stopped = [...probe.runNs.values()].pop();
          break;
        }
      }
    }
    return { pool, slots, runNs, stopped };
  } catch (err) {
    await pool.close();
    throw err;
  }
}

/**
 * Measures a slot's curve on the shapes of a served request's inputs (all
 * zeros, like the load-time probe), within `budgetMs`; a failure leaves the
 * curve to be learnt from served batches. Never rejects.
 */
export async function probeFromRequest(slot: Slot, inputs: Readonly<Record<string, Tensor>>, maxBatchSize: number, budgetMs: number, logger: Logger): Promise<void> {
  slot.probePending = false;
  const shape = probeShapeOf(inputs);
  if ('unavailable' in shape || !slot.curve) return;
  try {
    const probe = await probeCurve({
      runner: slot.instance.runner, inputs: probeInputs(shape, true), sizes: probeSizes(maxBatchSize), budgetMs, rowBytes: shape.rowBytes, curve: slot.curve,
    });
    slot.probeRuns += probe.runs;
  } catch (err) {
    logger.warn('throughput probe on request shapes failed; the curve is learnt from served batches', { instance: slot.instance.index, error: (err as Error).message });
  }
}
