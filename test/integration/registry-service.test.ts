import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import { PACKAGED_MODELS, packagedModelPath } from '../../shared/onnx/index.js';
import { createRegistryClient, createRegistryEventFollower, type RegistryClient } from '../../shared/registry-client/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import type { RegistryService } from '../../services/registry/index.js';
import { startNats } from '../helpers/nats.js';
import { artifactFiles, eventually, openRawUpload, rawUpload, startRegistry, streamMessages, tempDir, tinyModel } from './registry-fixtures.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof InfermeshError)) throw new Error(`expected an InfermeshError, got ${String(err)}`);
  return Code[err.code];
}

describe('registry service (in process, real NATS, SQLite)', () => {
  let nats: Awaited<ReturnType<typeof startNats>>;
  let nc: NatsConnection;
  let dir: ReturnType<typeof tempDir>;
  let registry: RegistryService;
  let client: RegistryClient;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    dir = tempDir('infermesh-registry-');
    registry = await startRegistry(dir.path, nats.url, { maxArtifactBytes: 4 << 20 });
    client = createRegistryClient(registry.address);
  });
  afterAll(async () => {
    client?.close();
    await registry?.close();
    await nc?.close();
    await nats?.close();
    dir?.cleanup();
  });

  it('commits a pushed version and publishes version.created on REGISTRY with the right payload', async () => {
    const bytes = tinyModel(1);
    const v = await client.pushVersion('tiny', bytes, {
      description: 'first',
      labels: { stage: 'test' },
      lineage: { trainingRunId: 'run-7', dataset: 'synthetic', metrics: { loss: 0.25 } },
      config: { maxBatchSize: 8, preferredBatchSizes: [4, 8], maxQueueDelayUs: 500 },
    });
    expect(v).toMatchObject({ model: 'tiny', version: 1, sha256: sha256(bytes), sizeBytes: String(bytes.byteLength) });
    expect(v.signature!.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: ['-1', '2'] }]);
    expect(JSON.parse(v.configJson)).toEqual({ maxBatchSize: 8, preferredBatchSizes: [4, 8], maxQueueDelayUs: 500 });

    const messages = await eventually('two events in REGISTRY', async () => {
      const m = await streamMessages(nc);
      return m.length >= 2 && m;
    });
    expect(messages.map((m) => m.subject)).toEqual(['infermesh.registry.model.created.tiny', 'infermesh.registry.version.created.tiny']);
    const created = messages[1]!;
    expect(created.msgId).toBe(`${registry.store.registryId}:2`);
    expect(created.event).toMatchObject({ sequence: '2', registryId: registry.store.registryId, event: 'versionCreated' });
    expect(created.event.versionCreated).toMatchObject({
      model: 'tiny',
      version: 1,
      sha256: sha256(bytes),
      sizeBytes: String(bytes.byteLength),
      labels: { stage: 'test' },
      description: 'first',
      lineage: { trainingRunId: 'run-7', dataset: 'synthetic', metrics: { loss: 0.25 } },
    });
    expect(JSON.parse(created.event.versionCreated!.configJson)).toMatchObject({ maxBatchSize: 8 });
    expect(created.event.versionCreated!.signature!.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: ['-1', '3'] }]);
  });

  it('registers a real network (the PP-OCR classifier) with its signature read from the file', async () => {
    const path = packagedModelPath(PACKAGED_MODELS.ocrClassifier);
    const v = await client.pushVersion('ocr-cls', path, { alias: 'production', config: { maxBatchSize: 4 } });
    expect(v.sha256).toBe(sha256(readFileSync(path)));
    expect(v.signature!.inputs[0]).toMatchObject({ name: 'x', datatype: 'FP32', shape: ['-1', '3', '-1', '-1'] });
    expect(v.signature!.outputs[0]).toMatchObject({ datatype: 'FP32', shape: ['-1', '2'] });
    const model = await client.getModel('ocr-cls');
    expect(model.aliases).toMatchObject([{ name: 'production', version: 1, weight: 100 }]);
    expect(model.versions.map((x) => x.version)).toEqual([1]);
  });

  it('moves aliases atomically, weights canaries, and refuses to delete an aliased version', async () => {
    for (const seed of [2, 3]) await client.pushVersion('tiny', tinyModel(seed));
    const before = await registry.store.lastSequence();
    await client.setAlias('tiny', 'production', 1);
    await client.setAlias('tiny', 'production', 2);
    await client.setAlias('tiny', 'canary', 3, 10);
    expect(await codeOf(client.setAlias('tiny', 'canary', 3))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(client.setAlias('tiny', 'canary', 3, 101))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(client.setAlias('tiny', 'production', 42))).toBe('NOT_FOUND');
    expect(await codeOf(client.setAlias('nope', 'production', 1))).toBe('NOT_FOUND');
    expect((await client.getVersion('tiny', { alias: 'production' })).version).toBe(2);
    expect((await client.getVersion('tiny', {})).version).toBe(3);

    expect(await codeOf(client.deleteVersion('tiny', 2))).toBe('FAILED_PRECONDITION');
    expect(await codeOf(client.deleteVersion('tiny', 3))).toBe('FAILED_PRECONDITION');
    await client.deleteAlias('tiny', 'canary');
    await client.deleteVersion('tiny', 3);
    expect(await codeOf(client.getVersion('tiny', { version: 3 }))).toBe('NOT_FOUND');
    expect(artifactFiles(dir.path).stored).not.toContain(sha256(tinyModel(3)));

    const events = await eventually('the alias events', async () => {
      const m = (await streamMessages(nc)).filter((x) => Number(x.event.sequence) > before);
      return m.length >= 5 && m;
    });
    expect(events.map((e) => [e.subject, e.event.aliasChanged ?? e.event.versionDeleted])).toEqual([
      ['infermesh.registry.alias.changed.tiny', { model: 'tiny', alias: 'production', version: 1, weight: 100, previousVersion: 0 }],
      ['infermesh.registry.alias.changed.tiny', { model: 'tiny', alias: 'production', version: 2, weight: 100, previousVersion: 1 }],
      ['infermesh.registry.alias.changed.tiny', { model: 'tiny', alias: 'canary', version: 3, weight: 10, previousVersion: 0 }],
      ['infermesh.registry.alias.changed.tiny', { model: 'tiny', alias: 'canary', version: 0, weight: 0, previousVersion: 3 }],
      ['infermesh.registry.version.deleted.tiny', { model: 'tiny', version: 3, sha256: sha256(tinyModel(3)) }],
    ]);
  });

  it('lists and filters models page by page', async () => {
    await client.createModel({ name: 'list-b', tags: ['vision'], labels: { team: 'x' } });
    await client.createModel({ name: 'list-a', tags: ['text'], labels: { team: 'x' } });
    await client.createModel({ name: 'list-c', tags: ['vision'], labels: { team: 'y' } });
    expect(await codeOf(client.createModel({ name: 'list-a' }))).toBe('ALREADY_EXISTS');
    expect(await codeOf(client.createModel({ name: 'bad.name' }))).toBe('INVALID_ARGUMENT');
    const first = await client.listModels({ namePrefix: 'list-', pageSize: 2 });
    expect(first.models.map((m) => m.name)).toEqual(['list-a', 'list-b']);
    const second = await client.listModels({ namePrefix: 'list-', pageSize: 2, pageToken: first.nextPageToken });
    expect(second.models.map((m) => m.name)).toEqual(['list-c']);
    expect(second.nextPageToken).toBe('');
    const vision: string[] = [];
    for await (const m of client.listAllModels({ tag: 'vision', labels: { team: 'x' } })) vision.push(m.name);
    expect(vision).toEqual(['list-b']);
  });

  it('streams committed changes with Watch, live and replayed from a sequence, filtered by model', async () => {
    const stop = new AbortController();
    const live: string[] = [];
    // From the next sequence: what commits from now on, whether before or after the stream is open.
    const fromSequence = (await registry.store.lastSequence()) + 1;
    const watching = (async () => {
      for await (const e of client.watch({ model: 'watched', fromSequence, signal: stop.signal })) {
        live.push(`${e.event}:${e.versionCreated?.version ?? e.aliasChanged?.alias ?? ''}`);
        if (live.length === 3) stop.abort();
      }
    })();
    await client.pushVersion('other', tinyModel(50));
    await client.pushVersion('watched', tinyModel(51));
    await client.setAlias('watched', 'staging', 1);
    await watching;
    expect(live).toEqual(['modelCreated:', 'versionCreated:1', 'aliasChanged:staging']);

    const replay: string[] = [];
    for await (const e of client.watch({ fromSequence: 1, signal: AbortSignal.timeout(5000) })) {
      replay.push(e.sequence);
      if (replay.length === 3) break;
    }
    expect(replay).toEqual(['1', '2', '3']);
  });

  it('downloads verified bytes, resumes from an offset, and reports a corrupt file as DATA_LOSS', async () => {
    const bytes = tinyModel(60);
    const v = await client.pushVersion('dl', bytes, { alias: 'production' });
    const collect = async (offset: number) => {
      const { info, chunks } = await client.download('dl', { alias: 'production', offset });
      const parts: Uint8Array[] = [];
      for await (const c of chunks) parts.push(c);
      return { info, data: Buffer.concat(parts) };
    };
    const whole = await collect(0);
    expect(whole.info).toMatchObject({ version: v.version, sha256: v.sha256, offset: '0' });
    expect(Buffer.compare(whole.data, Buffer.from(bytes))).toBe(0);
    const tail = await collect(100);
    expect(Buffer.compare(tail.data, Buffer.from(bytes.subarray(100)))).toBe(0);
    expect(await codeOf(collect(bytes.byteLength + 1))).toBe('OUT_OF_RANGE');

    // A download that stopped half-way resumes from the .part file.
    const target = join(dir.path, 'out.onnx');
    writeFileSync(`${target}.part`, bytes.subarray(0, 57));
    await client.downloadToFile('dl', target, { version: v.version });
    expect(sha256(readFileSync(target))).toBe(v.sha256);

    const stored = join(dir.path, 'artifacts', 'sha256', v.sha256.slice(0, 2), v.sha256);
    const corrupt = Buffer.from(readFileSync(stored));
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1);
    writeFileSync(stored, corrupt);
    expect(await codeOf(collect(0))).toBe('DATA_LOSS');
  });

  describe('bad uploads leave no temp file, no artifact and no row', () => {
    const good = tinyModel(70);
    const meta = (over: Record<string, unknown> = {}) => ({
      metadata: { model: 'tiny', sha256: sha256(good), sizeBytes: good.byteLength, createModelIfMissing: true, ...over },
    });
    const cases: [string, () => Parameters<typeof rawUpload>[1], string][] = [
      ['not ONNX', () => [meta({ sha256: sha256(Buffer.from('hello world')), sizeBytes: 11 }), { chunk: Buffer.from('hello world') }], 'INVALID_ARGUMENT'],
      [
        'ONNX that ONNX Runtime cannot load',
        () => {
          const bad = Buffer.from(good).toString('latin1').replace('MatMul', 'NoSuchOp'.slice(0, 6));
          const bytes = Buffer.from(bad, 'latin1');
          return [meta({ sha256: sha256(bytes), sizeBytes: bytes.byteLength }), { chunk: bytes }];
        },
        'INVALID_ARGUMENT',
      ],
      ['a hash mismatch', () => [meta({ sha256: 'ab'.repeat(32) }), { chunk: good }], 'DATA_LOSS'],
      ['a truncated upload', () => [meta(), { chunk: good.subarray(0, good.byteLength - 10) }], 'DATA_LOSS'],
      ['more bytes than declared', () => [meta({ sizeBytes: good.byteLength - 1 }), { chunk: good }], 'INVALID_ARGUMENT'],
      ['a declared size over the limit', () => [meta({ sizeBytes: 5 << 20 }), { chunk: good }], 'RESOURCE_EXHAUSTED'],
      ['an existing version', () => [meta({ version: 1 }), { chunk: good }], 'ALREADY_EXISTS'],
      ['an unknown model', () => [meta({ model: 'ghost', createModelIfMissing: false }), { chunk: good }], 'NOT_FOUND'],
      ['a bad config', () => [meta({ configJson: '{"maxBatchSize": -1}' }), { chunk: good }], 'INVALID_ARGUMENT'],
      ['chunks before metadata', () => [{ chunk: good }], 'INVALID_ARGUMENT'],
    ];
    it.each(cases)('%s', async (_name, messages, expected) => {
      const before = { seq: await registry.store.lastSequence(), files: artifactFiles(dir.path).stored, tiny: (await client.getModel('tiny')).versions.length };
      const err = await rawUpload(registry.address, messages());
      expect(err && Code[err.code]).toBe(expected);
      expect(err!.message.length).toBeGreaterThan(10);
      expect(await registry.store.lastSequence()).toBe(before.seq);
      expect(artifactFiles(dir.path)).toEqual({ stored: before.files, temp: [] });
      expect((await client.getModel('tiny')).versions.length).toBe(before.tiny);
      expect(await codeOf(client.getModel('ghost'))).toBe('NOT_FOUND');
    });

    it('an upload that grows past the limit', async () => {
      const big = new Uint8Array(5 << 20);
      const err = await rawUpload(registry.address, [meta({ sizeBytes: 4 << 20 }), { chunk: big.subarray(0, 3 << 20) }, { chunk: big.subarray(3 << 20) }]);
      expect(err && Code[err.code]).toBe('RESOURCE_EXHAUSTED');
      expect(artifactFiles(dir.path).temp).toEqual([]);
    });
  });

  it('follows REGISTRY with a durable registry event follower (what nodes and the recommender use), filtered by model, resuming after a restart', async () => {
    const seen: string[] = [];
    let enough: () => void = () => undefined;
    const follow = (count: number) => {
      const reached = new Promise<void>((resolve) => (enough = resolve));
      const follower = createRegistryEventFollower({
        nc,
        durableName: 'test-followed',
        model: 'followed',
        logger: silentLogger,
        handle: async (m) => {
          seen.push(`${m.subject} ${m.event.versionCreated?.version ?? m.event.aliasChanged?.version ?? ''}`);
          if (seen.length === count) enough();
        },
      });
      follower.start();
      return { follower, reached };
    };
    const first = follow(3);
    await client.pushVersion('followed', tinyModel(90), { alias: 'production' });
    await first.reached;
    await first.follower.close();
    expect(seen).toEqual([
      'infermesh.registry.model.created.followed ',
      'infermesh.registry.version.created.followed 1',
      'infermesh.registry.alias.changed.followed 1',
    ]);
    // Stopped: an alias moves. The same durable name resumes after its last ack: only the new event comes.
    await client.pushVersion('followed', tinyModel(91));
    await client.setAlias('followed', 'production', 2);
    const second = follow(5);
    await second.reached;
    await second.follower.close();
    expect(seen.slice(3)).toEqual(['infermesh.registry.version.created.followed 2', 'infermesh.registry.alias.changed.followed 2']);
  });

  it('a client that cancels mid-upload leaves no temp file and no row', async () => {
    const before = await registry.store.lastSequence();
    const { call, result } = openRawUpload(registry.address);
    call.write({ metadata: { model: 'cancelled', sha256: 'ab'.repeat(32), sizeBytes: 1 << 20, createModelIfMissing: true } });
    call.write({ chunk: new Uint8Array(1000) });
    await eventually('the upload to start', async () => artifactFiles(dir.path).temp.length > 0, 5000);
    call.cancel();
    expect((await result)?.code).toBe(Code.CANCELLED);
    await eventually('the temp file to go', async () => artifactFiles(dir.path).temp.length === 0, 5000);
    expect(await registry.store.lastSequence()).toBe(before);
    expect(await codeOf(client.getModel('cancelled'))).toBe('NOT_FOUND');
  });

  it('stores identical content once', async () => {
    const bytes = tinyModel(80);
    await client.pushVersion('dedupe-a', bytes);
    await client.pushVersion('dedupe-b', bytes);
    expect(artifactFiles(dir.path).stored.filter((f) => f === sha256(bytes))).toHaveLength(1);
    await client.deleteVersion('dedupe-a', 1);
    expect(artifactFiles(dir.path).stored).toContain(sha256(bytes));
    await client.deleteVersion('dedupe-b', 1);
    expect(artifactFiles(dir.path).stored).not.toContain(sha256(bytes));
  });
});
