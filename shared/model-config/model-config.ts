import { invalidArgument } from '../errors/index.js';
import { clipText } from '../logging/index.js';
import { ELEMENT_SIZE, isDatatype, type Datatype, type ModelSignature } from '../onnx/index.js';

/** Where a model version's sessions run: `cpu`, or `cuda:N` (validated by the executor that runs it). */
export interface InstanceGroupConfig {
  device: string;
  /** Sessions on that device (>= 1). */
  count: number;
}

/** One warm-up input: `data` is the values in row-major order, or `'zeros'`. */
export interface WarmupInput {
  datatype: Datatype;
  shape: number[];
  data: number[] | string[] | 'zeros';
}

/** One warm-up request, run once through the executor before the version serves. */
export interface WarmupSample {
  inputs: Record<string, WarmupInput>;
}

/**
 * A model's serving config (`<repo>/<model>/config.json`, camelCase JSON), with
 * every default resolved. Every key is optional in the file.
 */
export interface ModelConfig {
  /** Largest batch one run may take; 0 (default) = never batched. When > 0 the first dim of every input is the batch dim. */
  maxBatchSize: number;
  /** Batch sizes the scheduler prefers to form (default []). */
  preferredBatchSizes: number[];
  /** How long the scheduler may hold a request to form a batch, in µs (default 0). */
  maxQueueDelayUs: number;
  /** Requests that may wait in the queue before new ones get RESOURCE_EXHAUSTED (default 1024). */
  maxQueueSize: number;
  /** Deadline for requests that carry none, in ms (default: none). */
  defaultTimeoutMs?: number;
  /** Number of priority levels (default 1). */
  priorityLevels: number;
  /** Default `[{ device: 'cpu', count: 1 }]`. */
  instances: InstanceGroupConfig[];
  /** Run on CPU when a configured GPU cannot be used (default false: the version fails to load instead). */
  allowCpuFallback: boolean;
  /** ORT intra-op / inter-op thread counts (default: ORT's own). */
  intraOpThreads?: number;
  interOpThreads?: number;
  /** Requests run once at load (default []). */
  warmup: WarmupSample[];
  /** Where the ORT sessions run: `auto` (default: measured at load), `main` (the event-loop thread) or `worker` (a thread per instance). */
  executionThread?: 'auto' | 'main' | 'worker';
  /** Time each instance may spend measuring its batch throughput curve at load, in ms; 0 = none (default 300). */
  curveProbeBudgetMs?: number;
  /** Mesh mode: how many nodes hold the model (placement: services/inference/mesh/placement.ts). Default: every node. */
  replicas?: number;
  /** Prediction records sent to the monitor (default: 1% of requests, see {@link RecordsConfig}). */
  records: RecordsConfig;
  /** The model's own trace sampling (default: none, the node's `--trace-sampling` ratio decides; see {@link TracingConfig}). */
  tracing?: TracingConfig;
}

/**
 * Per-model trace sampling (`"tracing": { "sampleRate": 0.1 }` in config.json).
 * Precedence: the node's `--trace-sampling off` (nothing is traced) > a
 * caller's `traceparent` (sampled: traced; unsampled: not) > `sampleRate` >
 * the node's `--trace-sampling` ratio.
 */
export interface TracingConfig {
  /** Share of this model's new traces (requests without a caller's trace context) that are sampled, 0..1 (0 = none, 1 = all). */
  sampleRate: number;
}

/** Largest `replicas` a serving config may ask for (each is a key placement reads every heartbeat). */
export const MAX_MODEL_REPLICAS = 64;

/**
 * Per-model prediction records (`"records": {...}` in config.json; the node's
 * code is services/inference/records). Default: 1% of requests, inputs and
 * outputs up to 4096 values each, BYTES inputs never recorded.
 */
export interface RecordsConfig {
  /** Share of requests recorded, 0..1 (0 = off). Default 0.01. */
  sampleRate: number;
  /** A tensor holding more values than this is sent as a summary (count, mean, min, max, histogram). Default 4096. */
  maxValuesPerTensor: number;
  /** Input name -> `drop` (never leaves the node) or `hash` (an HMAC of its bytes, keyed by the node's record hash key). */
  redact: Record<string, 'drop' | 'hash'>;
  /** Record BYTES inputs and outputs as they are (default false: dropped). */
  recordBytes: boolean;
  /** classification or regression, for the monitor's quality figures (default: the monitor infers it from the output shape). */
  task?: 'classification' | 'regression';
}

