import { afterEach, describe, expect, it } from 'vitest';
import { Tensor } from 'onnxruntime-node';
import { addOneModel, stringIdentityModel } from '../../../bench/sample-models.js';
import { createSessionRunner, type SessionRunner } from './session-runner.js';

const OPTIONS = { executionMode: 'sequential' as const, intraOpNumThreads: 1, interOpNumThreads: 1 };

describe.each(['main', 'worker'] as const)('session runner on the %s thread', (thread) => {
  let runner: SessionRunner | undefined;
  afterEach(async () => {
    await runner?.release();
    runner = undefined;
  });

  it('runs the model and says how long the run took', async () => {
    runner = await createSessionRunner(thread, addOneModel(3), OPTIONS);
    expect(runner.outputNames).toEqual(['y']);
    const x = new Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const { outputs, runNs } = await runner.run({ x }, ['y'], false);
    expect(outputs.y).toBeInstanceOf(Tensor);
    expect(outputs.y!.dims).toEqual([2, 3]);
    expect([...(outputs.y!.data as Float32Array)]).toEqual([2, 3, 4, 5, 6, 7]);
    expect(runNs).toBeGreaterThan(0n);
    // The caller's buffer is left as it was (not moved to the worker).
    expect(x.data.byteLength).toBe(24);
  });

  it('runs BYTES tensors', async () => {
    runner = await createSessionRunner(thread, stringIdentityModel(), OPTIONS);
    const { outputs } = await runner.run({ x: new Tensor('string', ['a', 'bc'], [1, 2]) }, ['y'], false);
    expect(outputs.y!.data).toEqual(['a', 'bc']);
  });

  it('rejects a missing input, an unknown output and no output, naming what was wrong', async () => {
    runner = await createSessionRunner(thread, addOneModel(3), OPTIONS);
    const x = new Tensor('float32', new Float32Array(3), [1, 3]);
    await expect(runner.run({}, ['y'], false)).rejects.toThrow(/input 'x' is missing/);
    await expect(runner.run({ x }, ['z'], false)).rejects.toThrow(/unknown output 'z'.*y/);
    await expect(runner.run({ x }, [], false)).rejects.toThrow(/no output requested/);
    // ORT's own checks still answer (a wrong shape).
    await expect(runner.run({ x: new Tensor('float32', new Float32Array(4), [1, 4]) }, ['y'], false)).rejects.toThrow(/invalid dimensions/i);
    // And the session still runs afterwards.
    expect((await runner.run({ x }, ['y'], false)).outputs.y!.dims).toEqual([1, 3]);
  });

  it('refuses to run once released', async () => {
    runner = await createSessionRunner(thread, addOneModel(3), OPTIONS);
    await runner.release();
    await expect(runner.run({ x: new Tensor('float32', new Float32Array(3), [1, 3]) }, ['y'], false)).rejects.toThrow(/released|exited|terminated|disposed/i);
  });
});

describe('session runner on the main thread', () => {
  it('runs before run() returns: no event-loop turn between the call and the run', async () => {
    const runner = await createSessionRunner('main', addOneModel(3), OPTIONS);
    try {
      let turned = false;
      setImmediate(() => (turned = true));
      const result = await runner.run({ x: new Tensor('float32', new Float32Array(3), [1, 3]) }, ['y'], false);
      expect(result.outputs.y!.dims).toEqual([1, 3]);
      expect(turned).toBe(false);
    } finally {
      await runner.release();
    }
  });
});
