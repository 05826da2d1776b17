import { invalidArgument } from '../../../shared/errors/index.js';

/** Protobuf wire types. */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

const TWO_32 = 4294967296;
/** Unknown groups nest; past this depth a message is refused rather than recursed into. */
const MAX_GROUP_DEPTH = 32;

/** Strings up to this many bytes go through {@link internedString}. */
const INTERNED_MAX = 32;
const INTERNED_SLOTS = 64;
/** Recently decoded short ASCII strings, by a hash of their bytes (see {@link internedString}). */
const interned: (string | undefined)[] = new Array<string | undefined>(INTERNED_SLOTS).fill(undefined);

/**
 * The string of buf[start, end) (at most {@link INTERNED_MAX} bytes): the one
 * decoded last time when the bytes are the same ASCII. Model names, versions,
 * tensor names and datatypes repeat on every request, so this spares the call
 * into Buffer's decoder and a new string for each of them.
 */
function internedString(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  const slot = (len * 31 + buf[start]! * 7 + buf[end - 1]!) & (INTERNED_SLOTS - 1);
  const known = interned[slot];
  if (known !== undefined && known.length === len) {
    let i = 0;
    while (i < len && known.charCodeAt(i) === buf[start + i]) i++;
    if (i === len) return known;
  }
  const s = buf.toString('utf8', start, end);
  // Only ASCII is kept: its UTF-8 bytes are its char codes, which is what the comparison above relies on.
  if (s.length === len) {
    let ascii = true;
    for (let i = 0; i < len; i++) if (s.charCodeAt(i) > 0x7f) ascii = false;
    if (ascii) interned[slot] = s;
  }
  return s;
}

/**
 * A bounds-checked protobuf reader over one received buffer, for the few
 * messages the hot path decodes by hand. Every read checks the end first and
 * throws INVALID_ARGUMENT naming `what` (the message being read) and the
 * offset: a truncated or malformed message never reads past its end and never
 * allocates from a length it has not checked.
 *
 * 64-bit varints come back split in `lo` / `hi` (unsigned 32-bit halves) so
 * that no BigInt is made for the common small values.
 */
export class ProtoReader {
  pos: number;
  /** The halves of the last {@link varint64}. */
  lo = 0;
  hi = 0;

  constructor(
    readonly buf: Buffer,
    start: number,
    public end: number,
    readonly what: string,
  ) {
    this.pos = start;
  }

  fail(message: string): Error {
    return invalidArgument(`malformed ${this.what}: ${message} (at byte ${this.pos})`);
  }

