import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { decodeRegistryEvent } from '../../../shared/registry-client/index.js';
import { decodeReferenceProfile, encodeReferenceProfile, toReferenceProfile } from '../../../shared/registry-client/reference-profile.js';
import { backends, sha, signature, type Backend } from './store-test-backends.js';
import type { RegistryStore } from './types.js';


async function expectCode(promise: Promise<unknown>, code: Code): Promise<InfermeshError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${Code[code]}`).toBeInstanceOf(InfermeshError);
  expect(Code[(err as InfermeshError).code]).toBe(Code[code]);
  return err as InfermeshError;
}

describe.each(backends)('registry store on $name', (backend) => {
  let env: Awaited<ReturnType<Backend['setup']>>;
  let store: RegistryStore;

  beforeAll(async () => {
    env = await backend.setup();
    store = await env.open();
  });
  afterAll(async () => {
    await store?.close();
    await env?.cleanup();
  });

  it('creates, reads and updates models; duplicate names are ALREADY_EXISTS', async () => {
    const created = await store.createModel({ name: 'alpha', description: 'first', tags: ['vision', 'small'], labels: { team: 'a' } });
    expect(created).toMatchObject({ name: 'alpha', description: 'first', tags: ['small', 'vision'], labels: { team: 'a' }, latestVersion: 0 });
    await expectCode(store.createModel({ name: 'alpha' }), Code.ALREADY_EXISTS);
    const updated = await store.updateModel({ name: 'alpha', description: 'changed', tags: ['vision'], labels: { team: 'b' } });
    expect(updated).toMatchObject({ description: 'changed', tags: ['vision'], labels: { team: 'b' } });
    expect(await store.getModel('alpha')).toEqual(updated);
    expect(await store.getModel('missing')).toBeUndefined();
    await expectCode(store.updateModel({ name: 'missing' }), Code.NOT_FOUND);
  });

  it('lists models by page, name prefix, tag and label', async () => {
    for (const [name, tag, team] of [['list-a', 'x', 't1'], ['list-b', 'y', 't1'], ['list-c', 'x', 't2'], ['other', 'x', 't1']] as const) {
      await store.createModel({ name, tags: [tag], labels: { team } });
    }
    const names: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await store.listModels({ pageSize: 2, pageToken: token, namePrefix: 'list-' });
      names.push(...page.models.map((m) => m.name));
      token = page.nextPageToken;
      pages++;
    } while (token);
    expect(names).toEqual(['list-a', 'list-b', 'list-c']);
    expect(pages).toBe(2);
    expect((await store.listModels({ pageSize: 10, tag: 'x', namePrefix: 'list' })).models.map((m) => m.name)).toEqual(['list-a', 'list-c']);
    expect((await store.listModels({ pageSize: 10, tag: 'x', labels: { team: 't1' } })).models.map((m) => m.name)).toEqual(['list-a', 'other']);
  });

  it('numbers versions 1, 2, 3 per model, safely under concurrency, never reusing a number', async () => {
    await store.createModel({ name: 'beta' });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.createVersion({ model: 'beta', sha256: sha(i), sizeBytes: 10 + i, signature })),
    );
    expect(results.map((r) => r.version.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await store.deleteVersion('beta', 8);
    const next = await store.createVersion({ model: 'beta', sha256: sha(9), sizeBytes: 1, signature });
    expect(next.version.version).toBe(9);
    await expectCode(store.createVersion({ model: 'beta', version: 3, sha256: sha(1), sizeBytes: 1, signature }), Code.ALREADY_EXISTS);
    await expectCode(store.createVersion({ model: 'beta', version: 8, sha256: sha(1), sizeBytes: 1, signature }), Code.ALREADY_EXISTS);
    const named = await store.createVersion({ model: 'beta', version: 20, sha256: sha(1), sizeBytes: 1, signature });
    expect(named.version.version).toBe(20);
    expect((await store.getModel('beta'))!.latestVersion).toBe(20);
    expect((await store.listVersions('beta')).map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 9, 20]);
  });

  it('keeps version metadata, and refuses versions of unknown models unless asked to create them', async () => {
    await expectCode(store.createVersion({ model: 'gamma', sha256: sha(1), sizeBytes: 1, signature }), Code.NOT_FOUND);
    const { version } = await store.createVersion({
      model: 'gamma',
      sha256: sha(42),
      sizeBytes: 1234,
      description: 'd',
      labels: { k: 'v' },
      lineage: { trainingRunId: 'run-1', dataset: 'ds', metrics: { auc: 0.9 } },
      configJson: '{"maxBatchSize":8}',
      signature,
      createModelIfMissing: true,
    });
    expect(await store.getVersion('gamma', 1)).toEqual(version);
    expect(version).toMatchObject({ sizeBytes: 1234, labels: { k: 'v' }, lineage: { trainingRunId: 'run-1', dataset: 'ds', metrics: { auc: 0.9 }, parentVersion: 0 }, signature });
    expect(await store.countArtifactUses(sha(42))).toBe(1);
  });

  it('sets, moves and deletes aliases; an aliased version cannot be deleted', async () => {
    await store.createModel({ name: 'delta' });
    for (let i = 0; i < 3; i++) await store.createVersion({ model: 'delta', sha256: sha(100 + i), sizeBytes: 1, signature });
    const { alias } = await store.createVersion({ model: 'delta', sha256: sha(200), sizeBytes: 1, signature, alias: { name: 'staging', weight: 100 } });
    expect(alias).toMatchObject({ name: 'staging', version: 4 });
    await store.setAlias({ model: 'delta', name: 'production', version: 1, weight: 100 });
    const before = await store.lastSequence();
    await store.setAlias({ model: 'delta', name: 'production', version: 2, weight: 100 });
    const [moved] = await store.eventsFrom(before + 1, 10);
    expect(moved!.subject).toBe('infermesh.registry.alias.changed.delta');
    expect(decodeRegistryEvent(moved!.payload).aliasChanged).toMatchObject({ model: 'delta', alias: 'production', version: 2, previousVersion: 1 });
    await store.setAlias({ model: 'delta', name: 'canary', version: 3, weight: 10 });
    expect((await store.listAliases('delta')).map((a) => [a.name, a.version, a.weight])).toEqual([
      ['canary', 3, 10],
      ['production', 2, 100],
      ['staging', 4, 100],
    ]);
    const refused = await expectCode(store.deleteVersion('delta', 2), Code.FAILED_PRECONDITION);
    expect(refused.message).toContain('production');
    await expectCode(store.setAlias({ model: 'delta', name: 'production', version: 99, weight: 100 }), Code.NOT_FOUND);
    await store.deleteVersion('delta', 1);
    await expectCode(store.deleteVersion('delta', 1), Code.NOT_FOUND);
    await store.deleteAlias('delta', 'canary');
    await expectCode(store.deleteAlias('delta', 'canary'), Code.NOT_FOUND);
    expect(await store.getAlias('delta', 'canary')).toBeUndefined();
    await store.deleteVersion('delta', 3);
  });

  it('writes one outbox event per change, gap-free, and tracks what was published', async () => {
    const events = await store.eventsFrom(1, 10_000);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    const decoded = events.map((e) => decodeRegistryEvent(e.payload));
    expect(decoded.every((d, i) => Number(d.sequence) === i + 1 && d.registryId === store.registryId)).toBe(true);
    expect(events[0]!.subject).toBe('infermesh.registry.model.created.alpha');
    const created = decoded.find((d) => d.event === 'versionCreated' && d.versionCreated!.model === 'gamma')!;
    expect(created.versionCreated).toMatchObject({ version: 1, sha256: sha(42), sizeBytes: '1234', configJson: '{"maxBatchSize":8}', labels: { k: 'v' } });
    expect(created.versionCreated!.signature!.inputs[0]).toMatchObject({ name: 'x', datatype: 'FP32', shape: ['-1', '4'] });

    const unpublished = await store.unpublishedEvents(5);
    expect(unpublished.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
    await store.markPublished([1, 2, 3], 1000);
    expect((await store.unpublishedEvents(2)).map((e) => e.sequence)).toEqual([4, 5]);
    expect((await store.eventsFrom(2, 1))[0]!.publishedAtMs).toBe(1000);
  });

  it('prunes published events up to a sequence, never the unpublished ones nor the last, and snapshots the current state', async () => {
    const last = await store.lastSequence();
    expect(await store.firstSequence()).toBe(1);
    // Events 1-3 were published at 1000 (above); publish the rest but the last two, at 5000.
    const rest = (await store.eventsFrom(4, 10_000)).map((e) => e.sequence).filter((n) => n < last - 1);
    await store.markPublished(rest, 5000);
    // Published before 2000 and <= 10: only 1-3.
    expect(await store.pruneOutbox(10, 2000)).toBe(3);
    expect(await store.firstSequence()).toBe(4);
    // Everything: all published but the two unpublished at the end.
    expect(await store.pruneOutbox(last, 10_000)).toBe(rest.length);
    expect((await store.eventsFrom(1, 10)).map((e) => e.sequence)).toEqual([last - 1, last]);
    await store.markPublished([last - 1, last], 6000);
    expect(await store.pruneOutbox(last, 10_000)).toBe(1); // the last one stays ...
    expect(await store.firstSequence()).toBe(last);
    // ... so the next commit continues the sequence.
    await store.createModel({ name: 'after-prune' });
    expect(await store.lastSequence()).toBe(last + 1);

    const snapshot = await store.snapshot();
    expect(snapshot.lastSequence).toBe(last + 1);
    const gamma = snapshot.models.find((m) => m.model.name === 'gamma')!;
    expect(gamma.versions.map((v) => v.version)).toEqual((await store.listVersions('gamma')).map((v) => v.version));
    expect(gamma.aliases).toEqual(await store.listAliases('gamma'));
    expect((await store.snapshot('after-prune')).models.map((m) => m.model.name)).toEqual(['after-prune']);
  });

  it('keeps its data and identity when reopened', async () => {
    const id = store.registryId;
    const last = await store.lastSequence();
    await store.close();
    await store.close();
    store = await env.open();
    expect(store.registryId).toBe(id);
    expect(await store.lastSequence()).toBe(last);
    expect((await store.getModel('beta'))!.latestVersion).toBe(20);
  });

  it('stores a reference profile with a version or later, replaces it, announces it, and a rejected one leaves nothing', async () => {
    const profile = (shift: number) =>
      encodeReferenceProfile(toReferenceProfile('x', [{ name: 'x[0]', values: [1 + shift, 2 + shift, 3 + shift] }, { name: 'x[1]', categories: ['0', '1', '1'] }], 30));
    const reference = (payload: Uint8Array) => ({ payload, input: 'x', features: 2, rows: 3, totalRows: 30 });
    const before = await store.lastSequence();
    const { version } = await store.createVersion({ model: 'refs', sha256: sha(7), sizeBytes: 10, signature, createModelIfMissing: true, reference: reference(profile(0)) });
    const events = (await store.eventsFrom(before + 1, 10)).map((e) => [e.subject, decodeRegistryEvent(e.payload)] as const);
    expect(events.map(([subject]) => subject)).toEqual([
      'infermesh.registry.model.created.refs',
      'infermesh.registry.version.created.refs',
      'infermesh.registry.reference.set.refs',
    ]);
    expect(events[2]![1].referenceSet).toEqual({ model: 'refs', version: version.version, input: 'x', features: 2, rows: 3 });
    const stored = (await store.getReference('refs', version.version))!;
    expect(stored).toMatchObject({ model: 'refs', version: 1, input: 'x', features: 2, rows: 3, totalRows: 30 });
    const decoded = decodeReferenceProfile(stored.payload);
    expect(decoded.values).toEqual([1, 0, 2, 1, 3, 1]);
    expect(decoded.categorical).toEqual([false, true]);

    // Replaced by SetReference; a second version without one has none.
    await store.setReference('refs', 1, reference(profile(10)));
    expect(decodeReferenceProfile((await store.getReference('refs', 1))!.payload).values).toEqual([11, 0, 12, 1, 13, 1]);
    await store.createVersion({ model: 'refs', sha256: sha(8), sizeBytes: 10, signature });
    expect(await store.getReference('refs', 2)).toBeUndefined();
    expect((await store.snapshot('refs')).models[0]!.references.map((r) => [r.version, r.rows])).toEqual([[1, 3]]);

    // An unknown version or model: NOT_FOUND, no row, no event.
    const last = await store.lastSequence();
    await expectCode(store.setReference('refs', 99, reference(profile(0))), Code.NOT_FOUND);
    await expectCode(store.setReference('nope', 1, reference(profile(0))), Code.NOT_FOUND);
    expect(await store.getReference('refs', 99)).toBeUndefined();
    expect(await store.lastSequence()).toBe(last);

    // Deleting the version deletes its reference.
    await store.deleteVersion('refs', 1);
    expect(await store.getReference('refs', 1)).toBeUndefined();
  });

  it('adds the reference table to a database made before it existed', async () => {
    await store.close();
    await env.exec('DROP TABLE version_references');
    store = await env.open();
    await store.setReference('refs', 2, { payload: new Uint8Array([1, 2, 3]), input: 'x', features: 1, rows: 1, totalRows: 1 });
    expect(Array.from((await store.getReference('refs', 2))!.payload)).toEqual([1, 2, 3]);
  });
});
