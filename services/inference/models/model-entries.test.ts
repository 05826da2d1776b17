import { describe, expect, it } from 'vitest';
import { listStatuses, loadingSlot, type ModelEntry } from './model-entries.js';
import { VersionStatistics } from './version-statistics.js';

describe('listStatuses', () => {
  it('lists models by name, a model-level failure first, then versions by number', () => {
    const slot = (state: 'READY' | 'UNAVAILABLE', reason: string) => ({ ...loadingSlot(new VersionStatistics()), state, reason });
    const models = new Map<string, ModelEntry>([
      ['zeta', { versions: new Map([['10', slot('UNAVAILABLE', 'bad')], ['9', slot('UNAVAILABLE', 'worse')]]), routing: {} }],
      ['alpha', { versions: new Map([['1', loadingSlot(new VersionStatistics())]]), routing: {}, failure: 'config.json: not valid JSON' }],
    ]);
    expect(listStatuses(models).map((s) => [s.model, s.version, s.state, s.reason])).toEqual([
      ['alpha', '', 'UNAVAILABLE', 'config.json: not valid JSON'],
      ['alpha', '1', 'LOADING', 'loading'],
      ['zeta', '9', 'UNAVAILABLE', 'worse'],
      ['zeta', '10', 'UNAVAILABLE', 'bad'],
    ]);
  });

  it('shows no devices and no requests for a version with no executor', () => {
    const models = new Map<string, ModelEntry>([['m', { versions: new Map([['1', loadingSlot(new VersionStatistics())]]), routing: {} }]]);
    expect(listStatuses(models)[0]).toMatchObject({ devices: [], notes: [], inFlight: 0, lastUsedMs: 0 });
  });
});
