import { invalidArgument } from '../errors/index.js';

/** Longest model pattern accepted, in characters. */
const MAX_PATTERN_LENGTH = 128;
/** Most model patterns on one token. */
export const MAX_MODEL_PATTERNS = 64;

/**
 * Checks model patterns: model-name characters (letters, digits, `_`, `-`)
 * plus the globs `*` (any run of characters) and `?` (one character).
 * INVALID_ARGUMENT naming the bad pattern. An empty list means every model.
 */
export function parseModelPatterns(patterns: readonly string[], what = 'models'): string[] {
  if (patterns.length > MAX_MODEL_PATTERNS) throw invalidArgument(`${what}: at most ${MAX_MODEL_PATTERNS} model patterns, got ${patterns.length}`);
  for (const p of patterns) {
    if (p.length === 0 || p.length > MAX_PATTERN_LENGTH || !/^[A-Za-z0-9_*?-]+$/.test(p)) {
      throw invalidArgument(`${what}: model pattern '${p.slice(0, MAX_PATTERN_LENGTH)}' must be 1-${MAX_PATTERN_LENGTH} of A-Z a-z 0-9 _ - and the globs * ?`);
    }
  }
  return [...new Set(patterns)];
}

/** Whether `model` matches the glob `pattern` (`*` any run, `?` one character; the whole name must match). */
export function matchesModelPattern(pattern: string, model: string): boolean {
  // Iterative glob match with one backtrack point: linear, no regular expression built from input.
  let p = 0;
  let m = 0;
  let star = -1;
  let mark = 0;
  while (m < model.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === model[m])) {
      p++;
      m++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = m;
    } else if (star >= 0) {
      p = star + 1;
      m = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * Whether a grant of `patterns` covers `model` (an empty list covers every model). Runs per
 * streamed message (authorize): an indexed loop, no closure, and an exact name before the glob.
 */
export function allowsModel(patterns: readonly string[], model: string): boolean {
  if (patterns.length === 0) return true;
  for (let i = 0; i < patterns.length; i++) {
    const p = patterns[i]!;
    if (p === model || matchesModelPattern(p, model)) return true;
  }
  return false;
}
