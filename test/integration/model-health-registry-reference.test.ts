// A version's reference data stored in the registry at registration, and a
// fresh monitor that measures drift against it (real registry, monitor,
// inference node and NATS; the CLI as its own process).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import { createMonitorClient } from '../../shared/monitor-client/index.js';
import { createRegistryClient, type RegistryClient } from '../../shared/registry-client/index.js';
import type { RegistryService } from '../../services/registry/index.js';
import { parseNpy } from '../../services/monitor/cli/reference-file.js';
import { buildMlpModel } from '../fixtures/models.js';
import { runCli as cli } from '../helpers/cli.js';
import { startNats } from '../helpers/nats.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { TEST_RULES, sendTraffic, waitFor, writeHealthRepository } from './health-fixtures.js';
import { startRegistry, tempDir } from './registry-fixtures.js';

const run = promisify(execFile);

let dir: ReturnType<typeof tempDir>;
let nats: Awaited<ReturnType<typeof startNats>>;
let registry: RegistryService;
let client: RegistryClient;
let server: ServiceProcess | undefined;
let monitor: ServiceProcess | undefined;
let inference: InferenceClient | undefined;

async function codeOf(promise: Promise<unknown>): Promise<InfermeshError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InfermeshError);
  return err as InfermeshError;
}

beforeAll(async () => {
  dir = tempDir('infermesh-health-ref-');
  nats = await startNats();
  registry = await startRegistry(join(dir.path, 'registry'), nats.url);
  client = createRegistryClient(registry.address);
  writeFileSync(join(dir.path, 'mlp.onnx'), buildMlpModel());
  writeFileSync(join(dir.path, 'rules.json'), JSON.stringify(TEST_RULES));
  // 2000 rows of 4 standard normals, x[3] shifted by +3: traffic without the shift drifts in x[3] only.
  await run('/usr/bin/python3', ['-c', `import numpy as np\nr = np.random.default_rng(5).standard_normal((2000, 4)).astype(np.float32)\nr[:, 3] += 3\nnp.save(${JSON.stringify(join(dir.path, 'ref.npy'))}, r)`]);
});

afterAll(async () => {
  inference?.close();
  await server?.stop();
  await monitor?.stop();
  client?.close();
  await registry?.close();
  await nats?.close();
  dir?.cleanup();
});

