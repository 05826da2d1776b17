import { invalidArgument } from '../errors/index.js';
import type { ReferenceProfile, ReferenceProfile__Output } from '../generated/infermesh/registry/v1/ReferenceProfile.js';
import { createEventCodec, type EventCodec } from '../nats/index.js';

export type { ReferenceProfile, ReferenceProfile__Output };

/** Limits of a stored reference profile (UploadMetadata.reference, SetReference). */
export const REFERENCE_LIMITS = {
  /** Encoded size. */
  maxBytes: 8 << 20,
  maxRows: 5000,
  maxFeatures: 1024,
} as const;

/** One feature of a reference as the monitor takes it (numeric values, or categories). */
export interface ReferenceColumn {
  name: string;
  values: number[];
  categories: string[];
}

let codec: EventCodec<ReferenceProfile, ReferenceProfile__Output> | undefined;

function referenceCodec(): EventCodec<ReferenceProfile, ReferenceProfile__Output> {
  codec ??= createEventCodec<ReferenceProfile, ReferenceProfile__Output>('infermesh/registry/v1/registry_types.proto', 'infermesh.registry.v1.ReferenceProfile');
  return codec;
}

export function encodeReferenceProfile(profile: ReferenceProfile): Uint8Array {
  return referenceCodec().encode(profile);
}

/**
 * Decodes and checks an encoded ReferenceProfile: the byte size before
 * decoding, then rows, features, the value count and every value.
 * INVALID_ARGUMENT naming the field and the limit.
 */
export function decodeReferenceProfile(bytes: Uint8Array, field = 'reference'): ReferenceProfile__Output {
  const { maxBytes, maxRows, maxFeatures } = REFERENCE_LIMITS;
  if (bytes.byteLength > maxBytes) throw invalidArgument(`${field} is ${bytes.byteLength} bytes; at most ${maxBytes} (8 MiB)`);
  let p: ReferenceProfile__Output;
  try {
    p = referenceCodec().decode(bytes);
  } catch (err) {
    throw invalidArgument(`${field} is not an encoded infermesh.registry.v1.ReferenceProfile`, err);
  }
  if (!p.input) throw invalidArgument(`${field}.input must name the model input the features belong to`);
  if (p.features.length === 0 || p.features.length > maxFeatures) throw invalidArgument(`${field} has ${p.features.length} features; expected 1 to ${maxFeatures}`);
  const names = new Set<string>();
  for (const name of p.features) {
    if (!name || name.length > 256) throw invalidArgument(`${field} has a feature name of ${name.length} characters; expected 1 to 256`);
    if (names.has(name)) throw invalidArgument(`${field} names feature '${name}' twice`);
    names.add(name);
  }
  if (p.categorical.length !== 0 && p.categorical.length !== p.features.length) {
    throw invalidArgument(`${field}.categorical has ${p.categorical.length} flags for ${p.features.length} features`);
  }
  if (p.rows === 0 || p.rows > maxRows) throw invalidArgument(`${field} has ${p.rows} rows; expected 1 to ${maxRows}`);
  if (p.values.length !== p.rows * p.features.length) {
    throw invalidArgument(`${field} has ${p.values.length} values; ${p.rows} rows x ${p.features.length} features need ${p.rows * p.features.length}`);
  }
  const bad = p.values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw invalidArgument(`${field} row ${Math.floor(bad / p.features.length) + 1} feature '${p.features[bad % p.features.length]}' is not a finite number`);
  if (Number(p.totalRows) < p.rows) throw invalidArgument(`${field}.total_rows ${p.totalRows} is below its ${p.rows} sampled rows`);
  return p;
}

/**
 * Packs the monitor's reference columns (as the CLI reads a file) into a
 * profile, keeping at most as many evenly spaced rows as fit the limits.
 * Every column must have the same number of values.
 */
export function toReferenceProfile(
  input: string,
  columns: ReadonlyArray<{ name?: string; values?: ReadonlyArray<number | string>; categories?: readonly string[] }>,
  totalRows: number,
): ReferenceProfile {
  const width = columns.length;
  if (width === 0) throw invalidArgument('the reference has no features');
  if (width > REFERENCE_LIMITS.maxFeatures) throw invalidArgument(`the reference has ${width} features; the registry stores at most ${REFERENCE_LIMITS.maxFeatures}`);
  const column = columns.map((c) => (c.categories?.length ? c.categories : (c.values ?? [])).map(Number));
  const length = column[0]!.length;
  if (column.some((c) => c.length !== length)) throw invalidArgument('the reference columns differ in length');
  // 8 bytes a value; the names, their flags and the framing (a few bytes each) come off the budget first.
  const framing = 1024 + columns.reduce((sum, c) => sum + Buffer.byteLength(c.name ?? '') + 8, 0);
  const fit = Math.floor((REFERENCE_LIMITS.maxBytes - framing) / (8 * width));
  const rows = Math.min(length, REFERENCE_LIMITS.maxRows, fit);
  const values = new Array<number>(rows * width);
  for (let r = 0; r < rows; r++) {
    const from = Math.floor((r * length) / rows);
    for (let c = 0; c < width; c++) values[r * width + c] = column[c]![from]!;
  }
  return { input, features: columns.map((c) => c.name ?? ''), categorical: columns.map((c) => (c.categories?.length ?? 0) > 0), values, rows, totalRows: Math.max(totalRows, rows) };
}

/** A profile's columns as the monitor's SetReference takes them (categorical codes as strings). */
export function referenceColumns(p: ReferenceProfile__Output): ReferenceColumn[] {
  return p.features.map((name, c) => {
    const column = Array.from({ length: p.rows }, (_, r) => p.values[r * p.features.length + c]!);
    return p.categorical[c] ? { name, values: [], categories: column.map(String) } : { name, values: column, categories: [] };
  });
}