  /** A varint of up to 10 bytes, of which the low 32 bits are returned (as protobuf's uint32 reads it). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    if (pos < end && buf[pos]! < 0x80) {
      this.pos = pos + 1;
      return buf[pos]!;
    }
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= end) throw this.fail('truncated varint');
      const b = buf[pos++]!;
      value |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return value >>> 0;
      }
    }
    // Bytes 6-10 only carry bits above 32.
    for (let i = 0; i < 5; i++) {
      if (pos >= end) throw this.fail('truncated varint');
      if (buf[pos++]! < 0x80) {
        this.pos = pos;
        return value >>> 0;
      }
    }
    throw this.fail('varint longer than 10 bytes');
  }

  /** A varint of up to 10 bytes into {@link lo} / {@link hi}. */
  varint64(): void {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let lo = 0;
    let hi = 0;
    let b = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (pos >= end) throw this.fail('truncated varint');
      b = buf[pos++]!;
      lo |= (b & 0x7f) << (i * 7);
      if (b < 0x80) return this.#set(pos, lo, 0);
    }
    // The fifth byte: 4 bits to lo, 3 to hi.
    if (pos >= end) throw this.fail('truncated varint');
    b = buf[pos++]!;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b < 0x80) return this.#set(pos, lo, hi);
    for (i = 0; i < 5; i++) {
      if (pos >= end) throw this.fail('truncated varint');
      b = buf[pos++]!;
      hi |= (b & 0x7f) << (i * 7 + 3);
      if (b < 0x80) return this.#set(pos, lo, hi);
    }
    throw this.fail('varint longer than 10 bytes');
  }

  #set(pos: number, lo: number, hi: number): void {
    this.pos = pos;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** A length prefix that must fit in what is left; returns the end of the delimited bytes. */
  delimitedEnd(): number {
    const len = this.uint32();
    if (len > this.end - this.pos) throw this.fail(`a length of ${len} byte(s) runs past the end (${this.end - this.pos} left)`);
    return this.pos + len;
  }

  /** A length-delimited string (UTF-8). */
  string(): string {
    const end = this.delimitedEnd();
    const s = end === this.pos ? '' : end - this.pos <= INTERNED_MAX ? internedString(this.buf, this.pos, end) : this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  /** A string field whose tag said wire type `wireType`: refused unless length-delimited. */
  stringField(wireType: number, field: string): string {
    this.expect(wireType, WIRE_LENGTH, field);
    return this.string();
  }

  /** A length-delimited bytes field, as a view over the received buffer (no copy). */
  bytes(): Buffer {
    const end = this.delimitedEnd();
    const b = this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }

  fixed32End(): number {
    if (this.end - this.pos < 4) throw this.fail('truncated fixed32');
    return (this.pos += 4);
  }

  fixed64End(): number {
    if (this.end - this.pos < 8) throw this.fail('truncated fixed64');
    return (this.pos += 8);
  }

  /** Skips one field of `wireType` whose tag has been read (unknown fields are skipped, as protobuf requires). */
  skip(wireType: number, field: number, depth = 0): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.uint32();
        return;
      case WIRE_FIXED64:
        this.fixed64End();
        return;
      case WIRE_LENGTH:
        this.pos = this.delimitedEnd();
        return;
      case WIRE_FIXED32:
        this.fixed32End();
        return;
      case WIRE_START_GROUP: {
        if (depth >= MAX_GROUP_DEPTH) throw this.fail(`groups nested deeper than ${MAX_GROUP_DEPTH}`);
        for (;;) {
          if (this.pos >= this.end) throw this.fail(`unterminated group ${field}`);
          const tag = this.uint32();
          if ((tag & 7) === WIRE_END_GROUP) {
            if (tag >>> 3 !== field) throw this.fail(`group ${field} ended by an end-group tag of field ${tag >>> 3}`);
            return;
          }
          this.skip(tag & 7, tag >>> 3, depth + 1);
        }
      }
      default:
        throw this.fail(`invalid wire type ${wireType} for field ${field}`);
    }
  }

  /** Throws unless `wireType` is `expected` for `field` (named as the proto names it). */
  expect(wireType: number, expected: number, field: string): void {
    if (wireType !== expected) throw this.fail(`field '${field}' has wire type ${wireType}, expected ${expected}`);
  }
}

/** The decimal string of a signed 64-bit value split in halves (as proto-loader's `longs: String` gives it). */
export function int64String(lo: number, hi: number): string {
  if (hi === 0) return String(lo);
  if (hi < 0x200000) return String(hi * TWO_32 + lo);
  if (hi === 0xffffffff && lo !== 0) return String(lo - TWO_32);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** The decimal string of an unsigned 64-bit value split in halves. */
export function uint64String(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * TWO_32 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Counts the varints in [start, end) (a packed field) without decoding them; throws if the last one is cut off. */
export function countPackedVarints(r: ProtoReader, start: number, end: number): number {
  const buf = r.buf;
  let n = 0;
  for (let i = start; i < end; i++) if (buf[i]! < 0x80) n++;
  if (end > start && buf[end - 1]! >= 0x80) {
    r.pos = end;
    throw r.fail('truncated varint at the end of a packed field');
  }
  return n;
}
