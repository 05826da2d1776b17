import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Code, type InfermeshError } from '../../../shared/errors/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { addOneModel } from '../../../bench/sample-models.js';
import { createModelExecutor, type CreateModelExecutorOptions } from '../execution/index.js';
import { loadModelVersion, readModelBytes, type VersionLoadContext } from './version-loader.js';
import { VersionStatistics } from './version-statistics.js';

const dir = mkdtempSync(join(tmpdir(), 'version-loader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The real executor factory, recording what it was handed. */
function recordingContext(): VersionLoadContext & { calls: CreateModelExecutorOptions[] } {
  const calls: CreateModelExecutorOptions[] = [];
  return {
    logger: silentLogger,
    telemetry: undefined,
    calls,
    createExecutor: (options) => {
      calls.push(options);
      return createModelExecutor(options);
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<InfermeshError> {
  try {
    await p;
  } catch (err) {
    return err as InfermeshError;
  }
  throw new Error('expected a rejection');
}

describe('loadModelVersion', () => {
  it('reads a model file once: the executor gets the same bytes the signature was read from, not the path', async () => {
    const path = join(dir, 'model.onnx');
    const bytes = addOneModel(4);
    writeFileSync(path, bytes);
    const context = recordingContext();
    const loaded = await loadModelVersion(context, 'm', '1', { modelPath: path }, { executionThread: 'main' }, new VersionStatistics());
    try {
      expect(context.calls).toHaveLength(1);
      const call = context.calls[0]!;
      expect('modelPath' in call).toBe(false);
      expect('modelBytes' in call && Buffer.from(call.modelBytes).equals(Buffer.from(bytes))).toBe(true);
      expect(loaded.signature.inputs.map((i) => i.name)).toEqual(['x']);
      expect(loaded).toMatchObject({ model: 'm', version: '1' });
      expect(loaded.config.executionThread).toBe('main');
    } finally {
      await loaded.executor.close();
    }
  });

  it('rejects UNAVAILABLE naming the file when it cannot be read, and creates no executor', async () => {
    const context = recordingContext();
    const missing = join(dir, 'missing.onnx');
    const err = await rejection(loadModelVersion(context, 'm', '1', { modelPath: missing }, undefined, new VersionStatistics()));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toContain(`cannot read ${missing}`);
    expect(context.calls).toHaveLength(0);
  });

  it('rejects UNAVAILABLE for bytes that are not an ONNX model, INVALID_ARGUMENT for a bad config', async () => {
    const context = recordingContext();
    const notOnnx = await rejection(loadModelVersion(context, 'm', '1', { modelBytes: new Uint8Array([1, 2, 3]) }, undefined, new VersionStatistics()));
    expect(notOnnx.code).toBe(Code.UNAVAILABLE);
    expect(notOnnx.message).toMatch(/^model bytes: /);
    const badConfig = await rejection(loadModelVersion(context, 'm', '1', { modelBytes: addOneModel() }, { maxBatchSize: -1 }, new VersionStatistics()));
    expect(badConfig.code).toBe(Code.INVALID_ARGUMENT);
    expect(badConfig.message).toContain("config of 'm'");
    expect(context.calls).toHaveLength(0);
  });
});

describe('readModelBytes', () => {
  it('returns given bytes as they are (no copy)', async () => {
    const bytes = addOneModel();
    expect(await readModelBytes({ modelBytes: bytes })).toBe(bytes);
  });
});
