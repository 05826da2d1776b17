import { describe, expect, it } from 'vitest';
import { Code, type InfermeshError } from '../../../shared/errors/index.js';
import { normalizeRouting, routeVersion, type RoutableVersion } from './canary-routing.js';

const ready: RoutableVersion = { state: 'READY', reason: '' };
const versions = (entries: Record<string, RoutableVersion>) => new Map(Object.entries(entries));

function codeOf(fn: () => unknown): Code | undefined {
  try {
    fn();
  } catch (err) {
    return (err as InfermeshError).code;
  }
  return undefined;
}

describe('normalizeRouting', () => {
  it('gives a canary named without a weight weight 0, and leaves a routing without canary as it is', () => {
    expect(normalizeRouting('m', { canary: '2' })).toEqual({ canary: '2', canaryWeight: 0 });
    expect(normalizeRouting('m', { default: '1' })).toEqual({ default: '1' });
    expect(normalizeRouting('m', { default: '1', canary: '2', canaryWeight: 30 })).toEqual({ default: '1', canary: '2', canaryWeight: 30 });
  });

  it('rejects a version that is not a decimal integer, naming it', () => {
    expect(() => normalizeRouting('m', { default: 'v1' })).toThrow(/routing of 'm': version 'v1' must be a decimal integer/);
    expect(() => normalizeRouting('m', { canary: '01' })).toThrow(/version '01'/);
    expect(codeOf(() => normalizeRouting('m', { canary: 'x' }))).toBe(Code.INVALID_ARGUMENT);
  });

  it('rejects a weight outside 0-100 or not finite', () => {
    for (const w of [-1, 101, Number.NaN, Infinity]) {
      expect(() => normalizeRouting('m', { canary: '2', canaryWeight: w })).toThrow(/canaryWeight must be 0-100/);
    }
  });
});

describe('routeVersion', () => {
  it('takes the highest READY version by number when nothing is routed (10 above 9)', () => {
    const v = versions({ '9': ready, '10': ready, '11': { state: 'LOADING', reason: 'loading' } });
    expect(routeVersion('m', {}, v, undefined, Math.random)).toBe('10');
  });

  it('takes the default when one is set, READY or not (acquire says why it cannot serve)', () => {
    expect(routeVersion('m', { default: '1' }, versions({ '1': ready, '2': ready }), undefined, Math.random)).toBe('1');
    expect(routeVersion('m', { default: '3' }, versions({ '1': ready }), undefined, Math.random)).toBe('3');
  });

  it('sends draws below the weight to the canary and the rest to the default', () => {
    const v = versions({ '1': ready, '2': ready });
    const routing = { default: '1', canary: '2', canaryWeight: 25 };
    expect(routeVersion('m', routing, v, undefined, () => 0.249)).toBe('2');
    expect(routeVersion('m', routing, v, undefined, () => 0.25)).toBe('1');
    let canary = 0;
    let i = 0;
    for (; i < 100; i++) if (routeVersion('m', routing, v, undefined, () => i / 100) === '2') canary++;
    expect(canary).toBe(25);
  });

  it('never sends to a canary that is not READY, nor at weight 0, and then draws nothing', () => {
    let draws = 0;
    const random = () => (draws++, 0);
    expect(routeVersion('m', { default: '1', canary: '2', canaryWeight: 100 }, versions({ '1': ready, '2': { state: 'LOADING', reason: 'loading' } }), undefined, random)).toBe('1');
    expect(routeVersion('m', { default: '1', canary: '2', canaryWeight: 0 }, versions({ '1': ready, '2': ready }), undefined, random)).toBe('1');
    expect(draws).toBe(0);
  });

  it('says UNAVAILABLE with every reason when no version is READY', () => {
    const v = versions({ '1': { state: 'UNAVAILABLE', reason: 'bad model' }, '2': { state: 'LOADING', reason: 'loading' } });
    expect(() => routeVersion('m', {}, v, 'config.json: not valid JSON', Math.random)).toThrow(
      "model 'm' has no ready version (config.json: not valid JSON; version 1 is UNAVAILABLE: bad model; version 2 is LOADING: loading)",
    );
    expect(codeOf(() => routeVersion('m', {}, new Map(), undefined, Math.random))).toBe(Code.UNAVAILABLE);
    expect(() => routeVersion('m', {}, new Map(), undefined, Math.random)).toThrow(/none loaded/);
  });
});
