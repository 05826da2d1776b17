import { describe, expect, it } from 'vitest';
import { parseInputFlag } from './infer-command.js';
import { parseInferenceOptions } from './inference-command.js';
import { parseNodeLimitFlags } from './flags.js';

describe('infermesh infer --input', () => {
  it('takes the shape from the nesting and keeps the values in order', () => {
    expect(parseInputFlag('x=[[0.1,0.2,0.3,0.4]]')).toEqual({ name: 'x', shape: [1, 4], values: [0.1, 0.2, 0.3, 0.4] });
    expect(parseInputFlag('x=[[1,2],[3,4],[5,6]]')).toEqual({ name: 'x', shape: [3, 2], values: [1, 2, 3, 4, 5, 6] });
    expect(parseInputFlag('s=3')).toEqual({ name: 's', shape: [], values: [3] });
    expect(parseInputFlag('t:BYTES=["a","b"]')).toEqual({ name: 't', datatype: 'BYTES', shape: [2], values: ['a', 'b'] });
  });

  it('refuses what it cannot read, naming the input', () => {
    expect(() => parseInputFlag('x')).toThrow(/NAME=JSON/);
    expect(() => parseInputFlag('x=[[1,2],[3]]')).toThrow(/x: ragged/);
    expect(() => parseInputFlag('x=[1,')).toThrow(/x: the value is not JSON/);
    expect(() => parseInputFlag('x:FLOAT=[1]')).toThrow(/'FLOAT' is not a KServe datatype/);
    expect(() => parseInputFlag('x=[{"a":1}]')).toThrow(/x: elements must be/);
  });
});

describe('infermesh inference flags', () => {
  const base = { grpcPort: '0', registry: '127.0.0.1:50051', nats: 'nats://127.0.0.1:4222', memoryBudgetBytes: '0', heartbeatIntervalMs: '1000', drainTimeoutMs: '10000' };

  it('parses a valid set, leaving the data dir and node id to be chosen', () => {
    const o = parseInferenceOptions(base);
    expect(o).toMatchObject({ grpcPort: 0, registryAddress: '127.0.0.1:50051', natsUrl: 'nats://127.0.0.1:4222', memoryBudgetBytes: 0, heartbeatIntervalMs: 1000 });
    expect(o.dataDir).toBeUndefined();
    expect(o.nodeId).toBeUndefined();
  });

  it('names each bad flag', () => {
    expect(() => parseInferenceOptions({ ...base, registry: undefined })).toThrow(/--registry must be HOST:PORT/);
    expect(() => parseInferenceOptions({ ...base, registry: 'registry' })).toThrow(/--registry/);
    expect(() => parseInferenceOptions({ ...base, nats: 'http://x:1' })).toThrow(/--nats must be a nats:\/\//);
    expect(() => parseInferenceOptions({ ...base, memoryBudgetBytes: '-1' })).toThrow(/--memory-budget-bytes/);
    expect(() => parseInferenceOptions({ ...base, grpcPort: '70000' })).toThrow(/--grpc-port/);
    expect(() => parseInferenceOptions({ ...base, heartbeatIntervalMs: '0' })).toThrow(/--heartbeat-interval-ms/);
    expect(() => parseInferenceOptions({ ...base, instances: 'gpu0' })).toThrow(/--instances takes devices like cpu, cuda:0.*got 'gpu0'/);
    expect(() => parseInferenceOptions({ ...base, instances: 'cuda:0x0' })).toThrow(/--instances/);
  });

  it('reads --instances as device groups', () => {
    expect(parseInferenceOptions(base).defaultInstances).toBeUndefined();
    expect(parseInferenceOptions({ ...base, instances: 'cuda:0' }).defaultInstances).toEqual([{ device: 'cuda:0', count: 1 }]);
    expect(parseInferenceOptions({ ...base, instances: 'cuda:0x2, cpu' }).defaultInstances).toEqual([{ device: 'cuda:0', count: 2 }, { device: 'cpu', count: 1 }]);
  });
});

describe('node limit flags (serve and inference)', () => {
  it('defaults to production limits with model control off', () => {
    expect(parseNodeLimitFlags({})).toEqual({ maxRequestBytes: 64 * 1024 * 1024, maxQueuedRequestBytes: 512 * 1024 * 1024, modelControl: 'none' });
    expect(parseNodeLimitFlags({ maxRequestBytes: '1024', maxQueuedRequestBytes: '4096', modelControl: 'explicit' })).toEqual({ maxRequestBytes: 1024, maxQueuedRequestBytes: 4096, modelControl: 'explicit' });
  });
  it('names each bad flag', () => {
    expect(() => parseNodeLimitFlags({ maxRequestBytes: '0' })).toThrow(/--max-request-bytes must be an integer from 1 to 2147483647, got '0'/);
    expect(() => parseNodeLimitFlags({ maxQueuedRequestBytes: 'lots' })).toThrow(/--max-queued-request-bytes must be an integer from 1 to 2147483647, got 'lots'/);
    expect(() => parseNodeLimitFlags({ modelControl: 'poll' })).toThrow(/--model-control must be 'none' or 'explicit', got 'poll'/);
  });
});
