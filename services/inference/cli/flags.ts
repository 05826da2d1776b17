import { Option, type Command } from 'commander';
import { parsePositiveInt } from '../../../shared/flags/index.js';
import { DEFAULT_MAX_QUEUED_REQUEST_BYTES, DEFAULT_MAX_REQUEST_BYTES } from '../server/index.js';

/** The node's data-plane limits and model control, as `serve` and `inference` both take them. */
export interface NodeLimitFlags {
  maxRequestBytes: number;
  maxQueuedRequestBytes: number;
  modelControl: 'none' | 'explicit';
}

/** Adds --max-request-bytes, --max-queued-request-bytes and --model-control (with their environment mirrors) to a command. */
export function addNodeLimitOptions(command: Command): Command {
  return command
    .addOption(new Option('--max-request-bytes <n>', 'largest request message; a larger one is refused with RESOURCE_EXHAUSTED').env('INFERMESH_MAX_REQUEST_BYTES').default(String(DEFAULT_MAX_REQUEST_BYTES)))
    .addOption(
      new Option('--max-queued-request-bytes <n>', 'node-wide budget of inference request bytes waiting or running; beyond it RESOURCE_EXHAUSTED')
        .env('INFERMESH_MAX_QUEUED_REQUEST_BYTES')
        .default(String(DEFAULT_MAX_QUEUED_REQUEST_BYTES)),
    )
    .addOption(
      new Option('--model-control <mode>', "'explicit': serve RepositoryModelLoad/Unload; 'none': refuse them (as Triton's --model-control-mode)")
        .env('INFERMESH_MODEL_CONTROL')
        .choices(['none', 'explicit'])
        .default('none'),
    );
}

/** Parses the flags {@link addNodeLimitOptions} added (one message per bad value). */
export function parseNodeLimitFlags(raw: Record<string, unknown>): NodeLimitFlags {
  const modelControl = String(raw.modelControl ?? 'none');
  if (modelControl !== 'none' && modelControl !== 'explicit') throw new Error(`--model-control must be 'none' or 'explicit', got '${modelControl}'`);
  return {
    maxRequestBytes: parsePositiveInt(raw.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES, '--max-request-bytes'),
    maxQueuedRequestBytes: parsePositiveInt(raw.maxQueuedRequestBytes ?? DEFAULT_MAX_QUEUED_REQUEST_BYTES, '--max-queued-request-bytes'),
    modelControl,
  };
}

/**
 * `--instances`: comma-separated devices, each `cpu` or `cuda:N`, optionally
 * `xCOUNT` sessions (e.g. `cuda:0`, `cuda:0x2,cuda:1`). Undefined or '' = not set.
 */
export function parseInstancesFlag(value: unknown, flag = '--instances'): Array<{ device: string; count: number }> | undefined {
  if (value === undefined || value === '') return undefined;
  return String(value)
    .split(',')
    .map((part) => {
      const m = /^(cpu|cuda:\d{1,3})(?:x(\d{1,3}))?$/.exec(part.trim());
      if (!m || (m[2] !== undefined && Number(m[2]) < 1)) {
        throw new Error(`${flag} takes devices like cpu, cuda:0 or cuda:0x2 (comma-separated), got '${part}'`);
      }
      return { device: m[1]!, count: m[2] === undefined ? 1 : Number(m[2]) };
    });
}
