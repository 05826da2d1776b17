// REST in the mesh: `infermesh inference --http-port 0` announces http=, and a
// REST request for a model only a peer holds is forwarded to it (the same
// miss handler as gRPC), answering with the peer's result and counting there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { writeTestRepository } from '../fixtures/models.js';
import { startNats } from '../helpers/nats.js';
import { rest } from '../helpers/rest.js';
import type { ServiceProcess } from '../helpers/service-process.js';
import { constantModel, eventually, spawnNode, spawnRegistry, tempDirs } from './mesh-fixtures.js';

let nats: Awaited<ReturnType<typeof startNats>>;
let registry: ServiceProcess;
let holder: ServiceProcess;
let other: ServiceProcess;
let holderClient: InferenceClient;
const dirs = tempDirs();

beforeAll(async () => {
  nats = await startNats();
  registry = await spawnRegistry(nats.url, dirs.make('rest-mesh-registry-'));
  const repo = dirs.make('rest-mesh-repo-');
  await writeTestRepository({ 'only-here': { versions: { '1': constantModel(42) } } }, repo);
  holder = await spawnNode(nats.url, registry.endpoints.grpc!, dirs.make('rest-mesh-holder-'), ['--node-id', 'holder', '--model-repository', repo]);
  other = await spawnNode(nats.url, registry.endpoints.grpc!, dirs.make('rest-mesh-other-'), ['--node-id', 'other', '--http-port', '0']);
  holderClient = createInferenceClient(holder.endpoints.grpc!);
}, 60_000);

afterAll(async () => {
  holderClient?.close();
  await other?.stop();
  await holder?.stop();
  await registry?.stop();
  await nats?.close();
  dirs.cleanup();
});

describe('REST on a mesh node', () => {
  it('announces http= beside grpc= and node=', () => {
    expect(other.endpoints.http).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(other.endpoints.node).toBe('other');
    expect(holder.endpoints.http).toBeUndefined();
  });

  it('forwards a REST request for a model only a peer holds, and the peer counts it', async () => {
    const body = { id: 'fwd-1', inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [[1, 2]] }] };
    const before = Number((await holderClient.modelStatistics('only-here'))[0]!.inferenceCount);
    // Until the other node has heard the holder's heartbeat, it answers 404.
    const reply = await eventually(async () => {
      const r = await rest(other.endpoints.http!, 'POST', '/v2/models/only-here/infer', body);
      return r.status === 200 ? r : undefined;
    }, 'the other node to forward over REST');
    expect(reply.json).toMatchObject({ model_name: 'only-here', model_version: '1', id: 'fwd-1', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 1], data: [42] }] });
    expect(Number((await holderClient.modelStatistics('only-here'))[0]!.inferenceCount)).toBeGreaterThan(before);
  });
});
