import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { invalidArgument } from '../../../shared/errors/index.js';
import type { ReferenceFeature } from '../../../shared/generated/infermesh/monitor/v1/ReferenceFeature.js';
import { MAX_FEATURE_COLUMNS } from '../health/record-features.js';

/** Rows sent to the monitor at most (an even sample of the file). */
export const MAX_REFERENCE_ROWS = 5000;

/** A reference data set as the monitor takes it: named features, the row count of the whole file. */
export interface ReferenceData {
  /** The model input the features belong to (from --input, else the features' names). */
  input: string;
  rows: number;
  features: ReferenceFeature[];
}

interface Table {
  rows: number;
  width: number;
  /** Row-major values. */
  values: ArrayLike<number>;
  categorical: boolean;
  /** Column names from a CSV header, when it has one. */
  header?: string[];
}

const NPY_TYPES: Record<string, { size: number; read: (v: DataView, o: number) => number; categorical: boolean }> = {
  '<f4': { size: 4, read: (v, o) => v.getFloat32(o, true), categorical: false },
  '<f8': { size: 8, read: (v, o) => v.getFloat64(o, true), categorical: false },
  '<i2': { size: 2, read: (v, o) => v.getInt16(o, true), categorical: true },
  '<i4': { size: 4, read: (v, o) => v.getInt32(o, true), categorical: true },
  '<i8': { size: 8, read: (v, o) => Number(v.getBigInt64(o, true)), categorical: true },
  '|i1': { size: 1, read: (v, o) => v.getInt8(o), categorical: true },
  '|u1': { size: 1, read: (v, o) => v.getUint8(o), categorical: true },
  '|b1': { size: 1, read: (v, o) => v.getUint8(o), categorical: true },
};

/** Parses a NumPy .npy file (format 1-3, little-endian numeric, C order, 1 or more dimensions). */
export function parseNpy(bytes: Uint8Array, source = 'reference'): Table {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 10 || bytes[0] !== 0x93 || Buffer.from(bytes.subarray(1, 6)).toString('latin1') !== 'NUMPY') throw invalidArgument(`${source}: not a .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6]!;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) throw invalidArgument(`${source}: the .npy header runs past the end of the file`);
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw invalidArgument(`${source}: cannot read the .npy header '${header.trim()}'`);
  const type = NPY_TYPES[descr];
  if (!type) throw invalidArgument(`${source}: .npy dtype '${descr}' is not supported (little-endian float32/64, int8-64, uint8, bool)`);
  if (fortran === 'True') throw invalidArgument(`${source}: Fortran-order .npy arrays are not supported (save with np.ascontiguousarray)`);
  const shape = shapeText.split(',').map((d) => d.trim()).filter(Boolean).map(Number);
  if (shape.length === 0 || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw invalidArgument(`${source}: .npy shape (${shapeText}) must have one or more dimensions`);
  const rows = shape[0]!;
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  const count = rows * width;
  const dataStart = start + headerLen;
  if (dataStart + count * type.size > bytes.length) throw invalidArgument(`${source}: shape (${shapeText}) needs ${count * type.size} bytes of data, the file has ${bytes.length - dataStart}`);
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = type.read(view, dataStart + i * type.size);
  return { rows, width, values, categorical: type.categorical };
}

/** Parses a CSV of numbers: one row per sample; a first row that is not all numbers is the header. */
export function parseReferenceCsv(text: string, source = 'reference'): Table {
  const rows: string[][] = parseCsv(text, { skip_empty_lines: true, trim: true, relax_column_count: true });
  if (rows.length === 0) throw invalidArgument(`${source}: the CSV file is empty`);
  const header = rows[0]!.some((cell) => cell === '' || !Number.isFinite(Number(cell))) ? rows.shift() : undefined;
  const width = (header ?? rows[0] ?? []).length;
  const values = new Float64Array(rows.length * width);
  rows.forEach((row, r) => {
    if (row.length !== width) throw invalidArgument(`${source}: CSV row ${r + 1 + (header ? 1 : 0)} has ${row.length} columns, expected ${width}`);
    row.forEach((cell, c) => {
      const n = Number(cell);
      if (cell === '' || !Number.isFinite(n)) throw invalidArgument(`${source}: CSV row ${r + 1 + (header ? 1 : 0)} column ${c + 1} is not a number: '${cell}'`);
      values[r * width + c] = n;
    });
  });
  return { rows: rows.length, width, values, categorical: false, ...(header ? { header } : {}) };
}

/**
 * Turns a table into the monitor's features, named as the monitor names a
 * record's columns of input `input`: `<input>[j]` (`<input>` for one column,
 * `<input>:mean` for more than 32), or the CSV header's names. At most
 * {@link MAX_REFERENCE_ROWS} rows, evenly spaced, are kept.
 */
export function referenceFeatures(table: Table, input: string | undefined): ReferenceFeature[] {
  if (table.rows === 0 || table.width === 0) throw invalidArgument('the reference data has no rows');
  if (!table.header && !input) throw invalidArgument('name the model input the columns belong to (--input NAME), or give the CSV a header row of feature names like x[0],x[1]');
  const picked = Array.from({ length: Math.min(table.rows, MAX_REFERENCE_ROWS) }, (_, i) => Math.floor((i * table.rows) / Math.min(table.rows, MAX_REFERENCE_ROWS)));
  const column = (c: number) => picked.map((r) => table.values[r * table.width + c]!);
  const feature = (name: string, values: number[]): ReferenceFeature => (table.categorical ? { name, categories: values.map(String) } : { name, values });
  if (table.width > MAX_FEATURE_COLUMNS && !table.header) {
    return [feature(`${input}:mean`, picked.map((r) => {
      let sum = 0;
      for (let c = 0; c < table.width; c++) sum += table.values[r * table.width + c]!;
      return sum / table.width;
    }))];
  }
  return Array.from({ length: table.width }, (_, c) => feature(table.header?.[c] ?? (table.width === 1 ? input! : `${input}[${c}]`), column(c)));
}

/** Reads a .npy or .csv reference file into the monitor's features. */
export async function readReferenceFile(path: string, input: string | undefined): Promise<ReferenceData> {
  const bytes = await readFile(path).catch((err: unknown) => {
    throw invalidArgument(`--reference ${path} cannot be read: ${(err as Error).message}`, err);
  });
  const ext = extname(path).toLowerCase();
  if (ext !== '.npy' && ext !== '.csv') throw invalidArgument(`--reference ${path}: expected a .npy or .csv file`);
  const table = ext === '.npy' ? parseNpy(bytes, path) : parseReferenceCsv(bytes.toString('utf8'), path);
  const features = referenceFeatures(table, input);
  return { input: input ?? (/^[^[:]+/.exec(features[0]!.name ?? '')?.[0] ?? ''), rows: table.rows, features };
}
