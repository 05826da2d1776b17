import { readFileSync } from 'node:fs';
import { invalidArgument } from '../../../shared/errors/index.js';

/** Drift: PSI of a feature (or output) above `psiThreshold` for `forMs`, on windows of at least `minSamples` rows. */
export interface DriftRule {
  psiThreshold: number;
  /** Reported next to the test's p-value (a p-value below it marks the test significant); alerts fire on PSI. */
  pValueThreshold: number;
  forMs: number;
  minSamples: number;
  /** Also alert on output drift (PSI of each output and of the predicted class). */
  outputs: boolean;
}

/** Quality: accuracy below `floor`, or more than `maxDrop` below the previous version's, on at least `minSamples` joined rows. */
export interface AccuracyRule {
  floor?: number;
  maxDrop?: number;
  forMs: number;
  minSamples: number;
}

/** Error rate or p99 latency (from the inference spans the monitor holds) above a bound, over at least `minSamples` requests. */
export interface BoundRule {
  max?: number;
  forMs: number;
  minSamples: number;
}

export interface ModelAlertRules {
  drift: DriftRule;
  accuracy: AccuracyRule;
  errorRate: BoundRule;
  p99Ms: BoundRule;
}

/** Rules for every model unless the rules file says otherwise. */
export const DEFAULT_ALERT_RULES: Readonly<ModelAlertRules> = Object.freeze({
  drift: { psiThreshold: 0.25, pValueThreshold: 0.01, forMs: 60_000, minSamples: 100, outputs: true },
  accuracy: { maxDrop: 0.05, forMs: 0, minSamples: 100 },
  errorRate: { max: 0.05, forMs: 60_000, minSamples: 100 },
  p99Ms: { forMs: 60_000, minSamples: 100 },
});

/** Rules per model: `default` merged under each `models.<name>` (each key optional). */
export interface AlertRulesConfig {
  default: ModelAlertRules;
  models: Record<string, ModelAlertRules>;
}

type Partial2<T> = { [K in keyof T]?: Partial<T[K]> };

const RULE_KEYS: Record<keyof ModelAlertRules, readonly string[]> = {
  drift: ['psiThreshold', 'pValueThreshold', 'forMs', 'minSamples', 'outputs'],
  accuracy: ['floor', 'maxDrop', 'forMs', 'minSamples'],
  errorRate: ['max', 'forMs', 'minSamples'],
  p99Ms: ['max', 'forMs', 'minSamples'],
};

function mergeRules(base: ModelAlertRules, raw: unknown, where: string): ModelAlertRules {
  if (raw === undefined) return structuredClone(base);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidArgument(`${where} must be an object with drift, accuracy, errorRate, p99Ms`);
  const out = structuredClone(base) as unknown as Record<string, Record<string, unknown>>;
  for (const [group, value] of Object.entries(raw as Partial2<ModelAlertRules>)) {
    const keys = RULE_KEYS[group as keyof ModelAlertRules];
    if (!keys) throw invalidArgument(`${where}: unknown rule '${group}' (known: ${Object.keys(RULE_KEYS).join(', ')})`);
    if (typeof value !== 'object' || value === null) throw invalidArgument(`${where}.${group} must be an object`);
    for (const [key, v] of Object.entries(value)) {
      if (!keys.includes(key)) throw invalidArgument(`${where}.${group}: unknown key '${key}' (known: ${keys.join(', ')})`);
      if (key === 'outputs') {
        if (typeof v !== 'boolean') throw invalidArgument(`${where}.${group}.outputs must be true or false`);
      } else if (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
        throw invalidArgument(`${where}.${group}.${key} must be a number >= 0 (or null for none), got ${JSON.stringify(v)}`);
      }
      if (v === null) delete out[group]![key];
      else out[group]![key] = v;
    }
  }
  return out as unknown as ModelAlertRules;
}

/** Parses a rules object `{ default?: {...}, models?: { NAME: {...} } }`; throws INVALID_ARGUMENT naming the bad key. */
export function parseAlertRules(raw: unknown, source = 'alert rules'): AlertRulesConfig {
  if (raw === undefined || raw === null) return { default: structuredClone(DEFAULT_ALERT_RULES), models: {} };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument(`${source}: expected a JSON object { default, models }`);
  const { default: def, models, ...rest } = raw as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra) throw invalidArgument(`${source}: unknown key '${extra}' (known: default, models)`);
  const base = mergeRules(DEFAULT_ALERT_RULES, def, `${source}: default`);
  const perModel: Record<string, ModelAlertRules> = {};
  if (models !== undefined) {
    if (typeof models !== 'object' || models === null || Array.isArray(models)) throw invalidArgument(`${source}: models must be an object keyed by model name`);
    for (const [name, rules] of Object.entries(models)) perModel[name] = mergeRules(base, rules, `${source}: models.${name}`);
  }
  return { default: base, models: perModel };
}

/** Reads and parses a JSON rules file. */
export function readAlertRulesFile(path: string): AlertRulesConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw invalidArgument(`--alert-rules ${path} cannot be read: ${(err as Error).message}`, err);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`--alert-rules ${path} is not JSON: ${(err as Error).message}`, err);
  }
  return parseAlertRules(raw, path);
}

export const rulesFor = (config: AlertRulesConfig, model: string): ModelAlertRules => config.models[model] ?? config.default;