describe('reference data stored in the registry', () => {
  it('models push --reference stores the rows with the version; GetReference returns them; the event announces it', async () => {
    const push = await cli('models', 'push', join(dir.path, 'mlp.onnx'), '--name', 'mlp', '--reference', join(dir.path, 'ref.npy'), '--registry', registry.address);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    expect(push.stdout).toContain('pushed mlp version 1');
    expect(push.stdout).toContain('reference: 4 features, 2000 of 2000 rows, stored with version 1');

    const { info, reference } = await client.getReference('mlp', 1);
    expect(info).toMatchObject({ model: 'mlp', version: 1, input: 'x', features: 4, rows: 2000, totalRows: '2000' });
    expect(reference!.features).toEqual(['x[0]', 'x[1]', 'x[2]', 'x[3]']);
    const file = parseNpy(readFileSync(join(dir.path, 'ref.npy')));
    expect(reference!.values).toEqual(Array.from(file.values));

    const events: string[] = [];
    for await (const e of client.watch({ fromSequence: 1, model: 'mlp', signal: AbortSignal.timeout(2000) })) {
      events.push(e.event!);
      if (e.event === 'referenceSet') {
        expect(e.referenceSet).toEqual({ model: 'mlp', version: 1, input: 'x', features: 4, rows: 2000 });
        break;
      }
    }
    expect(events).toEqual(['modelCreated', 'versionCreated', 'referenceSet']);
  });

  it('refuses bad references with a clear message and stores nothing', async () => {
    // A second version without a reference: GetReference is NOT_FOUND.
    await client.pushVersion('mlp', buildMlpModel(), { config: {} });
    const none = await codeOf(client.getReference('mlp', 2));
    expect(Code[none.code]).toBe('NOT_FOUND');
    expect(none.message).toContain("version 2 of model 'mlp' has no reference profile");

    const base = { input: 'x', features: ['a', 'b'], rows: 1, totalRows: 1, values: [1, 2] };
    const tooMany = await codeOf(client.setReference('mlp', 2, { ...base, rows: 5001, totalRows: 5001, values: new Array(10_002).fill(0) }));
    expect(Code[tooMany.code]).toBe('INVALID_ARGUMENT');
    expect(tooMany.message).toContain('reference has 5001 rows; expected 1 to 5000');
    const wide = await codeOf(client.setReference('mlp', 2, { ...base, features: Array.from({ length: 1025 }, (_, i) => `f${i}`), values: new Array(1025).fill(0) }));
    expect(wide.message).toContain('reference has 1025 features; expected 1 to 1024');
    const big = await codeOf(client.setReference('mlp', 2, { ...base, features: Array.from({ length: 1000 }, (_, i) => `f${i}`), rows: 1100, totalRows: 1100, values: new Array(1_100_000).fill(0.5) }));
    expect(big.message).toMatch(/reference is \d+ bytes; at most 8388608 \(8 MiB\)/);
    const nan = await codeOf(client.setReference('mlp', 2, { ...base, values: [1, Number.NaN] }));
    expect(nan.message).toContain("reference row 1 feature 'b' is not a finite number");
    // In an upload's metadata: refused before any bytes, and no version is stored.
    const upload = await codeOf(client.pushVersion('mlp', buildMlpModel(), { config: {}, reference: { ...base, rows: 5001, totalRows: 5001, values: new Array(10_002).fill(0) } }));
    expect(upload.message).toContain('metadata.reference has 5001 rows; expected 1 to 5000');
    expect((await client.getModel('mlp')).latestVersion).toBe(2);
    const unknown = await codeOf(client.setReference('mlp', 9, base));
    expect(Code[unknown.code]).toBe('NOT_FOUND');
    expect(Code[(await codeOf(client.getReference('mlp', 2))).code]).toBe('NOT_FOUND');

    // The CLI: an unknown version, and a file with a row that is not a number (nothing uploaded).
    const ref = await cli('models', 'reference', 'mlp', '9', join(dir.path, 'ref.npy'), '--input', 'x', '--registry', registry.address);
    expect(ref.code).toBe(1);
    expect(ref.stderr).toContain("NOT_FOUND: model 'mlp' has no version 9");
    writeFileSync(join(dir.path, 'bad.csv'), 'x[0],x[1]\n1,2\n3,nan\n');
    const push = await cli('models', 'push', join(dir.path, 'mlp.onnx'), '--name', 'mlp', '--reference', join(dir.path, 'bad.csv'), '--registry', registry.address);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain("CSV row 3 column 2 is not a number: 'nan'");
    expect((await client.getModel('mlp')).latestVersion).toBe(2);

    // `models reference` stores one for an existing version.
    const set = await cli('models', 'reference', 'mlp', '2', join(dir.path, 'ref.npy'), '--input', 'x', '--registry', registry.address);
    expect(set.stdout).toContain(`reference of mlp version 2: 4 features, 2000 of 2000 rows, stored in the registry at ${registry.address}`);
    expect((await client.getReference('mlp', 2)).info!.rows).toBe(2000);
  });

  it('a fresh monitor with --registry measures drift against the registry reference from the first window, and follows its replacement', async () => {
    monitor = await spawnService([
      'monitor', '--grpc-port', '0', '--http-port', '0', '--data-dir', join(dir.path, 'monitor'), '--nats', nats.url, '--registry', registry.address,
      '--alert-rules', join(dir.path, 'rules.json'), '--reference-records', '100', '--health-window-records', '100', '--health-evaluate-interval-ms', '200',
    ]);
    server = await spawnService(['serve', '--model-repository', await writeHealthRepository(), '--grpc-port', '0', '--nats', nats.url, '--metrics-port', '0']);
    inference = createInferenceClient(server.endpoints.grpc!);
    // Traffic from the plain normal distribution: its first 100 records would make a reference without drift.
    await sendTraffic(inference, 110, { seed: 41, version: '1' });
    const mc = createMonitorClient(monitor.endpoints.grpc!);
    try {
      await waitFor('v1 judged against the registry reference', async () => {
        const v1 = (await mc.modelHealth('mlp', { version: '1' }).catch(() => undefined))?.versions[0];
        return v1?.referenceSource === 'file' && Number(v1.windowSamples) >= 100;
      });
      const [v1] = (await mc.modelHealth('mlp', { version: '1' })).versions;
      expect(v1!.referenceSamples).toBe('2000');
      expect(v1!.features.filter((f) => f.drifting).map((f) => f.name)).toEqual(['x[3]']);
      await waitFor('the drift alert on x[3]', async () => (await mc.listAlerts({ model: 'mlp', firingOnly: true })).some((a) => a.rule === 'feature_drift' && a.subject === 'x[3]'));

      // A new reference for v1 (no shift in x[3]): its ReferenceSet event makes the monitor fetch it, and the drift goes.
      await run('/usr/bin/python3', ['-c', `import numpy as np\nnp.save(${JSON.stringify(join(dir.path, 'plain.npy'))}, np.random.default_rng(6).standard_normal((1500, 4)).astype(np.float32))`]);
      const set = await cli('models', 'reference', 'mlp', '1', join(dir.path, 'plain.npy'), '--input', 'x', '--registry', registry.address);
      expect(set.code).toBe(0);
      await waitFor('v1 judged against the replaced reference', async () => {
        const v = (await mc.modelHealth('mlp', { version: '1' })).versions[0]!;
        return v.referenceSamples === '1500' && v.features.length === 4 && v.features.every((f) => !f.drifting);
      });
    } finally {
      mc.close();
    }
  });
});
