// Uploads are checked from their temp file, large ones in a child process: a
// model of a few hundred MB costs the registry process bounded memory.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import { buildOnnxModel } from '../../shared/onnx/index.js';
import { createRegistryClient } from '../../shared/registry-client/index.js';
import { startNats } from '../helpers/nats.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { startRegistry, tempDir, tinyModel } from './registry-fixtures.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Peak and current resident memory of a process, in bytes (Linux /proc). */
function memoryOf(pid: number): { peakBytes: number; rssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { peakBytes: kb('VmHWM'), rssBytes: kb('VmRSS') };
}

const MiB = 1024 * 1024;

describe('large uploads', () => {
  it('a 256 MiB model is stored while the registry process grows by less than half its size', async () => {
    const nats = await startNats();
    cleanups.push(() => nats.close());
    const dir = tempDir('infermesh-large-');
    cleanups.push(() => dir.cleanup());
    // x [batch,4096] · w [4096,16384]: 64 Mi FP32 weights, 256 MiB of raw_data.
    const rows = 4096;
    const cols = 16384;
    const weights = new Float32Array(rows * cols);
    for (let i = 0; i < weights.length; i += 4099) weights[i] = (i % 7) / 7;
    const file = join(dir.path, 'large.onnx');
    writeFileSync(file, buildOnnxModel({
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', rows] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', cols] }],
      initializers: [{ name: 'w', datatype: 'FP32', dims: [rows, cols], values: weights }],
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    }));
    const sizeBytes = readFileSync(file).byteLength;
    expect(sizeBytes).toBeGreaterThan(256 * MiB);

    const registry: ServiceProcess = await spawnService(['registry', '--grpc-port', '0', '--data-dir', join(dir.path, 'data'), '--nats', nats.url]);
    cleanups.push(() => registry.stop());
    const pid = registry.child.pid!;
    const client = createRegistryClient(registry.endpoints.grpc!);
    cleanups.push(() => client.close());
    // Warm the upload path with a small model, so the baseline holds what every upload costs.
    await client.pushVersion('warm', tinyModel(1));
    const before = memoryOf(pid);
    const v = await client.pushVersion('large', file, { timeoutMs: 300_000 });
    const after = memoryOf(pid);
    expect(Number(v.sizeBytes)).toBe(sizeBytes);
    expect(v.signature!.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: ['-1', String(rows)] }]);
    const grewBytes = after.peakBytes - before.peakBytes;
    console.log(`registry peak RSS ${Math.round(before.peakBytes / MiB)} MiB before, ${Math.round(after.peakBytes / MiB)} MiB after a ${Math.round(sizeBytes / MiB)} MiB upload (+${Math.round(grewBytes / MiB)} MiB)`);
    expect(grewBytes).toBeLessThan(sizeBytes / 2);
  }, 300_000);

  it('the child-process check accepts a servable model and refuses one ONNX Runtime cannot load', async () => {
    const nats = await startNats();
    cleanups.push(() => nats.close());
    const dir = tempDir('infermesh-check-');
    cleanups.push(() => dir.cleanup());
    // Every file goes to the child.
    const registry = await startRegistry(dir.path, nats.url, { inspectOnnx: { inProcessMaxBytes: 0 } });
    cleanups.push(() => registry.close());
    const client = createRegistryClient(registry.address);
    cleanups.push(() => client.close());
    const v = await client.pushVersion('checked', tinyModel(1));
    expect(v.signature!.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: ['-1', '3'] }]);
    const bad = buildOnnxModel({
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', 3] }],
      nodes: [{ op: 'NoSuchOperator', inputs: ['x'], outputs: ['y'] }],
    });
    const err = await client.pushVersion('checked', bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfermeshError);
    expect((err as InfermeshError).code).toBe(Code.INVALID_ARGUMENT);
    expect((err as Error).message).toMatch(/ONNX Runtime cannot load the artifact/);
  });
});
