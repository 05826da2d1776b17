import { describe, expect, it } from 'vitest';
import { Code } from '../errors/index.js';
import { checkConfigAgainstSignature, DEFAULT_MODEL_CONFIG, parseModelConfig } from './model-config.js';

describe('parseModelConfig', () => {
  it('resolves every default for a missing or empty config', () => {
    expect(parseModelConfig(undefined)).toEqual(DEFAULT_MODEL_CONFIG);
    expect(parseModelConfig({})).toEqual({
      maxBatchSize: 0,
      preferredBatchSizes: [],
      maxQueueDelayUs: 0,
      maxQueueSize: 1024,
      priorityLevels: 1,
      instances: [{ device: 'cpu', count: 1 }],
      allowCpuFallback: false,
      warmup: [],
      records: { sampleRate: 0.01, maxValuesPerTensor: 4096, redact: {}, recordBytes: false },
    });
  });

  it('keeps every documented key', () => {
    const config = parseModelConfig({
      maxBatchSize: 16,
      preferredBatchSizes: [4, 8],
      maxQueueDelayUs: 500,
      maxQueueSize: 64,
      defaultTimeoutMs: 250,
      priorityLevels: 2,
      instances: [{ device: 'cuda:0', count: 2 }, { device: 'cpu', count: 1 }],
      allowCpuFallback: true,
      intraOpThreads: 2,
      interOpThreads: 1,
      warmup: [{ inputs: { x: { datatype: 'FP32', shape: [1, 4], data: 'zeros' } } }],
    });
    expect(config).toMatchObject({ maxBatchSize: 16, preferredBatchSizes: [4, 8], defaultTimeoutMs: 250, allowCpuFallback: true, intraOpThreads: 2 });
    expect(config.instances).toEqual([{ device: 'cuda:0', count: 2 }, { device: 'cpu', count: 1 }]);
    expect(config.warmup[0]!.inputs.x!.shape).toEqual([1, 4]);
  });

  it.each([
    [{ colour: 'blue' }, /unknown key 'colour'/],
    [{ maxBatchSize: -1 }, /'maxBatchSize' must be an integer >= 0, got -1/],
    [{ maxBatchSize: 1.5 }, /'maxBatchSize' must be an integer >= 0/],
    [{ maxQueueSize: 0 }, /'maxQueueSize' must be an integer >= 1/],
    [{ maxBatchSize: 4, preferredBatchSizes: [8] }, /'preferredBatchSizes' has 8, above maxBatchSize 4/],
    [{ instances: [] }, /'instances' must be a non-empty array/],
    [{ instances: [{ device: 'cpu', count: 0 }] }, /'instances\[0\].count' must be an integer >= 1/],
    [{ instances: [{ device: 'cpu', gpus: [0] }] }, /unknown key 'instances\[0\].gpus'/],
    [{ allowCpuFallback: 'yes' }, /'allowCpuFallback' must be true or false/],
    [{ warmup: [{ inputs: { x: { datatype: 'FLOAT', shape: [1], data: [1] } } }] }, /'warmup\[0\].inputs.x.datatype' must be a KServe datatype/],
    [{ warmup: [{ inputs: { x: { datatype: 'FP32', shape: [2], data: [1] } } }] }, /'warmup\[0\].inputs.x.data' has 1 value\(s\) but shape \[2\] needs 2/],
    [[1, 2], /expected a JSON object/],
    [{ tracing: 0.5 }, /'tracing' must be an object \{ sampleRate \}/],
    [{ tracing: {} }, /'tracing.sampleRate' is required/],
    [{ tracing: { sampleRate: 1.5 } }, /'tracing.sampleRate' must be a number from 0 \(never traced\) to 1 \(every request\), got 1.5/],
    [{ tracing: { sampleRate: -0.1 } }, /'tracing.sampleRate' must be a number from 0/],
    [{ tracing: { sampleRate: '0.5' } }, /'tracing.sampleRate' must be a number from 0 .*got "0.5"/],
    [{ tracing: { sampleRate: 0.5, ratio: 1 } }, /unknown key 'tracing.ratio' \(known keys: sampleRate\)/],
  ])('rejects %j with a clear message', (raw, message) => {
    expect(() => parseModelConfig(raw, 'm/config.json')).toThrow(message);
    try {
      parseModelConfig(raw, 'm/config.json');
    } catch (err) {
      expect((err as { code: Code }).code).toBe(Code.INVALID_ARGUMENT);
      expect((err as Error).message.startsWith('m/config.json: ')).toBe(true);
    }
  });
});

