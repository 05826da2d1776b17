import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Tensor } from 'onnxruntime-node';
import { ELEMENT_SIZE, datatypeFromOrt, type ModelSignature } from '../../../shared/onnx/index.js';
import type { SessionRunner } from './session-runner.js';
import type { ThroughputCurve } from './throughput-curve.js';
import { zeroTensor, type WarmupSampleSpec } from './warmup.js';

/** Default time each instance may spend measuring its throughput curve at load, in ms. */
export const DEFAULT_CURVE_PROBE_BUDGET_MS = 300;
/** Timed runs per batch size at most (after one untimed run at that size). */
const PROBE_RUNS = 5;
/** Untimed runs before the first size (a session's first runs after warm-up are still slow: arenas grow). */
const FIRST_SIZE_UNTIMED_RUNS = 3;
/** Largest synthetic batch the probe allocates, in bytes over all inputs. */
export const MAX_PROBE_BATCH_BYTES = 64 * 1024 * 1024;
/** Bytes a BYTES element is counted as in that bound. */
const STRING_ELEMENT_BYTES = 16;

/** Builds the synthetic feeds of a batch of `rows` rows. */
export type ProbeInputs = (rows: number) => Record<string, Tensor>;

/** How synthetic probe inputs are shaped: per input, its datatype and the dimensions after the batch one. */
export interface ProbeShape {
  readonly inputs: readonly { readonly name: string; readonly datatype: ModelSignature['inputs'][number]['datatype']; readonly rowDims: readonly number[] }[];
  /** Bytes of one row over all inputs. */
  readonly rowBytes: number;
}

/**
 * The shape of synthetic probe inputs from the model's signature: each
 * input's dimensions after the batch one, a dynamic one taken from the first
 * warm-up sample that gives that input; undefined (with why) when an input has
 * a dynamic dimension no warm-up sample fixes. With `batched` false the inputs
 * are shaped as a whole (dimension 0 included) and a "row" is one request.
 */
export function probeShape(signature: ModelSignature, warmup: readonly WarmupSampleSpec[], batched: boolean): ProbeShape | { readonly unavailable: string } {
  const inputs: ProbeShape['inputs'][number][] = [];
  let rowBytes = 0;
  for (const input of signature.inputs) {
    const given = warmup.find((s) => s.inputs[input.name])?.inputs[input.name]?.shape;
    const dims = batched ? input.shape.slice(1) : input.shape;
    const givenDims = given ? (batched ? given.slice(1) : given) : undefined;
    const rowDims: number[] = [];
    for (let i = 0; i < dims.length; i++) {
      const d = dims[i]! >= 0 ? dims[i]! : givenDims?.[i];
      if (d === undefined || !Number.isInteger(d) || d < 0) {
        return { unavailable: `input '${input.name}' has a dynamic dimension that no warm-up sample fixes` };
      }
      rowDims.push(d);
    }
    const elements = rowDims.reduce((a, b) => a * b, 1);
    rowBytes += elements * (ELEMENT_SIZE[input.datatype] ?? STRING_ELEMENT_BYTES);
    inputs.push({ name: input.name, datatype: input.datatype, rowDims });
  }
  return { inputs, rowBytes };
}

/**
 * The shape of probe inputs taken from a served request's (batched) inputs:
 * for models whose dynamic dimensions no warm-up sample fixes, the curve is
 * measured when the first request shows them.
 */
export function probeShapeOf(inputs: Readonly<Record<string, Tensor>>): ProbeShape | { readonly unavailable: string } {
  const shaped: ProbeShape['inputs'][number][] = [];
  let rowBytes = 0;
  for (const [name, t] of Object.entries(inputs)) {
    const datatype = datatypeFromOrt(t.type);
    if (!datatype) return { unavailable: `input '${name}' has ORT type ${t.type}` };
    const rowDims = t.dims.slice(1);
    rowBytes += rowDims.reduce((a, b) => a * b, 1) * (ELEMENT_SIZE[datatype] ?? STRING_ELEMENT_BYTES);
    shaped.push({ name, datatype, rowDims });
  }
  return { inputs: shaped, rowBytes };
}

