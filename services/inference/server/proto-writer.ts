/**
 * A protobuf writer into one buffer of a size computed beforehand (a sizing
 * pass notes every nested length; the writing pass consumes them in the same
 * order), for the responses the hot path encodes by hand. Values are taken as
 * protobufjs's `fromObject` takes them, so that the bytes are the ones
 * protobufjs would write for the same object.
 */
export class ProtoWriter {
  readonly buf: Buffer;
  pos = 0;
  /** The next nested length to consume (see {@link Lengths}). */
  next = 0;

  /** `headroom` bytes are left free before the message (e.g. for gRPC's 5-byte frame header). */
  constructor(
    size: number,
    readonly lengths: number[],
    headroom = 0,
  ) {
    this.buf = Buffer.allocUnsafe(headroom + size);
    this.pos = headroom;
  }

  uint32(v: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (v > 127) {
      buf[pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** A 64-bit varint from {@link toUint64}'s result. */
  uint64(v: number | bigint): void {
    if (typeof v === 'number') return this.uint32(v);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 127n) {
      buf[pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    buf[pos++] = Number(v);
    this.pos = pos;
  }

  /** A string whose UTF-8 length is the next noted length. */
  string(s: string): void {
    const len = this.lengths[this.next++]!;
    this.uint32(len);
    if (len === s.length && len <= 64) {
      // ASCII (its UTF-8 length is its length) and short: a loop beats the native write's call.
      const buf = this.buf;
      const at = this.pos;
      for (let i = 0; i < len; i++) buf[at + i] = s.charCodeAt(i);
    } else if (len > 0) this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }

  bytes(b: Uint8Array): void {
    this.uint32(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  /** The length prefix of a nested message (the next noted length). */
  fork(): void {
    this.uint32(this.lengths[this.next++]!);
  }

  float(v: number): void {
    this.pos = this.buf.writeFloatLE(v, this.pos);
  }

  double(v: number): void {
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }
}

/** Bytes of a varint holding the unsigned 32-bit `v`. */
export function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes of a 64-bit varint from {@link toUint64}'s result. */
export function varint64Size(v: number | bigint): number {
  if (typeof v === 'number') return varint32Size(v);
  let n = 1;
  while (v > 127n) {
    v >>= 7n;
    n++;
  }
  return n;
}

/** Bytes of an int32 as protobuf writes it: a negative one is sign-extended to ten bytes. */
export function int32Size(v: number): number {
  return v < 0 ? 10 : varint32Size(v);
}

/** Bytes of a length-delimited field body of `len` bytes, with its prefix. */
export function delimitedSize(len: number): number {
  return varint32Size(len) + len;
}

const TWO_31 = 2 ** 31;

/**
 * A 64-bit integer field's value (number, decimal string, bigint, or a Long
 * `{ low, high }`, as protobufjs accepts them) as the unsigned 64-bit pattern
 * it is written with: a small number stays a number, the rest is a bigint.
 */
export function toUint64(v: unknown): number | bigint {
  if (typeof v === 'number' && v >= 0 && v < TWO_31 && Number.isInteger(v)) return v;
  let big: bigint;
  if (typeof v === 'bigint') big = v;
  else if (typeof v === 'number') big = BigInt(Math.trunc(v));
  else if (typeof v === 'string') big = BigInt(v);
  else if (typeof v === 'object' && v !== null && 'low' in v && 'high' in v) {
    const long = v as { low: number; high: number };
    big = (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0);
  } else big = BigInt(Number(v));
  const u = BigInt.asUintN(64, big);
  return u < BigInt(TWO_31) ? Number(u) : u;
}
