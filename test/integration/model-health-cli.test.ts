import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { CLI } from '../helpers/service-process.js';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { createMonitorClient } from '../../shared/monitor-client/index.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { runCli as cli } from '../helpers/cli.js';
import { startNats } from '../helpers/nats.js';
import { TEST_RULES, sendTraffic, waitFor, writeHealthRepository } from './health-fixtures.js';

const run = promisify(execFile);

let dir: string;
let nats: Awaited<ReturnType<typeof startNats>>;
let monitor: ServiceProcess;
let server: ServiceProcess;
let client: InferenceClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'infermesh-health-cli-'));
  nats = await startNats();
  writeFileSync(join(dir, 'rules.json'), JSON.stringify(TEST_RULES));
  monitor = await spawnService([
    'monitor', '--grpc-port', '0', '--http-port', '0', '--data-dir', join(dir, 'monitor'), '--nats', nats.url,
    '--alert-rules', join(dir, 'rules.json'), '--reference-records', '100', '--health-window-records', '100', '--health-evaluate-interval-ms', '200',
  ]);
  server = await spawnService(['serve', '--model-repository', await writeHealthRepository(), '--grpc-port', '0', '--nats', nats.url, '--metrics-port', '0']);
  client = createInferenceClient(server.endpoints.grpc!);
});

afterAll(async () => {
  client?.close();
  await server?.stop();
  await monitor?.stop();
  await nats?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('infermesh models health, feedback and alerts (real processes)', () => {
  it('sends a feedback file, prints drift and accuracy, and lists the drift alert', async () => {
    const served = await sendTraffic(client, 100, { seed: 31, version: '1', idPrefix: 'ref' });
    const shifted = await sendTraffic(client, 150, { seed: 32, version: '1', shift: -3, feature: 0, idPrefix: 'shift' });
    const mc = createMonitorClient(monitor.endpoints.grpc!);
    await waitFor('the served records in the monitor', async () => Number((await mc.modelHealth('mlp').catch(() => ({ versions: [] }))).versions[0]?.records ?? 0) >= 250);

    const rows = ['id,label', ...shifted.map((s, i) => `${s.id},${i % 4 === 0 ? (s.predicted + 1) % 3 : s.predicted}`), 'unknown-id,1', 'bad-row'];
    writeFileSync(join(dir, 'bad.csv'), rows.join('\n'));
    const bad = await cli('feedback', join(dir, 'bad.csv'), '--model', 'mlp', '--monitor', monitor.endpoints.grpc!);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("feedback line 153: expected 'id,label', got 'bad-row'");
    writeFileSync(join(dir, 'labels.csv'), rows.slice(0, -1).join('\n') + '\n');
    const sent = await cli('feedback', join(dir, 'labels.csv'), '--model', 'mlp', '--monitor', monitor.endpoints.grpc!);
    expect(sent.stdout).toContain('150 accepted, 1 rejected');
    expect(sent.stdout).toContain("line 152: NOT_FOUND: no prediction record of model 'mlp' with request id 'unknown-id'");
    expect(sent.code).toBe(1);

    await waitFor('the drift alert', async () => (await mc.listAlerts({ model: 'mlp', firingOnly: true })).some((a) => a.rule === 'feature_drift'));
    await waitFor('accuracy from the feedback', async () => (await mc.modelHealth('mlp')).versions[0]!.quality!.samples === '150');
    mc.close();

    const health = await cli('models', 'health', 'mlp', '--monitor', monitor.endpoints.grpc!);
    expect(health.code).toBe(0);
    expect(health.stdout).toContain('version 1: 250 records; reference records (100 rows)');
    expect(health.stdout).toMatch(/x\[0\]\s+numeric\s+\d+\.\d{3}\s+ks\s+\d\.\d{3}\s+\S+\s+100\s+100\s+DRIFT/);
    expect(health.stdout).toContain('quality (150 labelled rows): accuracy 0.747');
    expect(health.stdout).toContain('FIRING');

    const json = JSON.parse((await cli('models', 'health', 'mlp', '--json', '--monitor', monitor.endpoints.grpc!)).stdout);
    expect(json.versions[0].features.find((f: { name: string }) => f.name === 'x[0]').drifting).toBe(true);

    const list = await cli('alerts', 'list', '--model', 'mlp', '--monitor', monitor.endpoints.grpc!);
    expect(list.stdout).toMatch(/FIRING .* drift\/feature_drift {2}mlp v1 x\[0\]/);
    expect(served.length).toBe(100);

    // Reference data for v2 (numpy, x[3] shifted by +3): its drift is measured against the file, not its first records.
    const npy = join(dir, 'reference.npy');
    await run('/usr/bin/python3', ['-c', `import numpy as np\nr = np.random.default_rng(5).standard_normal((2000, 4)).astype(np.float32)\nr[:, 3] += 3\nnp.save(${JSON.stringify(npy)}, r)`]);
    const ref = await cli('models', 'reference', 'mlp', '2', npy, '--input', 'x', '--monitor', monitor.endpoints.grpc!);
    expect(ref.stdout).toContain('reference of mlp version 2: 4 features from 2000 rows');
    await sendTraffic(client, 110, { seed: 33, version: '2' });
    const mc2 = createMonitorClient(monitor.endpoints.grpc!);
    await waitFor('v2 judged against the file', async () => {
      const v2 = (await mc2.modelHealth('mlp', { version: '2' }).catch(() => undefined))?.versions[0];
      return v2?.referenceSource === 'file' && Number(v2.windowSamples) === 100 && v2.outputs.length > 0;
    });
    const [v2] = (await mc2.modelHealth('mlp', { version: '2' })).versions;
    mc2.close();
    expect(v2!.referenceSamples).toBe('2000');
    expect(v2!.features.filter((f) => f.drifting).map((f) => f.name)).toEqual(['x[3]']);
    // Its outputs are profiled from its first 100 records (the file has inputs only).
    expect(v2!.outputs.map((f) => f.name)).toContain('predicted_class');

    // alerts watch replays the stream (--since-start) and prints the drift alert.
    const watch = spawn(process.execPath, [CLI, 'alerts', 'watch', '--nats', nats.url, '--model', 'mlp', '--since-start'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      watch.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor('alerts watch to print the drift alert', () => /FIRING .* drift\/feature_drift {2}mlp v1 x\[0\]/.test(out));
    } finally {
      watch.kill('SIGTERM');
      await new Promise((r) => (watch.exitCode !== null ? r(undefined) : watch.once('exit', r)));
    }

    const missing = await cli('models', 'health', 'nope', '--monitor', monitor.endpoints.grpc!);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("NOT_FOUND: the monitor holds no prediction records of model 'nope'");
  });
});
