// The node as its own process (`infermesh serve`), and graceful shutdown.
import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { buildInferRequest, createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { startInferenceNode } from '../../services/inference/index.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { buildMlpModel, buildSlowModel, writeTestRepository } from '../fixtures/models.js';

let repo: string;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  repo = await writeTestRepository({
    mlp: { versions: { '1': buildMlpModel() } },
    slow: { versions: { '1': buildSlowModel() } },
    broken: { versions: { '1': new Uint8Array([0xde, 0xad]) } },
  });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  if (repo) await rm(repo, { recursive: true, force: true });
});

const slowInput = () => [{ name: 'x', datatype: 'FP32' as const, shape: [2048, 512], data: new Float32Array(2048 * 512).fill(0.5) }];

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    // setImmediate, not a timer: onnxruntime-node runs on the event loop, so an in-process run
    // would block a timer; an immediate gets its turn between the handler and the run.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('infermesh serve', () => {
  it('announces its port, serves, and on SIGTERM finishes the call in flight and exits 0', async () => {
    const proc: ServiceProcess = await spawnService(['serve', '--model-repository', repo, '--grpc-port', '0'], { env: { LOG_LEVEL: 'debug' } });
    cleanups.push(() => proc.stop(2000));
    expect(proc.endpoints.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
    const client: InferenceClient = createInferenceClient(proc.endpoints.grpc!, { timeoutMs: 30_000 });
    cleanups.push(() => client.close());
    expect(await client.serverReady()).toBe(true);
    const index = await client.repositoryIndex();
    expect(index.find((m) => m.name === 'broken')?.state).toBe('UNAVAILABLE');
    expect(index.find((m) => m.name === 'mlp')?.state).toBe('READY');

    const calls = () => proc.output().split('\n').filter((l) => l.includes('"call started"') && l.includes('"ModelInfer"')).length;
    const inFlight = client.infer({ modelName: 'slow', inputs: slowInput() });
    await until(() => calls() >= 1, 'the node to receive the call');
    const exit = proc.stop(20_000);
    const answer = await inFlight;
    expect(answer.y!.shape).toEqual([2048, 512]);
    expect(await exit).toBe(0);
  });

  it('exits non-zero with a clear message for a bad flag', async () => {
    await expect(spawnService(['serve', '--model-repository', repo, '--grpc-port', 'eighty'])).rejects.toThrow(/--grpc-port must be a port number 0-65535, got 'eighty'/);
    await expect(spawnService(['serve', '--model-repository', `${repo}/does-not-exist`, '--grpc-port', '0'])).rejects.toThrow(/does not exist/);
  });
});

describe('graceful close in process', () => {
  it('turns ServerReady false at once, lets the call in flight finish, then stops', async () => {
    const node = await startInferenceNode({ repositoryDir: repo, logger: silentLogger });
    cleanups.push(() => node.close({ drainTimeoutMs: 1000 }));
    const client = createInferenceClient(node.grpcAddress, { timeoutMs: 30_000 });
    cleanups.push(() => client.close());
    const inFlight = client.infer({ modelName: 'slow', inputs: slowInput() });
    await until(() => node.manager.list().some((s) => s.model === 'slow' && s.inFlight > 0), 'the call to reach the node');
    const closing = node.close({ drainTimeoutMs: 20_000 });
    expect(node.server.ready).toBe(false);
    expect((await inFlight).y!.shape).toEqual([2048, 512]);
    await closing;
    await expect(client.serverLive({ timeoutMs: 2000 })).rejects.toMatchObject({ code: expect.any(Number) });
  });

  it('cuts off a call that outlasts the drain timeout (a stream the client leaves open)', async () => {
    const node = await startInferenceNode({ repositoryDir: repo, logger: silentLogger });
    cleanups.push(() => node.close({ drainTimeoutMs: 1000 }));
    const client = createInferenceClient(node.grpcAddress, { timeoutMs: 30_000 });
    cleanups.push(() => client.close());
    const stream = client.stream();
    const x = [{ name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: [1, 2, 3, 4] }];
    expect((await stream.infer(buildInferRequest({ modelName: 'mlp', inputs: x }))).modelName).toBe('mlp');
    const started = Date.now();
    await node.server.close({ drainTimeoutMs: 200 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(Date.now() - started).toBeLessThan(5000);
    await stream.closed;
    await expect(stream.infer(buildInferRequest({ modelName: 'mlp', inputs: x }))).rejects.toMatchObject({ code: expect.any(Number) });
  });
});
