import { readFileSync, writeFileSync } from 'node:fs';
import { invalidArgument } from '../../../shared/errors/index.js';

/**
 * Rating lines of He et al. 2017 (NCF): `user\titem\trating\ttimestamp`, ids
 * zero-based. One entry per line, in file order.
 */
export interface Ratings {
  user: Int32Array;
  item: Int32Array;
  rating: Float32Array;
  /** Seconds since the epoch (any monotone clock works). */
  timestamp: Float64Array;
}

/** One leave-one-out case: a user's held-out item and the items it is ranked against. */
export interface LeaveOneOutCase {
  user: number;
  item: number;
  negatives: Int32Array;
}

/** Parses NCF rating text; `source` names the file in error messages. */
export function parseRatings(text: string, source = 'ratings'): Ratings {
  const lines = text.split('\n');
  const n = lines.reduce((c, l) => (l.trim() ? c + 1 : c), 0);
  const out: Ratings = { user: new Int32Array(n), item: new Int32Array(n), rating: new Float32Array(n), timestamp: new Float64Array(n) };
  let k = 0;
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!.trim();
    if (!line) continue;
    const f = line.split('\t');
    const u = Number(f[0]);
    const i = Number(f[1]);
    if (f.length < 2 || !isId(u) || !isId(i)) {
      throw invalidArgument(`${source} line ${ln + 1}: expected 'user<TAB>item<TAB>rating<TAB>timestamp' with zero-based integer ids, got '${line.slice(0, 80)}'`);
    }
    out.user[k] = u;
    out.item[k] = i;
    out.rating[k] = f.length > 2 ? Number(f[2]) || 1 : 1;
    out.timestamp[k] = f.length > 3 ? Number(f[3]) || 0 : 0;
    k++;
  }
  return out;
}

/** Parses NCF negatives text: `(user,item)\tneg1\t...\tnegN` per line. */
export function parseNegatives(text: string, source = 'negatives'): LeaveOneOutCase[] {
  const cases: LeaveOneOutCase[] = [];
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!.trim();
    if (!line) continue;
    const f = line.split('\t');
    const m = /^\((\d+),(\d+)\)$/.exec(f[0]!);
    const negatives = Int32Array.from(f.slice(1), Number);
    if (!m || negatives.some((x) => !isId(x))) {
      throw invalidArgument(`${source} line ${ln + 1}: expected '(user,item)<TAB>neg1<TAB>...' with zero-based integer ids, got '${line.slice(0, 80)}'`);
    }
    cases.push({ user: Number(m[1]), item: Number(m[2]), negatives });
  }
  return cases;
}

/** Reads an NCF ratings file. */
export function readRatingsFile(path: string): Ratings {
  return parseRatings(readFileSync(path, 'utf8'), path);
}

/** Reads an NCF negatives file. */
export function readNegativesFile(path: string): LeaveOneOutCase[] {
  return parseNegatives(readFileSync(path, 'utf8'), path);
}

/** Formats ratings as NCF text. */
export function formatRatings(r: Ratings): string {
  const parts: string[] = [];
  for (let k = 0; k < r.user.length; k++) parts.push(`${r.user[k]}\t${r.item[k]}\t${r.rating[k]}\t${r.timestamp[k]}\n`);
  return parts.join('');
}

/** Formats leave-one-out cases as NCF negatives text. */
export function formatNegatives(cases: readonly LeaveOneOutCase[]): string {
  return cases.map((c) => `(${c.user},${c.item})\t${Array.from(c.negatives).join('\t')}\n`).join('');
}

/** Writes NCF train/test/negatives files (`train.rating`, `test.rating`, `test.negative`) into a folder. */
export function writeNcfFiles(dir: string, data: { train: Ratings; test: Ratings; negatives: readonly LeaveOneOutCase[] }): NcfPaths {
  const paths = ncfPaths(dir);
  writeFileSync(paths.train, formatRatings(data.train));
  writeFileSync(paths.test, formatRatings(data.test));
  writeFileSync(paths.negatives, formatNegatives(data.negatives));
  return paths;
}

export interface NcfPaths {
  train: string;
  test: string;
  negatives: string;
}

/** The file names `synth` writes and `eval` reads by default in a folder. */
export function ncfPaths(dir: string): NcfPaths {
  return { train: `${dir}/train.rating`, test: `${dir}/test.rating`, negatives: `${dir}/test.negative` };
}

function isId(x: number): boolean {
  return Number.isInteger(x) && x >= 0;
}
