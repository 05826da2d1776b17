import type { Command } from 'commander';
import { buildInferRequest, createInferenceClient, decodeInferResponse, type InferenceClient } from '../../../shared/client/index.js';
import { isDatatype, type Datatype } from '../../../shared/onnx/index.js';
import type { InputTensor } from '../../../shared/client/index.js';
import { addClientTlsOptions, clientCredentialsOption, parsePositiveInt, withTlsExplained } from '../../../shared/flags/index.js';

/** Parses `--inputs` JSON: `{ "NAME": { "datatype": "FP32", "shape": [1, 4], "data": [...] } }`. */
export function parseInputsFlag(text: string): InputTensor[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`--inputs is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('--inputs must be a JSON object keyed by input name');
  return Object.entries(json as Record<string, { datatype?: unknown; shape?: unknown; data?: unknown }>).map(([name, t]) => {
    if (typeof t?.datatype !== 'string' || !isDatatype(t.datatype)) throw new Error(`--inputs: '${name}.datatype' must be a KServe datatype like FP32`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`--inputs: '${name}.shape' must be an array of integers >= 0`);
    if (!Array.isArray(t.data)) throw new Error(`--inputs: '${name}.data' must be an array of values`);
    return { name, datatype: t.datatype, shape: t.shape as number[], data: t.data as number[] };
  });
}

/** One `--input` flag before its datatype is known: `NAME=JSON` or `NAME:DATATYPE=JSON`. */
export interface InputFlag {
  name: string;
  /** Given with `NAME:DATATYPE=`; otherwise taken from the model's metadata. */
  datatype?: Datatype;
  shape: number[];
  values: Array<number | string | boolean>;
}

/**
 * Parses `--input x=[[0.1,0.2,0.3,0.4]]` (or `x:INT64=[[1,2]]`): a JSON value,
 * nested arrays giving the shape (a scalar is shape []). Ragged arrays are refused.
 */
export function parseInputFlag(text: string): InputFlag {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new Error(`--input must be NAME=JSON (e.g. x=[[1,2,3,4]]), got '${text}'`);
  const [name, datatype] = text.slice(0, eq).split(':', 2) as [string, string | undefined];
  if (datatype !== undefined && !isDatatype(datatype)) throw new Error(`--input ${name}: '${datatype}' is not a KServe datatype like FP32`);
  let value: unknown;
  try {
    value = JSON.parse(text.slice(eq + 1));
  } catch (err) {
    throw new Error(`--input ${name}: the value is not JSON: ${(err as Error).message}`);
  }
  const shape: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) shape.push(level.length);
  const values: Array<number | string | boolean> = [];
  const walk = (v: unknown, depth: number) => {
    if (depth === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') throw new Error(`--input ${name}: elements must be numbers, strings or booleans`);
      values.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw new Error(`--input ${name}: ragged array (expected shape [${shape.join(',')}])`);
    for (const x of v) walk(x, depth + 1);
  };
  walk(value, 0);
  return { name, shape, values, ...(datatype !== undefined ? { datatype: datatype } : {}) };
}

/** Fills in datatypes from the model's metadata (or from the values: BOOL, BYTES, else FP32, when the server cannot say). */
async function resolveInputs(flags: InputFlag[], client: InferenceClient, model: string, version: string): Promise<InputTensor[]> {
  let declared = new Map<string, string>();
  if (flags.some((f) => f.datatype === undefined)) {
    const metadata = await client.modelMetadata(model, version).catch(() => undefined);
    declared = new Map((metadata?.inputs ?? []).map((i) => [i.name, i.datatype]));
  }
  return flags.map((f) => {
    const fromMetadata = declared.get(f.name);
    const guessed: Datatype = f.values.every((v) => typeof v === 'boolean') && f.values.length > 0 ? 'BOOL' : f.values.some((v) => typeof v === 'string') ? 'BYTES' : 'FP32';
    const datatype = f.datatype ?? (fromMetadata && isDatatype(fromMetadata) ? fromMetadata : guessed);
    return { name: f.name, datatype, shape: f.shape, data: f.values as number[] };
  });
}

/**
 * Registers `infermesh infer`: one ModelInfer call. Prints the outputs as one
 * JSON line, then `model=.. version=.. trace_id=..` (the version that answered,
 * and the trace id when the node returns one).
 */
export function registerInferCommand(program: Command): void {
  const command = program.command('infer');
  addClientTlsOptions(command)
    .description('Call ModelInfer on an inference node and print the outputs (JSON) and the trace id')
    .argument('[model]', 'model name (or --model)')
    .option('--model <name>', 'model name')
    .option('--input <name=json>', 'an input as a JSON (nested) array, e.g. x=[[0.1,0.2,0.3,0.4]]; NAME:DATATYPE=... to set the datatype (default: from the model metadata); repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--inputs <json>', 'all inputs as JSON: {"NAME": {"datatype": "FP32", "shape": [1, 4], "data": [...]}}')
    .option('--model-version <version>', 'model version (default: the routed one)', '')
    .option('--server <host:port>', 'inference node address', process.env.INFERMESH_INFERENCE ?? '127.0.0.1:8001')
    .option('--timeout-ms <ms>', 'deadline of the call', '30000')
    .action(async (positional: string | undefined, raw: { model?: string; input: string[]; inputs?: string; modelVersion: string; server: string; timeoutMs: string }) => {
      const model = positional ?? raw.model;
      if (!model) throw new Error('name the model: infermesh infer MODEL --input x=[[...]]');
      if (positional && raw.model && positional !== raw.model) throw new Error(`two model names: '${positional}' and --model '${raw.model}'`);
      if (raw.input.length === 0 && raw.inputs === undefined) throw new Error('give the inputs with --input NAME=JSON (repeatable) or --inputs JSON');
      const flags = raw.input.map(parseInputFlag);
      const timeoutMs = parsePositiveInt(raw.timeoutMs, '--timeout-ms');
      const client = createInferenceClient(raw.server, { timeoutMs, ...(await clientCredentialsOption(raw)) });
      try {
        await withTlsExplained(raw.server, async () => {
        const inputs = [...(raw.inputs !== undefined ? parseInputsFlag(raw.inputs) : []), ...(await resolveInputs(flags, client, model, raw.modelVersion))];
        const response = await client.modelInfer(buildInferRequest({ modelName: model, modelVersion: raw.modelVersion, inputs }));
        const outputs = decodeInferResponse(response);
        const printable = Object.fromEntries(
          Object.values(outputs).map((o) => [o.name, { datatype: o.datatype, shape: o.shape, data: Array.from(o.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? v.toString() : v)) }]),
        );
        const traceId = response.parameters?.trace_id?.stringParam;
        process.stdout.write(JSON.stringify(printable) + '\n');
        process.stdout.write(`model=${response.modelName} version=${response.modelVersion}${traceId ? ` trace_id=${traceId}` : ''}\n`);
        });
      } finally {
        client.close();
      }
    });
}
