// `infermesh up` (npm start): the whole mesh from one command, and Ctrl-C stops all of it.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createInferenceClient } from '../../shared/client/index.js';
import { isPortTaken } from '../../shared/net/index.js';
import { createRegistryClient } from '../../shared/registry-client/index.js';
import { createRecommenderClient } from '../../services/recommender/client/index.js';
import { DEMO_MODEL_NAME } from '../../shared/demo/index.js';
import { CLI, spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { eventually, tempDirs } from './mesh-fixtures.js';

const dirs = tempDirs();
let up: ServiceProcess | undefined;

afterAll(async () => {
  await up?.stop(20_000);
  dirs.cleanup();
});

/** Direct children of a process (pids). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => s.trim()).filter(Boolean).map(Number);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('infermesh up', () => {
  it('starts NATS, monitor, registry, a node serving the demo model and the recommender; SIGINT stops everything and exits 0', async () => {
    const dataDir = dirs.make('mesh-up-');
    up = await spawnService(
      ['up', '--data-dir', dataDir, '--nats-port', '0', '--registry-port', '0', '--grpc-port', '0', '--monitor-grpc-port', '0', '--monitor-http-port', '0', '--recommender-port', '0'],
      { env: { NATS_URL: '' }, timeoutMs: 120_000 },
    );
    const { grpc, registry, nats, monitor, recommender } = up.endpoints;
    expect(grpc).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(registry).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(nats).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(monitor).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(recommender).toMatch(/^127\.0\.0\.1:\d+$/);
    // It printed how to call it.
    expect(up.output()).toContain(`infermesh infer ${DEMO_MODEL_NAME} --input x='[[0.1,0.2,0.3,0.4]]' --server ${grpc}`);
    expect(up.output()).toContain(`infermesh models list --registry ${registry}`);

    const node = createInferenceClient(grpc!, { timeoutMs: 10_000 });
    const reg = createRegistryClient(registry!);
    try {
      const out = await node.infer({ modelName: DEMO_MODEL_NAME, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] });
      const p = Array.from(out.probabilities!.data as Float32Array);
      expect(p).toHaveLength(3);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      const model = await reg.getModel(DEMO_MODEL_NAME);
      expect(model.aliases.find((a) => a.name === 'production')?.version).toBe(1);
      // The recommender answers; with no interactions yet it serves no model version.
      const rec = createRecommenderClient(recommender!);
      try {
        const info = await rec.modelInfo({ timeoutMs: 10_000 });
        expect(info.version).toBe(0);
      } finally {
        rec.close();
      }
    } finally {
      node.close();
      reg.close();
    }

    // The command it prints works as printed: outputs as JSON, then the version that answered.
    const printed = execFileSync(process.execPath, [CLI, 'infer', DEMO_MODEL_NAME, '--input', 'x=[[0.1,0.2,0.3,0.4]]', '--server', grpc!], { encoding: 'utf8' }).trim().split('\n');
    expect(JSON.parse(printed[0]!).probabilities).toMatchObject({ datatype: 'FP32', shape: [1, 3] });
    expect(printed[1]).toMatch(new RegExp(`^model=${DEMO_MODEL_NAME} version=1( trace_id=[0-9a-f]{32})?$`));

    const children = childrenOf(up.child.pid!);
    expect(children.length).toBe(5); // nats-server, monitor, registry, inference, recommender
    const natsPort = Number(nats!.split(':').pop());
    const exited = new Promise<number | null>((resolve) => up!.child.once('exit', (code) => resolve(code)));
    up.child.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const pid of children) await eventually(async () => !alive(pid), `child ${pid} to be gone`, 5000);
    expect(await isPortTaken(natsPort)).toBe(false);
  });
});
