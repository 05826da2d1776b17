/**
 * Parses a request's JSON as Python's `json` and Triton clients write it:
 * besides standard JSON, the bare tokens `NaN`, `Infinity` and `-Infinity`,
 * and integers of 16 digits or more (64-bit values JSON.parse would round)
 * are read as strings ("NaN", "9223372036854775807"), which the tensor
 * decoder takes exactly. The rewrite runs only when the text could hold such
 * a token; strings are never touched.
 */
export function parseRequestJson(text: string): unknown {
  return JSON.parse(mayNeedQuoting(text) ? quoteLoneTokens(text) : text);
}

/**
 * Whether the text may hold such a token: 16 digits right after a delimiter
 * (the start of a long integer literal; floats start "0." and are left
 * alone) or NaN / Infinity. A plain scan, a tenth of the time JSON.parse takes
 * on float data; a false alarm costs one rewrite, never a wrong value.
 */
function mayNeedQuoting(text: string): boolean {
  return LONG_INTEGER_START.test(text) || text.includes('NaN') || text.includes('Infinity');
}
const LONG_INTEGER_START = /[[,:\s-]\d{16}/;

const isTokenChar = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2e /* . */ || c === 0x2b /* + */ || c === 0x2d; /* - */

function needsQuotes(token: string): boolean {
  if (token === 'NaN' || token === 'Infinity' || token === '-Infinity') return true;
  const digits = token.startsWith('-') ? token.length - 1 : token.length;
  return digits >= 16 && /^-?\d+$/.test(token);
}

/** Wraps the tokens {@link needsQuotes} picks, outside strings, in double quotes. */
function quoteLoneTokens(text: string): string {
  const parts: string[] = [];
  let last = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote, over escapes.
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        i += d === 0x5c ? 2 : 1;
        if (d === 0x22) break;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x4e /* N */ || c === 0x49 /* I */) {
      let j = i + 1;
      while (j < text.length && isTokenChar(text.charCodeAt(j))) j++;
      const token = text.slice(i, j);
      if (needsQuotes(token)) {
        parts.push(text.slice(last, i), `"${token}"`);
        last = j;
      }
      i = j;
    } else {
      i++;
    }
  }
  if (last === 0) return text;
  parts.push(text.slice(last));
  return parts.join('');
}
