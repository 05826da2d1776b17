import { describe, expect, it } from 'vitest';
import type { Model__Output } from '../../../shared/generated/infermesh/registry/v1/Model.js';
import type { ModelVersion__Output } from '../../../shared/generated/infermesh/registry/v1/ModelVersion.js';
import { desiredModel, replicasIn, routingFor, unloadsFor, type HeldVersion } from './model-reconcile.js';

const version = (v: number, config: object | string = {}) =>
  ({ model: 'm', version: v, sha256: `sha-${v}`, sizeBytes: '100', configJson: typeof config === 'string' ? config : JSON.stringify(config) }) as unknown as ModelVersion__Output;

const model = (versions: ModelVersion__Output[], aliases: { name: string; version: number; weight?: number }[]) =>
  ({ name: 'm', versions, aliases: aliases.map((a) => ({ weight: 0, ...a })) }) as unknown as Model__Output;

describe('desiredModel', () => {
  it('wants what production and canary point at, and places the model by the production config', () => {
    const d = desiredModel(model([version(1), version(2, { replicas: 2 }), version(3)], [{ name: 'production', version: 2 }, { name: 'canary', version: 3, weight: 0.1 }, { name: 'staging', version: 1 }]));
    expect(d.known).toBe(true);
    expect([...d.aliased].sort()).toEqual(['2', '3']);
    expect(d.production?.version).toBe(2);
    expect(d.canary?.weight).toBe(0.1);
    expect(d.replicas).toBe(2);
    expect([...d.versions.keys()]).toEqual(['1', '2', '3']);
  });

  it('ignores aliases cleared to version 0 and wants nothing of an unknown model', () => {
    const d = desiredModel(model([version(1)], [{ name: 'production', version: 0 }]));
    expect(d.production).toBeUndefined();
    expect(d.aliased.size).toBe(0);
    const gone = desiredModel(undefined);
    expect(gone.known).toBe(false);
    expect(gone.versions.size).toBe(0);
  });
});

describe('replicasIn', () => {
  it('reads an in-range integer replicas and nothing else', () => {
    expect(replicasIn(version(1, { replicas: 3 }))).toBe(3);
    expect(replicasIn(version(1, { replicas: 0 }))).toBeUndefined();
    expect(replicasIn(version(1, { replicas: 1.5 }))).toBeUndefined();
    expect(replicasIn(version(1, { replicas: 1e9 }))).toBeUndefined();
    expect(replicasIn(version(1, 'not json'))).toBeUndefined();
    expect(replicasIn(version(1, ''))).toBeUndefined();
    expect(replicasIn(undefined)).toBeUndefined();
  });
});

describe('routingFor', () => {
  const d = desiredModel(model([version(1), version(2), version(3)], [{ name: 'production', version: 2 }, { name: 'canary', version: 3, weight: 0.25 }]));

  it('routes the default to production and a weighted share to the canary', () => {
    expect(routingFor(d, new Set(), { default: '1', defaultReady: true })).toEqual({ default: '2', canary: '3', canaryWeight: 0.25 });
  });

  it('keeps the previous default while it is READY when production failed to load, and drops a failed canary', () => {
    expect(routingFor(d, new Set(['2', '3']), { default: '1', defaultReady: true })).toEqual({ default: '1' });
    expect(routingFor(d, new Set(['2']), { default: '1', defaultReady: false })).toEqual({ canary: '3', canaryWeight: 0.25 });
  });

  it('routes nothing for a model without aliases', () => {
    expect(routingFor(desiredModel(model([version(1)], [])), new Set(), { default: '1', defaultReady: true })).toEqual({});
  });
});

describe('unloadsFor', () => {
  const d = desiredModel(model([version(1), version(2), version(3)], [{ name: 'production', version: 2 }]));
  const held = (entries: [string, boolean][]): [string, HeldVersion][] => entries.map(([v, onDemand]) => [v, { onDemand }]);

  it('unloads deleted versions and versions no alias points at any more, keeping on-demand ones and the routed default', () => {
    const unloads = unloadsFor(held([['1', false], ['2', false], ['3', true], ['9', true]]), d, { here: true, routedDefault: '2' });
    expect(unloads).toEqual([
      { version: '1', reason: 'no longer aliased' },
      { version: '9', reason: 'deleted from the registry' },
    ]);
  });

  it('keeps an unaliased version while it is still the routed default (production failed to load)', () => {
    expect(unloadsFor(held([['1', false]]), d, { here: true, routedDefault: '1' })).toEqual([]);
  });

  it('unloads every aliased version when the model is placed on other nodes', () => {
    expect(unloadsFor(held([['2', false], ['3', true]]), d, { here: false, routedDefault: '2' })).toEqual([{ version: '2', reason: 'its replicas are placed on other nodes' }]);
  });

  it('unloads everything of a model the registry no longer knows', () => {
    expect(unloadsFor(held([['1', true], ['2', false]]), desiredModel(undefined), { here: true, routedDefault: undefined }).map((u) => u.reason)).toEqual(['deleted from the registry', 'deleted from the registry']);
  });
});