/** Records defaults (see {@link RecordsConfig}). */
export const DEFAULT_RECORDS_CONFIG: Readonly<RecordsConfig> = Object.freeze({ sampleRate: 0.01, maxValuesPerTensor: 4096, redact: {}, recordBytes: false });

/** The config of a model with no config.json. */
export const DEFAULT_MODEL_CONFIG: Readonly<ModelConfig> = Object.freeze({
  maxBatchSize: 0,
  preferredBatchSizes: [],
  maxQueueDelayUs: 0,
  maxQueueSize: 1024,
  priorityLevels: 1,
  instances: [{ device: 'cpu', count: 1 }],
  allowCpuFallback: false,
  warmup: [],
  records: DEFAULT_RECORDS_CONFIG,
});

/** The longest load-time throughput measurement a config may ask for, per instance, in ms. */
export const MAX_CURVE_PROBE_BUDGET_MS = 10_000;

const KEYS = new Set([
  'maxBatchSize', 'preferredBatchSizes', 'maxQueueDelayUs', 'maxQueueSize', 'defaultTimeoutMs', 'priorityLevels',
  'instances', 'allowCpuFallback', 'intraOpThreads', 'interOpThreads', 'warmup', 'replicas', 'records',
  'executionThread', 'curveProbeBudgetMs', 'tracing',
]);

/**
 * Parses and validates a model config (the parsed JSON of config.json, or an
 * object). Throws INVALID_ARGUMENT whose message starts with `source` and names
 * the bad key and what was expected; unknown keys are errors.
 */
export function parseModelConfig(raw: unknown, source = 'config.json'): ModelConfig {
  const fail = (msg: string) => invalidArgument(`${source}: ${msg}`);
  if (raw === undefined || raw === null) return structuredClone(DEFAULT_MODEL_CONFIG);
  if (typeof raw !== 'object' || Array.isArray(raw)) throw fail('expected a JSON object');
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!KEYS.has(key)) throw fail(`unknown key '${clipText(key, 64)}' (known keys: ${[...KEYS].join(', ')})`);
  }
  const int = (key: string, min: number, value = obj[key]): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw fail(`'${key}' must be an integer >= ${min}, got ${shown(value)}`);
    return value;
  };
  const preferred = obj.preferredBatchSizes;
  if (preferred !== undefined && !Array.isArray(preferred)) throw fail(`'preferredBatchSizes' must be an array of integers >= 1`);
  const config: ModelConfig = {
    maxBatchSize: int('maxBatchSize', 0) ?? DEFAULT_MODEL_CONFIG.maxBatchSize,
    preferredBatchSizes: (preferred ?? []).map((v: unknown, i: number) => int(`preferredBatchSizes[${i}]`, 1, v)!),
    maxQueueDelayUs: int('maxQueueDelayUs', 0) ?? DEFAULT_MODEL_CONFIG.maxQueueDelayUs,
    maxQueueSize: int('maxQueueSize', 1) ?? DEFAULT_MODEL_CONFIG.maxQueueSize,
    priorityLevels: int('priorityLevels', 1) ?? DEFAULT_MODEL_CONFIG.priorityLevels,
    instances: parseInstances(obj.instances, fail),
    allowCpuFallback: false,
    warmup: parseWarmup(obj.warmup, fail),
    records: parseRecords(obj.records, fail),
  };
  if (obj.allowCpuFallback !== undefined) {
    if (typeof obj.allowCpuFallback !== 'boolean') throw fail(`'allowCpuFallback' must be true or false`);
    config.allowCpuFallback = obj.allowCpuFallback;
  }
  const timeout = int('defaultTimeoutMs', 1);
  if (timeout !== undefined) config.defaultTimeoutMs = timeout;
  const intra = int('intraOpThreads', 0);
  if (intra !== undefined) config.intraOpThreads = intra;
  const inter = int('interOpThreads', 0);
  if (inter !== undefined) config.interOpThreads = inter;
  if (obj.executionThread !== undefined) {
    if (obj.executionThread !== 'auto' && obj.executionThread !== 'main' && obj.executionThread !== 'worker') {
      throw fail(`'executionThread' must be 'auto', 'main' or 'worker', got ${JSON.stringify(obj.executionThread)}`);
    }
    config.executionThread = obj.executionThread;
  }
  const probeBudget = int('curveProbeBudgetMs', 0);
  if (probeBudget !== undefined && probeBudget > MAX_CURVE_PROBE_BUDGET_MS) throw fail(`'curveProbeBudgetMs' must be at most ${MAX_CURVE_PROBE_BUDGET_MS}, got ${probeBudget}`);
  if (probeBudget !== undefined) config.curveProbeBudgetMs = probeBudget;
  const tracing = parseTracing(obj.tracing, fail);
  if (tracing) config.tracing = tracing;
  const replicas = int('replicas', 1);
  if (replicas !== undefined && replicas > MAX_MODEL_REPLICAS) throw fail(`'replicas' must be at most ${MAX_MODEL_REPLICAS}, got ${replicas}`);
  if (replicas !== undefined) config.replicas = replicas;
  for (const size of config.preferredBatchSizes) {
    if (size > config.maxBatchSize) throw fail(`'preferredBatchSizes' has ${size}, above maxBatchSize ${config.maxBatchSize}`);
  }
  return config;
}

