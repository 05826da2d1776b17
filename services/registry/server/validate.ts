import { invalidArgument } from '../../../shared/errors/index.js';
import { UINT32_MAX } from '../../../shared/numbers/index.js';
import type { ModelSignature } from '../../../shared/onnx/index.js';
import { checkConfigAgainstSignature, parseModelConfig } from '../../../shared/model-config/index.js';
import { CANARY_ALIAS, PRODUCTION_ALIAS } from '../../../shared/registry-client/index.js';

/** Model names are one NATS subject token: no dots, spaces or wildcards. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const SHA256 = /^[0-9a-f]{64}$/;

export function checkModelName(name: string, field = 'model'): string {
  if (!MODEL_NAME.test(name)) {
    throw invalidArgument(`${field} '${name}' is not a valid model name: expected 1-128 letters, digits, '-' or '_', starting with a letter or digit`);
  }
  return name;
}

export function checkAliasName(name: string, field = 'alias'): string {
  if (!ALIAS_NAME.test(name)) {
    throw invalidArgument(`${field} '${name}' is not a valid alias: expected 1-63 lowercase letters, digits, '-' or '_' (e.g. ${PRODUCTION_ALIAS}, staging, ${CANARY_ALIAS})`);
  }
  return name;
}

/** The weight of an alias: 0-100; required for canary, default 100 for every other alias. */
export function checkAliasWeight(alias: string, weight: number | undefined, field = 'weight'): number {
  if (weight === undefined) {
    if (alias === CANARY_ALIAS) throw invalidArgument(`${field} is required for the ${CANARY_ALIAS} alias: the percent of traffic (0-100) it takes`);
    return 100;
  }
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) throw invalidArgument(`${field} must be an integer from 0 to 100, got ${weight}`);
  return weight;
}

export function checkVersionNumber(version: number, field = 'version'): number {
  if (!Number.isInteger(version) || version < 1 || version > UINT32_MAX) throw invalidArgument(`${field} must be a version number from 1 to ${UINT32_MAX}, got ${version}`);
  return version;
}

/** Lowercase hex sha256 (uppercase is accepted and lowered). */
export function checkSha256(sha256: string, field = 'sha256'): string {
  const lower = sha256.toLowerCase();
  if (!SHA256.test(lower)) throw invalidArgument(`${field} must be 64 hex digits (the sha256 of the whole file), got '${sha256}'`);
  return lower;
}

/** A uint64 that arrived as a decimal string (proto-loader's longs: String). */
export function checkByteCount(value: string | number, field: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`${field} must be a whole number of bytes, got ${value}`);
  return n;
}

/** Tags and label keys: short, printable, no separators that would confuse filters. */
export function checkTags(tags: readonly string[], field = 'tags'): string[] {
  for (const tag of tags) {
    if (tag === '' || tag.length > 128 || /\s/.test(tag)) throw invalidArgument(`${field} has '${tag}': expected 1-128 characters without whitespace`);
  }
  return [...tags];
}

export function checkLabels(labels: Record<string, string>, field = 'labels'): Record<string, string> {
  for (const [k, v] of Object.entries(labels)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,127}$/.test(k)) {
      throw invalidArgument(`${field} has key '${k}': expected 1-128 letters, digits, '_', '.', '/' or '-', starting with a letter or digit`);
    }
    if (v.length > 1024) throw invalidArgument(`${field}.${k} is ${v.length} characters; at most 1024`);
  }
  return { ...labels };
}

/**
 * The serving config of a version (the inference node's config.json): a JSON
 * object that the node's own parser accepts. Resolves with the JSON to store
 * ("{}" when empty) and a check to run once the model's signature is known.
 */
export function checkServingConfig(configJson: string, field = 'config_json'): { json: string; checkSignature(signature: ModelSignature): void } {
  if (configJson.trim() === '') return { json: '{}', checkSignature: () => {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(configJson);
  } catch (err) {
    throw invalidArgument(`${field} is not JSON: ${(err as Error).message}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidArgument(`${field} must be a JSON object`);
  const config = parseModelConfig(parsed, field);
  return { json: JSON.stringify(parsed), checkSignature: (signature) => checkConfigAgainstSignature(config, signature, field) };
}
