import type { Command } from 'commander';
import { createInferenceClient } from '../../../shared/client/index.js';
import { isDatatype } from '../../../shared/onnx/index.js';
import type { InputTensor } from '../../../shared/client/index.js';

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

/** Registers `infermesh infer`: one ModelInfer call, outputs printed as JSON. */
export function registerInferCommand(program: Command): void {
  program
    .command('infer')
    .description('Call ModelInfer on an inference node and print the outputs as JSON')
    .requiredOption('--model <name>', 'model name')
    .requiredOption('--inputs <json>', 'inputs: {"NAME": {"datatype": "FP32", "shape": [1, 4], "data": [...]}}')
    .option('--model-version <version>', 'model version (default: the routed one)', '')
    .option('--server <host:port>', 'inference node address', process.env.INFERMESH_INFERENCE ?? '127.0.0.1:8001')
    .option('--timeout-ms <ms>', 'deadline of the call', '30000')
    .action(async (raw: { model: string; inputs: string; modelVersion: string; server: string; timeoutMs: string }) => {
      const inputs = parseInputsFlag(raw.inputs);
      const timeoutMs = Number(raw.timeoutMs);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new Error(`--timeout-ms must be a positive integer, got '${raw.timeoutMs}'`);
      const client = createInferenceClient(raw.server, { timeoutMs });
      try {
        const outputs = await client.infer({ modelName: raw.model, modelVersion: raw.modelVersion, inputs });
        const printable = Object.fromEntries(
          Object.values(outputs).map((o) => [o.name, { datatype: o.datatype, shape: o.shape, data: Array.from(o.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? v.toString() : v)) }]),
        );
        process.stdout.write(JSON.stringify(printable) + '\n');
      } finally {
        client.close();
      }
    });
}