function parseInstances(value: unknown, fail: (msg: string) => Error): InstanceGroupConfig[] {
  if (value === undefined) return DEFAULT_MODEL_CONFIG.instances.map((g) => ({ ...g }));
  if (!Array.isArray(value) || value.length === 0) throw fail(`'instances' must be a non-empty array of { device, count }`);
  return value.map((g: unknown, i) => {
    if (typeof g !== 'object' || g === null) throw fail(`'instances[${i}]' must be an object { device, count }`);
    const { device, count, ...rest } = g as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra) throw fail(`unknown key 'instances[${i}].${extra}' (known keys: device, count)`);
    if (typeof device !== 'string' || device === '' || device.length > 64) throw fail(`'instances[${i}].device' must be a string like 'cpu' or 'cuda:0'`);
    const n = count ?? 1;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw fail(`'instances[${i}].count' must be an integer >= 1, got ${shown(n)}`);
    return { device, count: n };
  });
}

/**
 * The most memory all warm-up inputs of a config may take, in bytes (256 MiB):
 * checked when the config is parsed, by the node and the registry alike, so a
 * config cannot make a node allocate without bound at load.
 */
export const MAX_WARMUP_BYTES = 256 * 1024 * 1024;
/** What one BYTES element costs in memory however short it is (its string and the slot holding it). */
const WARMUP_BYTES_ELEMENT_COST = 16;

function warmupElementBytes(datatype: Datatype): number {
  return datatype === 'BYTES' ? WARMUP_BYTES_ELEMENT_COST : ELEMENT_SIZE[datatype]!;
}

/** A value for an error message, cut short: a config may carry megabytes where a number belongs. */
function shown(value: unknown): string {
  return clipText(JSON.stringify(value) ?? String(value), 64);
}

function parseTracing(value: unknown, fail: (msg: string) => Error): TracingConfig | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`'tracing' must be an object { sampleRate }`);
  const { sampleRate, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra) throw fail(`unknown key 'tracing.${clipText(extra, 64)}' (known keys: sampleRate)`);
  if (sampleRate === undefined) throw fail(`'tracing.sampleRate' is required: a number from 0 (never traced) to 1 (every request)`);
  if (typeof sampleRate !== 'number' || !(sampleRate >= 0 && sampleRate <= 1)) throw fail(`'tracing.sampleRate' must be a number from 0 (never traced) to 1 (every request), got ${shown(sampleRate)}`);
  return { sampleRate };
}