/** The synthetic (all-zero) feeds of `shape`; for an unbatched shape `rows` is ignored. */
export function probeInputs(shape: ProbeShape, batched: boolean): ProbeInputs {
  return (rows) => {
    const feeds: Record<string, Tensor> = {};
    for (const input of shape.inputs) feeds[input.name] = zeroTensor(input.datatype, batched ? [rows, ...input.rowDims] : input.rowDims);
    return feeds;
  };
}

/** The batch sizes the probe measures: the powers of two below maxBatchSize, and maxBatchSize. */
export function probeSizes(maxBatchSize: number): number[] {
  const sizes: number[] = [];
  for (let s = 1; s < maxBatchSize; s *= 2) sizes.push(s);
  sizes.push(Math.max(1, maxBatchSize));
  return sizes;
}

export interface ProbeOptions {
  readonly runner: SessionRunner;
  readonly inputs: ProbeInputs;
  readonly sizes: readonly number[];
  readonly budgetMs: number;
  /** Bytes of one row (sizes whose batch would exceed {@link MAX_PROBE_BATCH_BYTES} are not probed). */
  readonly rowBytes: number;
  /** Where the measured points go; none: only the run times are returned. */
  readonly curve?: ThroughputCurve;
  /** Stop as soon as a size's typical run takes at least this long, in ns. */
  readonly stopAtNs?: number;
}

export interface ProbeResult {
  /** ORT's run time per measured size (the fastest run), in ns (ascending sizes). */
  readonly runNs: ReadonlyMap<number, number>;
  /** Session runs made (untimed ones included). */
  readonly runs: number;
  /** True when it stopped at {@link ProbeOptions.stopAtNs}. */
  readonly stopped: boolean;
}

/**
 * Measures ORT's run time at each size, ascending, within the budget: one
 * untimed run at a size (buffers sized for it; three before the first size), then up to 5 timed runs or
 * that size's share of the budget, whichever comes first; the fastest goes
 * into the curve (other work on the machine only ever slows a run down). A size whose estimated time (from the last one's time per
 * row) would overrun the budget left is not started.
 */
export async function probeCurve(options: ProbeOptions): Promise<ProbeResult> {
  const { runner, sizes, budgetMs } = options;
  const started = performance.now();
  const sliceMs = budgetMs / Math.max(1, sizes.length);
  const runNs = new Map<number, number>();
  let runs = 0;
  let perRowNs = 0;
  let overheadNs = Infinity;
  for (const size of sizes) {
    const leftMs = budgetMs - (performance.now() - started);
    if (leftMs <= 0 || size * options.rowBytes > MAX_PROBE_BATCH_BYTES) break;
    if (perRowNs > 0 && (2 * perRowNs * size) / 1e6 > leftMs) break;
    const feeds = options.inputs(size);
    const sizeStart = performance.now();
    for (let i = runs === 0 ? FIRST_SIZE_UNTIMED_RUNS : 1; i > 0; i--) {
      await nextTurn();
      await runner.run(feeds, runner.outputNames, false);
      runs++;
    }
    const times: number[] = [];
    while (times.length < PROBE_RUNS && (times.length === 0 || performance.now() - sizeStart < sliceMs)) {
      // A run on the event-loop thread finishes before run() returns: the loop gets a turn between runs.
      await nextTurn();
      const t0 = process.hrtime.bigint();
      const { runNs: ns } = await runner.run(feeds, runner.outputNames, false);
      // Around the run: the hand-off to a worker, or the runner's own checks.
      overheadNs = Math.min(overheadNs, Number(process.hrtime.bigint() - t0 - ns));
      times.push(Number(ns));
      runs++;
    }
    // Interference only ever adds time: the fastest run is the model's own.
    const fastest = Math.min(...times);
    runNs.set(size, fastest);
    options.curve?.setProbe(size, fastest, times.length);
    perRowNs = fastest / size;
    if (options.stopAtNs !== undefined && fastest >= options.stopAtNs) break;
  }
  if (Number.isFinite(overheadNs)) options.curve?.setProbeOverhead(Math.max(0, overheadNs));
  const stopped = options.stopAtNs !== undefined && [...runNs.values()].some((ns) => ns >= options.stopAtNs!);
  return { runNs, runs, stopped };
}
