import type { Context } from '@opentelemetry/api';
import type { Tensor } from 'onnxruntime-node';

/**
 * The contract between the inference node's front end (protocol, validation,
 * model repository) and what executes a model version (ONNX Runtime sessions,
 * the batching scheduler). The front end decodes and validates a request into
 * ORT tensors, hands it to the version's executor, and encodes what comes back.
 */

/** One request, already validated against the model's signature. */
export interface ExecutionRequest {
  /** Input tensors by name; the first dimension is the batch dimension when the model batches. */
  readonly inputs: Readonly<Record<string, Tensor>>;
  /** Outputs the caller wants (all of the model's outputs when it asked for none). */
  readonly outputNames: readonly string[];
  /** Higher levels are served first (0 is the default level). */
  readonly priority: number;
  /** Absolute deadline in ms since the epoch (Date.now() clock); Infinity for none. */
  readonly deadlineMs: number;
  /**
   * Aborted when the caller goes away; a queued request is then dropped, never
   * run. Only `aborted` is read (at dispatch), so an AbortSignal or any cheaper
   * view of the call's state will do.
   */
  readonly signal?: { readonly aborted: boolean };
  /** The trace context of the request's server span when it is sampled (parent of its `queue` span, linked from its `batch`); undefined when it is not: the executor makes no span for it. */
  readonly traceContext?: Context;
}

/**
 * Nanosecond durations of one request's trip through the executor, as whole
 * numbers (not BigInts: a request makes no BigInt; under about 2 s each is a
 * small integer, which costs V8 no heap object). Cumulative sums are kept
 * exactly by VersionStatistics.
 */
export interface ExecutionTimings {
  queueNs: number;
  computeInputNs: number;
  computeInferNs: number;
  computeOutputNs: number;
}

/**
 * An output as the executor hands it back: ORT's own Tensor for a lone
 * request, or a plain view of a request's rows of a batch's output (made per
 * request, so without the validation ORT's Tensor constructor does). Read it;
 * never write to `dims` (requests of one batch may share the array).
 */
export interface TensorView {
  readonly type: Tensor.Type;
  readonly dims: readonly number[];
  readonly data: Tensor.DataType;
}

export interface ExecutionResult {
  /** This request's own slice of each requested output. */
  readonly outputs: Readonly<Record<string, TensorView>>;
  readonly timings: ExecutionTimings;
  /** How many requests shared the run that served this one. */
  readonly batchSize: number;
}

/** Per-batch-size execution statistics, as ModelStatistics.batch_stats reports them. */
export interface BatchStatistics {
  batchSize: number;
  count: number;
  computeInputNs: bigint;
  computeInferNs: bigint;
  computeOutputNs: bigint;
}

/** One batch size of an instance's throughput curve. */
export interface ThroughputPoint {
  readonly batchSize: number;
  /** Rows per second a batch of this size runs at: ORT's run plus the node's own per-batch work (moving averages). */
  readonly rowsPerSecond: number;
  /** Runs the figure rests on (load-time probe runs and served batches). */
  readonly runs: number;
  /** `probe`: only the load-time measurement so far; `runs`: served batches have updated it. */
  readonly source: 'probe' | 'runs';
}

/** How an executor was set up and what it has measured (ModelConfig parameters, /metrics). */
export interface ExecutorProfile {
  /** Where the sessions run, the setting that led there, and why. */
  readonly executionThread: { readonly thread: 'main' | 'worker'; readonly setting: 'auto' | 'main' | 'worker'; readonly reason: string };
  /** Each instance's throughput curve (none when the model does not batch). */
  readonly curves: readonly {
    readonly instance: number;
    readonly device: string;
    /** The node's per-batch work outside ORT the curve counts (assembly, hand-off to a worker, slicing), in µs. */
    readonly batchOverheadUs: number;
    readonly points: readonly ThroughputPoint[];
  }[];
}

/** Executes one model version. Created ready (sessions loaded, warm-up done). */
export interface ModelExecutor {
  /** Devices the instances actually run on (after any CPU fallback), e.g. `['cpu', 'cpu']`. */
  readonly devices: readonly string[];
  /** Human-readable notes about how the executor was set up (e.g. a CUDA provider that could not load). */
  readonly notes: readonly string[];
  /**
   * Runs one request. Rejects with an InfermeshError: RESOURCE_EXHAUSTED when the
   * queue is full, DEADLINE_EXCEEDED when the deadline passes before it runs,
   * CANCELLED when the signal aborts, UNAVAILABLE once closing.
   */
  execute(request: ExecutionRequest): Promise<ExecutionResult>;
  /** Requests waiting to run. */
  queueDepth(): number;
  /** Number of model runs so far (a batch of 8 counts once). */
  executionCount(): number;
  batchStatistics(): BatchStatistics[];
  /** Where the sessions run and each instance's throughput curve; absent for executors that measure none. */
  profile?(): ExecutorProfile;
  /** Stops taking requests, lets queued and running ones finish, then releases the sessions. Idempotent. */
  close(): Promise<void>;
}

/** Where a version's ONNX model comes from: a file path or the ONNX bytes. */
export type ModelSource = { modelPath: string } | { modelBytes: Uint8Array };