function parseRecords(value: unknown, fail: (msg: string) => Error): RecordsConfig {
  const records: RecordsConfig = { ...DEFAULT_RECORDS_CONFIG, redact: {} };
  if (value === undefined) return records;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`'records' must be an object { sampleRate, maxValuesPerTensor, redact, recordBytes, task }`);
  const { sampleRate, maxValuesPerTensor, redact, recordBytes, task, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra) throw fail(`unknown key 'records.${extra}' (known keys: sampleRate, maxValuesPerTensor, redact, recordBytes, task)`);
  if (sampleRate !== undefined) {
    if (typeof sampleRate !== 'number' || !(sampleRate >= 0 && sampleRate <= 1)) throw fail(`'records.sampleRate' must be a number from 0 (off) to 1, got ${JSON.stringify(sampleRate)}`);
    records.sampleRate = sampleRate;
  }
  if (maxValuesPerTensor !== undefined) {
    if (typeof maxValuesPerTensor !== 'number' || !Number.isInteger(maxValuesPerTensor) || maxValuesPerTensor < 0) throw fail(`'records.maxValuesPerTensor' must be an integer >= 0, got ${JSON.stringify(maxValuesPerTensor)}`);
    records.maxValuesPerTensor = maxValuesPerTensor;
  }
  if (redact !== undefined) {
    if (typeof redact !== 'object' || redact === null || Array.isArray(redact)) throw fail(`'records.redact' must be an object { INPUT: 'drop' | 'hash' }`);
    for (const [name, rule] of Object.entries(redact)) {
      if (rule !== 'drop' && rule !== 'hash') throw fail(`'records.redact.${name}' must be 'drop' or 'hash', got ${JSON.stringify(rule)}`);
      records.redact[name] = rule;
    }
  }
  if (recordBytes !== undefined) {
    if (typeof recordBytes !== 'boolean') throw fail(`'records.recordBytes' must be true or false`);
    records.recordBytes = recordBytes;
  }
  if (task !== undefined) {
    if (task !== 'classification' && task !== 'regression') throw fail(`'records.task' must be 'classification' or 'regression', got ${JSON.stringify(task)}`);
    records.task = task;
  }
  return records;
}

function parseWarmup(value: unknown, fail: (msg: string) => Error): WarmupSample[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw fail(`'warmup' must be an array of { inputs: { NAME: { datatype, shape, data } } }`);
  let warmupBytes = 0;
  return value.map((sample: unknown, i) => {
    const inputs = (sample as { inputs?: unknown } | null)?.inputs;
    if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) throw fail(`'warmup[${i}].inputs' must be an object keyed by input name`);
    const parsed: Record<string, WarmupInput> = {};
    for (const [name, t] of Object.entries(inputs as Record<string, unknown>)) {
      const where = `warmup[${i}].inputs.${clipText(name, 64)}`;
      const { datatype, shape, data } = (t ?? {}) as Record<string, unknown>;
      if (typeof datatype !== 'string' || !isDatatype(datatype)) throw fail(`'${where}.datatype' must be a KServe datatype (FP32, INT64, BYTES, ...), got ${shown(datatype)}`);
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw fail(`'${where}.shape' must be an array of integers >= 0`);
      const count = shape.reduce((a: number, b: number) => a * b, 1);
      const bytes = count * warmupElementBytes(datatype);
      if (!(bytes <= MAX_WARMUP_BYTES - warmupBytes)) {
        throw fail(`'${where}.shape' [${shape.join(',')}] holds ${count} ${datatype} element(s) (${bytes} bytes in memory); warm-up inputs may hold ${MAX_WARMUP_BYTES} bytes in all`);
      }
      warmupBytes += bytes;
      if (data !== 'zeros') {
        if (!Array.isArray(data)) throw fail(`'${where}.data' must be an array of values or 'zeros'`);
        if (data.length !== count) throw fail(`'${where}.data' has ${data.length} value(s) but shape [${shape.join(',')}] needs ${count}`);
      }
      parsed[name] = { datatype, shape: shape as number[], data: data as WarmupInput['data'] };
    }
    return { inputs: parsed };
  });
}

/**
 * Checks a config against the model's signature: when it batches, every input's
 * and output's first dim must be dynamic; warm-up inputs must be the model's.
 * Throws INVALID_ARGUMENT naming the tensor.
 */
export function checkConfigAgainstSignature(config: ModelConfig, signature: ModelSignature, source = 'config.json'): void {
  if (config.maxBatchSize > 0) {
    for (const t of [...signature.inputs, ...signature.outputs]) {
      if (t.shape.length === 0 || t.shape[0] !== -1) {
        throw invalidArgument(`${source}: maxBatchSize ${config.maxBatchSize} needs a dynamic first (batch) dimension on every tensor, but '${t.name}' has shape [${t.shape.join(',')}]`);
      }
    }
  }
  const names = new Set(signature.inputs.map((t) => t.name));
  for (const name of Object.keys(config.records.redact)) {
    if (!names.has(name)) throw invalidArgument(`${source}: records.redact names input '${name}', which the model lacks (inputs: ${[...names].join(', ')})`);
  }
  config.warmup.forEach((sample, i) => {
    for (const name of Object.keys(sample.inputs)) {
      if (!names.has(name)) throw invalidArgument(`${source}: warmup[${i}] names input '${name}', which the model lacks (inputs: ${[...names].join(', ')})`);
    }
  });
}
