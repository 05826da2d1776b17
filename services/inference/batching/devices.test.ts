import { describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { parseDevice, resolveInstanceDevices } from './devices.js';

function codeOf(fn: () => unknown): { code: Code; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InfermeshError);
    return { code: (err as InfermeshError).code, message: (err as Error).message };
  }
  throw new Error('expected a throw');
}

describe('device parsing', () => {
  it('accepts cpu and cuda:N', () => {
    expect(parseDevice('cpu')).toEqual({ kind: 'cpu', name: 'cpu' });
    expect(parseDevice('cuda:0')).toEqual({ kind: 'cuda', name: 'cuda:0', deviceId: 0 });
    expect(parseDevice('cuda:7')).toEqual({ kind: 'cuda', name: 'cuda:7', deviceId: 7 });
  });

  it.each([
    ['tpu', /unknown device 'tpu'.*'cpu' or 'cuda:N'/],
    ['cuda', /unknown device 'cuda'.*by ordinal, e\.g\. 'cuda:0'/],
    ['cuda:-1', /unknown device 'cuda:-1'.*non-negative integer/],
    ['cuda:x', /unknown device 'cuda:x'.*non-negative integer/],
    ['cuda:1.5', /unknown device 'cuda:1\.5'/],
    ['gpu:0', /unknown device 'gpu:0'/],
    ['', /unknown device ''/],
  ])('rejects %j with a clear INVALID_ARGUMENT', (text, message) => {
    const e = codeOf(() => parseDevice(text));
    expect(e.code).toBe(Code.INVALID_ARGUMENT);
    expect(e.message).toMatch(message);
  });

  it('expands instance groups to one device per instance, defaulting to one cpu', () => {
    expect(resolveInstanceDevices(undefined).map((d) => d.name)).toEqual(['cpu']);
    expect(resolveInstanceDevices([{ device: 'cpu', count: 2 }, { device: 'cuda:1', count: 1 }]).map((d) => d.name)).toEqual(['cpu', 'cpu', 'cuda:1']);
  });

  it('rejects duplicates, bad counts and an empty list, naming the entry', () => {
    const dup = codeOf(() => resolveInstanceDevices([{ device: 'cpu', count: 1 }, { device: 'cuda:0', count: 1 }, { device: 'cpu', count: 2 }]));
    expect(dup.code).toBe(Code.INVALID_ARGUMENT);
    expect(dup.message).toMatch(/instances\[2\]: device 'cpu' is listed twice/);
    expect(codeOf(() => resolveInstanceDevices([{ device: 'cuda:0', count: 0 }])).message).toMatch(/instances\[0\] \(cuda:0\): count must be an integer from 1/);
    expect(codeOf(() => resolveInstanceDevices([{ device: 'cpu', count: 1.5 }])).message).toMatch(/got 1\.5/);
    expect(codeOf(() => resolveInstanceDevices([])).message).toMatch(/at least one/);
    expect(codeOf(() => resolveInstanceDevices([{ device: 'tpu', count: 1 }])).message).toMatch(/unknown device 'tpu'/);
  });
});