describe('the tracing key', () => {
  it('is absent by default (the node decides) and keeps a rate from 0 to 1', () => {
    expect(parseModelConfig({}).tracing).toBeUndefined();
    expect(parseModelConfig({ tracing: { sampleRate: 0 } }).tracing).toEqual({ sampleRate: 0 });
    expect(parseModelConfig({ tracing: { sampleRate: 0.01 } }).tracing).toEqual({ sampleRate: 0.01 });
    expect(parseModelConfig({ tracing: { sampleRate: 1 } }).tracing).toEqual({ sampleRate: 1 });
  });
});

describe('checkConfigAgainstSignature', () => {
  const signature = {
    inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 4] }],
    outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1, 3] }],
    opset: 17,
    producer: 'test',
  };

  it('accepts batching over dynamic first dims, and warm-up over known inputs', () => {
    expect(() => checkConfigAgainstSignature(parseModelConfig({ maxBatchSize: 8, warmup: [{ inputs: { x: { datatype: 'FP32', shape: [1, 4], data: 'zeros' } } }] }), signature)).not.toThrow();
  });

  it('rejects batching over a fixed first dim and warm-up of an unknown input', () => {
    const fixed = { ...signature, inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [2, 4] }] };
    expect(() => checkConfigAgainstSignature(parseModelConfig({ maxBatchSize: 8 }), fixed)).toThrow(/'x' has shape \[2,4\]/);
    const warm = parseModelConfig({ warmup: [{ inputs: { z: { datatype: 'FP32', shape: [1], data: [0] } } }] });
    expect(() => checkConfigAgainstSignature(warm, signature)).toThrow(/warmup\[0\] names input 'z', which the model lacks/);
  });
});

describe('parseModelConfig: execution thread and throughput probe', () => {
  it('keeps executionThread and curveProbeBudgetMs, and leaves them unset by default', () => {
    expect(parseModelConfig({ executionThread: 'worker', curveProbeBudgetMs: 0 })).toMatchObject({ executionThread: 'worker', curveProbeBudgetMs: 0 });
    const plain = parseModelConfig({});
    expect(plain.executionThread).toBeUndefined();
    expect(plain.curveProbeBudgetMs).toBeUndefined();
  });

  it.each([
    [{ executionThread: 'gpu' }, /'executionThread' must be 'auto', 'main' or 'worker', got "gpu"/],
    [{ curveProbeBudgetMs: -1 }, /'curveProbeBudgetMs' must be an integer >= 0/],
    [{ curveProbeBudgetMs: 60_000 }, /'curveProbeBudgetMs' must be at most 10000, got 60000/],
  ])('rejects %j with a clear message', (raw, message) => {
    expect(() => parseModelConfig(raw, 'm/config.json')).toThrow(message);
  });
});

describe('bounds of a config', () => {
  it('caps the memory warm-up inputs may take, over every sample (the node and the registry parse alike)', () => {
    const zeros = (datatype: string, shape: number[]) => ({ inputs: { x: { datatype, shape, data: 'zeros' } } });
    expect(() => parseModelConfig({ warmup: [zeros('BYTES', [60_000_000])] })).toThrow(
      /'warmup\[0\]\.inputs\.x\.shape' \[60000000\] holds 60000000 BYTES element\(s\) \(960000000 bytes in memory\); warm-up inputs may hold 268435456 bytes in all/,
    );
    expect(() => parseModelConfig({ warmup: [zeros('FP32', [2 ** 26, 1])] })).not.toThrow();
    expect(() => parseModelConfig({ warmup: [zeros('FP32', [2 ** 26, 1]), zeros('UINT8', [1])] })).toThrow(/warmup\[1\]\.inputs\.x\.shape/);
    expect(() => parseModelConfig({ warmup: [zeros('FP64', [2 ** 40, 2 ** 40])] })).toThrow(/warm-up inputs may hold/);
  });

  it('quotes a huge bad value only in part', () => {
    const huge = 'x'.repeat(1_000_000);
    const message = (() => {
      try {
        parseModelConfig({ maxBatchSize: huge });
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(message).toMatch(/'maxBatchSize' must be an integer >= 0, got "x{63}\.\.\. \(1000002 characters\)/);
    expect(message.length).toBeLessThan(300);
    expect(() => parseModelConfig({ [huge]: 1 })).toThrow(/unknown key 'x{64}\.\.\. \(1000000 characters\)'/);
  });
});

describe('replicas (mesh placement)', () => {
  it('takes 1..64 and names the key otherwise', () => {
    expect(parseModelConfig({ replicas: 2 }).replicas).toBe(2);
    expect(parseModelConfig({}).replicas).toBeUndefined();
    expect(() => parseModelConfig({ replicas: 0 })).toThrow(/'replicas' must be an integer >= 1/);
    expect(() => parseModelConfig({ replicas: 1.5 })).toThrow(/'replicas'/);
    expect(() => parseModelConfig({ replicas: 65 })).toThrow(/'replicas' must be at most 64, got 65/);
  });
});
