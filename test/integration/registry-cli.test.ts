import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../shared/nats/index.js';
import type { NatsConnection } from '@nats-io/nats-core';
import { startNats } from '../helpers/nats.js';
import { CLI, spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { eventually, streamMessages, tempDir, tinyModel } from './registry-fixtures.js';

/** Runs `infermesh <args>` to completion. */
function infermesh(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('infermesh registry and infermesh models, as processes', () => {
  let nats: Awaited<ReturnType<typeof startNats>>;
  let nc: NatsConnection;
  let dir: ReturnType<typeof tempDir>;
  let registry: ServiceProcess;
  let address: string;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url });
    dir = tempDir('infermesh-registry-cli-');
    registry = await spawnService(['registry', '--grpc-port', '0', '--data-dir', join(dir.path, 'data'), '--nats', nats.url]);
    address = registry.endpoints.grpc!;
    writeFileSync(join(dir.path, 'v1.onnx'), tinyModel(1));
    writeFileSync(join(dir.path, 'v2.onnx'), tinyModel(2));
    writeFileSync(join(dir.path, 'config.json'), JSON.stringify({ maxBatchSize: 4 }));
  });
  afterAll(async () => {
    if (registry) expect(await registry.stop()).toBe(0);
    await nc?.close();
    await nats?.close();
    dir?.cleanup();
  });

  it('announces its gRPC address', () => {
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('pushes, lists, shows, promotes and deletes versions', async () => {
    const push1 = await infermesh(['models', 'push', join(dir.path, 'v1.onnx'), '--name', 'cli-model', '--alias', 'production', '--config', join(dir.path, 'config.json'), '--label', 'owner=cli', '--registry', address]);
    expect(push1).toMatchObject({ code: 0, stderr: '' });
    expect(push1.stdout).toMatch(/^pushed cli-model version 1 \(sha256 [0-9a-f]{64}, \d+ bytes, production -> 1\)/);
    const push2 = await infermesh(['models', 'push', join(dir.path, 'v2.onnx'), '--name', 'cli-model', '--description', 'second'], { INFERMESH_REGISTRY: address });
    expect(push2.code).toBe(0);

    const list = await infermesh(['models', 'list', '--registry', address]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/NAME\s+LATEST\s+ALIASES/);
    expect(list.stdout).toMatch(/cli-model\s+2\s+production=1/);

    const show = await infermesh(['models', 'show', 'cli-model', '--registry', address]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('aliases: production=1');
    expect(show.stdout).toMatch(/\n2\s+[0-9a-f]{12}\s+\d+\s+\S+\s+x:FP32\[-1,2\]\s+y:FP32\[-1,3\]\s+second/);

    const promote = await infermesh(['models', 'promote', 'cli-model', '2', '--registry', address]);
    expect(promote).toMatchObject({ code: 0, stdout: 'cli-model: production -> 2 (weight 100)\n' });
    const canary = await infermesh(['models', 'promote', 'cli-model', '1', '--alias', 'canary', '--weight', '20', '--registry', address]);
    expect(canary.stdout).toBe('cli-model: canary -> 1 (weight 20)\n');

    const refused = await infermesh(['models', 'delete', 'cli-model', '2', '--registry', address]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^infermesh models delete: FAILED_PRECONDITION: version 2 of model 'cli-model' is aliased \(production\)/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);

    const events = await eventually('the CLI changes on REGISTRY', async () => {
      const m = (await streamMessages(nc)).filter((x) => x.subject.endsWith('.cli-model'));
      return m.length >= 6 && m;
    });
    expect(events.map((m) => m.subject.split('.').slice(2, 4).join('.'))).toEqual([
      'model.created',
      'version.created',
      'alias.changed',
      'version.created',
      'alias.changed',
      'alias.changed',
    ]);

    // Ending the canary frees its version for deletion.
    const unalias = await infermesh(['models', 'unalias', 'cli-model', 'canary', '--registry', address]);
    expect(unalias).toMatchObject({ code: 0, stdout: 'cli-model: canary removed\n' });
    expect((await infermesh(['models', 'show', 'cli-model', '--registry', address])).stdout).not.toContain('canary=');
    expect(await infermesh(['models', 'delete', 'cli-model', '1', '--registry', address])).toMatchObject({ code: 0, stdout: 'deleted cli-model version 1\n' });
    const unknown = await infermesh(['models', 'unalias', 'cli-model', 'canary', '--registry', address]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^infermesh models unalias: NOT_FOUND: /);
  });

  it('a push without --config inherits the serving config of the version it follows and says so; a push that changes it prints the difference', async () => {
    const cfg = (name: string, config: object) => {
      writeFileSync(join(dir.path, name), JSON.stringify(config));
      return join(dir.path, name);
    };
    const push = (file: string, extra: string[]) => infermesh(['models', 'push', join(dir.path, file), '--name', 'cfg-model', '--registry', address, ...extra]);
    const first = await push('v1.onnx', ['--alias', 'production', '--config', cfg('batch.json', { maxBatchSize: 32, maxQueueDelayUs: 500 })]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout.trim().split('\n')).toHaveLength(1); // a new model: nothing to inherit or compare

    const inherited = await push('v2.onnx', ['--alias', 'production']);
    expect(inherited.code).toBe(0);
    expect(inherited.stdout).toContain('config: inherited from version 1 (no --config given): {"maxBatchSize":32,"maxQueueDelayUs":500}');
    const show = JSON.parse((await infermesh(['models', 'show', 'cfg-model', '--json', '--registry', address])).stdout) as { versions: { version: number; configJson: string }[] };
    expect(JSON.parse(show.versions.find((v) => v.version === 2)!.configJson)).toEqual({ maxBatchSize: 32, maxQueueDelayUs: 500 });

    const changed = await push('v1.onnx', ['--alias', 'production', '--config', cfg('nobatch.json', { maxBatchSize: 0, priorityLevels: 2 })]);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toContain('config: changed from version 2:\n    maxBatchSize: 32 -> 0\n  - maxQueueDelayUs: 500\n  + priorityLevels: 2\n');
  });

  it('reports errors with the status name, exit 1, and usage mistakes with exit 2', async () => {
    const missing = await infermesh(['models', 'show', 'nope', '--registry', address]);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe("infermesh models show: NOT_FOUND: model 'nope' does not exist\n");

    const notOnnx = join(dir.path, 'junk.onnx');
    writeFileSync(notOnnx, 'not a model');
    const invalid = await infermesh(['models', 'push', notOnnx, '--name', 'junk', '--registry', address]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^infermesh models push: INVALID_ARGUMENT: the artifact is not a servable ONNX model/);

    expect((await infermesh(['models', 'promote', 'cli-model', 'two', '--registry', address])).code).toBe(2);
    expect((await infermesh(['models', 'list'], { INFERMESH_REGISTRY: '' })).code).toBe(2);
    expect((await infermesh(['models', 'push', '--registry', address])).code).toBe(2);
    expect((await infermesh(['models', 'list', '--bogus'])).code).toBe(2);
    const help = await infermesh(['models', 'push', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--registry <host:port>');
    const badFlag = await infermesh(['registry', '--grpc-port', 'x', '--data-dir', dir.path]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--grpc-port must be a port number');
  });

  it('stops cleanly on SIGTERM with its events published', async () => {
    const dataDir = join(dir.path, 'second');
    const second = await spawnService(['registry', '--grpc-port', '0', '--nats', nats.url], { env: { INFERMESH_DATA_DIR: dataDir } });
    const push = await infermesh(['models', 'push', join(dir.path, 'v1.onnx'), '--name', 'sigterm-model', '--registry', second.endpoints.grpc!]);
    expect(push.code).toBe(0);
    expect(await second.stop()).toBe(0);
    const events = (await streamMessages(nc)).filter((x) => x.subject.endsWith('.sigterm-model'));
    expect(events).toHaveLength(2);
  });
});
