import { createHmac } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Code } from '../../../shared/errors/index.js';
import { checkConfigAgainstSignature, parseModelConfig } from '../../../shared/model-config/index.js';
import { buildPredictionRecord, MAX_RECORDED_BYTES_ELEMENT, MAX_RECORDED_REQUEST_ID_CHARS, SUMMARY_BINS } from './record-builder.js';

describe('records config', () => {
  it('parses rates, caps, redaction rules and the task', () => {
    const config = parseModelConfig({ records: { sampleRate: 0.5, maxValuesPerTensor: 16, redact: { ssn: 'drop', email: 'hash' }, recordBytes: true, task: 'regression' } });
    expect(config.records).toEqual({ sampleRate: 0.5, maxValuesPerTensor: 16, redact: { ssn: 'drop', email: 'hash' }, recordBytes: true, task: 'regression' });
    expect(parseModelConfig({ records: { sampleRate: 0 } }).records.sampleRate).toBe(0);
  });

  it.each([
    [{ sampleRate: 2 }, "'records.sampleRate' must be a number from 0 (off) to 1"],
    [{ redact: { x: 'mask' } }, "'records.redact.x' must be 'drop' or 'hash'"],
    [{ recordBytes: 'yes' }, "'records.recordBytes' must be true or false"],
    [{ rate: 1 }, "unknown key 'records.rate'"],
    [{ task: 'ranking' }, "'records.task' must be 'classification' or 'regression'"],
  ])('rejects %j naming the key', (records, message) => {
    expect(() => parseModelConfig({ records })).toThrow(message);
  });

  it('rejects a redaction rule for an input the model lacks', () => {
    const config = parseModelConfig({ records: { redact: { nope: 'drop' } } });
    const signature = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 4] }], outputs: [], opset: 17, producer: 'test' };
    try {
      checkConfigAgainstSignature(config, signature);
      expect.unreachable();
    } catch (err) {
      expect((err as { code: Code }).code).toBe(Code.INVALID_ARGUMENT);
      expect((err as Error).message).toContain("records.redact names input 'nope'");
    }
  });
});

describe('buildPredictionRecord', () => {
  const key = Buffer.from('0123456789abcdef0123');
  const base = { model: 'm', version: '3', requestId: 'r1', traceId: '', timeMs: 1_700_000_000_000, latencyNs: 1500 };

  it('drops, hashes, summarizes and keeps tensors as the config says', () => {
    const big = new Float32Array(20).map((_, i) => i);
    const secret = new Float32Array([1.5, 2.5]);
    const record = buildPredictionRecord(
      {
        ...base,
        config: { sampleRate: 1, maxValuesPerTensor: 8, redact: { ssn: 'drop', email: 'hash' }, recordBytes: false },
        inputs: {
          ssn: new ort.Tensor('float32', new Float32Array([9, 9]), [1, 2]),
          email: new ort.Tensor('float32', secret, [1, 2]),
          text: new ort.Tensor('string', ['hello'], [1]),
          big: new ort.Tensor('float32', big, [1, 20]),
          ids: new ort.Tensor('int64', new BigInt64Array([3n, 4n]), [1, 2]),
        },
        outputs: { y: new ort.Tensor('float32', new Float32Array([0.25, 0.75]), [1, 2]) },
      },
      'node-a',
      key,
    );
    expect(record.droppedInputs).toEqual(['ssn', 'text']);
    expect(record.inputs!.map((t) => [t.name, t.treatment])).toEqual([
      ['email', 'TENSOR_TREATMENT_HASHED'],
      ['big', 'TENSOR_TREATMENT_SUMMARY'],
      ['ids', 'TENSOR_TREATMENT_VALUES'],
    ]);
    expect(record.inputs![0]!.hash).toBe(createHmac('sha256', key).update(Buffer.from(secret.buffer)).digest('hex'));
    const summary = record.inputs![1]!.summary!;
    expect([summary.count, summary.mean, summary.min, summary.max]).toEqual([20, 9.5, 0, 19]);
    expect((summary.histogram as number[]).length).toBe(SUMMARY_BINS);
    expect((summary.histogram as string[]).map(Number)).toEqual(new Array(SUMMARY_BINS).fill(2));
    expect(record.inputs![2]!.values).toEqual([3, 4]);
    expect(record.outputs![0]!.values).toEqual([0.25, 0.75]);
    expect(record.node).toBe('node-a');
    expect(record.timeUnixNano).toBe('1700000000000000000');
  });

  it("caps what the client chose: the request id and each BYTES element", () => {
    const record = buildPredictionRecord(
      {
        ...base,
        requestId: 'r'.repeat(10_000),
        config: { sampleRate: 1, maxValuesPerTensor: 8, redact: {}, recordBytes: true },
        inputs: { text: new ort.Tensor('string', ['é'.repeat(5_000), 'short'], [2]) },
        outputs: {},
      },
      'node-a',
      key,
    );
    expect(record.requestId).toBe('r'.repeat(MAX_RECORDED_REQUEST_ID_CHARS));
    const [long, short] = record.inputs![0]!.bytesValues as Buffer[];
    expect(long!.byteLength).toBe(MAX_RECORDED_BYTES_ELEMENT);
    expect(short!.toString()).toBe('short');
  });
});
