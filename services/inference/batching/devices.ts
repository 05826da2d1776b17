import { invalidArgument } from '../../../shared/errors/index.js';

/** A device an instance can be pinned to: the CPU, or one CUDA GPU by ordinal. */
export type Device = { readonly kind: 'cpu'; readonly name: 'cpu' } | { readonly kind: 'cuda'; readonly name: string; readonly deviceId: number };

/** One entry of a model's `instances` list: `count` sessions on `device`. */
export interface InstanceGroupSpec {
  readonly device: string;
  readonly count: number;
}

/** The default instance group: one session on the CPU. */
export const DEFAULT_INSTANCE_GROUPS: readonly InstanceGroupSpec[] = [{ device: 'cpu', count: 1 }];

/** The most instances one group may ask for; more is a configuration mistake, not a plan. */
export const MAX_INSTANCES_PER_GROUP = 64;

/**
 * Parses a device name: `cpu` or `cuda:N` with N a non-negative integer.
 * Throws INVALID_ARGUMENT naming the bad value and the accepted forms.
 */
export function parseDevice(text: string): Device {
  const s = String(text).trim();
  if (s === 'cpu') return { kind: 'cpu', name: 'cpu' };
  const m = /^cuda:(\d+)$/.exec(s);
  if (m) {
    const deviceId = Number(m[1]);
    if (Number.isSafeInteger(deviceId)) return { kind: 'cuda', name: `cuda:${deviceId}`, deviceId };
  }
  const hint = s === 'cuda' || s === 'gpu' ? ` (name the GPU by ordinal, e.g. 'cuda:0')` : /^cuda:/.test(s) ? ' (the ordinal must be a non-negative integer)' : '';
  throw invalidArgument(`instances: unknown device '${s}'${hint}; expected 'cpu' or 'cuda:N' with N a non-negative integer`);
}

/**
 * Validates a model's `instances` list and expands it to one device per
 * instance, in order. Rejects (INVALID_ARGUMENT, naming the entry) unknown
 * devices, a device listed twice (merge the counts instead), counts that are
 * not integers in 1..{@link MAX_INSTANCES_PER_GROUP}, and an empty list.
 */
export function resolveInstanceDevices(groups: readonly InstanceGroupSpec[] | undefined): Device[] {
  const list = groups ?? DEFAULT_INSTANCE_GROUPS;
  if (!Array.isArray(list) || list.length === 0) throw invalidArgument('instances: expected at least one {device, count} entry');
  const seen = new Set<string>();
  const out: Device[] = [];
  list.forEach((group, i) => {
    const device = parseDevice(group.device);
    if (seen.has(device.name)) {
      throw invalidArgument(`instances[${i}]: device '${device.name}' is listed twice; give it one entry with the total count`);
    }
    seen.add(device.name);
    const count = group.count;
    if (!Number.isInteger(count) || count < 1 || count > MAX_INSTANCES_PER_GROUP) {
      throw invalidArgument(`instances[${i}] (${device.name}): count must be an integer from 1 to ${MAX_INSTANCES_PER_GROUP}, got ${String(count)}`);
    }
    for (let k = 0; k < count; k++) out.push(device);
  });
  return out;
}
