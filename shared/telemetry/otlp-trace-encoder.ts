// OTLP protobuf encoding of span records (span-records.ts, read back) into one
// `ExportTraceServiceRequest`, written straight into a growing buffer that
// starts with room for the 5-byte gRPC message header. Field numbers are those
// of opentelemetry/proto/{collector/trace,trace,common,resource}/v1; the
// choices of what to write (status always, kind when not UNSPECIFIED, flags
// with the has-is-remote bit, integers as int_value and other numbers as
// double_value) follow the SDK's own serializer, so a receiver decodes the
// same spans as from @opentelemetry/exporter-trace-otlp-grpc.
import type { AttributeValue, Attributes, HrTime } from '@opentelemetry/api';
import type { SpanRecordView } from './span-records.js';

/** A resource or instrumentation scope, sent to the worker once, then named by its index in every record. */
export interface ResourceRecord {
  attributes: Attributes;
  schemaUrl?: string;
}
export interface ScopeRecord {
  name: string;
  version?: string;
  schemaUrl?: string;
  attributes?: Attributes;
}

/** Strings up to this many UTF-16 units are tried as ASCII, byte by byte (see ProtoWriter.string). */
const SHORT_STRING = 64;

/** Bytes of the gRPC length-prefixed message header in front of the encoded request. */
export const GRPC_HEADER_BYTES = 5;

const LEN = 2;
const VARINT = 0;
const I64 = 1;
const I32 = 5;
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

/** A protobuf writer over one growing Buffer; nested lengths are patched in place when a message ends. */
class ProtoWriter {
  buf: Buffer;
  pos: number;

  constructor(initialBytes: number, reserve: number) {
    this.buf = Buffer.allocUnsafe(Math.max(initialBytes, 64));
    this.pos = reserve;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  varint(value: number): void {
    this.ensure(10);
    let v = value;
    if (v < 0) {
      this.bigVarint(BigInt.asUintN(64, BigInt(v)));
      return;
    }
    while (v > 0x7f) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  private bigVarint(value: bigint): void {
    let v = value;
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  double(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** An HrTime as fixed64 nanoseconds since the epoch. */
  time(t: HrTime): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(Math.trunc(t[0])) * 1_000_000_000n + BigInt(Math.trunc(t[1])), this.pos);
    this.pos += 8;
  }

  string(field: number, value: string): void {
    this.tag(field, LEN);
    const n = value.length;
    const start = this.begin(n * 3);
    // Most strings here are short and ASCII (span names, attribute keys, model names):
    // copied by hand, they skip Buffer.write's trip into C++ (a fifth of the worker's time).
    if (n <= SHORT_STRING) {
      const buf = this.buf;
      let p = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        this.pos = p;
        this.end(start);
        return;
      }
    }
    this.pos += this.buf.write(value, this.pos, 'utf8');
    this.end(start);
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, LEN);
    const start = this.begin(value.byteLength);
    this.buf.set(value, this.pos);
    this.pos += value.byteLength;
    this.end(start);
  }

  /** Starts a length-delimited value (after its tag): one byte is reserved for the length. */
  begin(expectedBytes = 0): number {
    this.ensure(expectedBytes + 16);
    const start = this.pos;
    this.pos += 1;
    return start;
  }

  /** Ends the value begun at `start`: writes its length, moving the value when the length needs more than a byte. */
  end(start: number): void {
    const length = this.pos - start - 1;
    if (length < 0x80) {
      this.buf[start] = length;
      return;
    }
    let extra = 0;
    for (let v = length >>> 7; v > 0; v >>>= 7) extra++;
    this.ensure(extra);
    this.buf.copyWithin(start + 1 + extra, start + 1, this.pos);
    this.pos += extra;
    let v = length;
    let at = start;
    while (v > 0x7f) {
      this.buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[at] = v;
  }
}

function writeAnyValue(w: ProtoWriter, value: AttributeValue | Record<string, unknown> | null | undefined): void {
  if (typeof value === 'string') {
    w.string(1, value);
  } else if (typeof value === 'boolean') {
    w.tag(2, VARINT);
    w.varint(value ? 1 : 0);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63) {
      w.tag(3, VARINT);
      w.varint(value);
    } else {
      w.tag(4, I64);
      w.double(value);
    }
  } else if (value instanceof Uint8Array) {
    w.bytes(7, value);
  } else if (Array.isArray(value)) {
    w.tag(5, LEN);
    const array = w.begin();
    for (const item of value) {
      w.tag(1, LEN);
      const at = w.begin();
      writeAnyValue(w, item);
      w.end(at);
    }
    w.end(array);
  } else if (typeof value === 'object' && value !== null) {
    w.tag(6, LEN);
    const list = w.begin();
    writeAttributes(w, value as Attributes, 1);
    w.end(list);
  }
}

function writeAttributes(w: ProtoWriter, attributes: Attributes | undefined, field: number): void {
  if (!attributes) return;
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    w.tag(field, LEN);
    const kv = w.begin();
    w.string(1, key);
    w.tag(2, LEN);
    const value = w.begin();
    writeAnyValue(w, attributes[key]);
    w.end(value);
    w.end(kv);
  }
}

function writeUint(w: ProtoWriter, field: number, value: number): void {
  w.tag(field, VARINT);
  w.varint(value);
}

function spanFlags(traceFlags: number, isRemote: boolean): number {
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0);
}

function writeSpan(w: ProtoWriter, s: SpanRecordView): void {
  w.tag(2, LEN);
  const span = w.begin(256);
  w.bytes(1, s.traceId);
  w.bytes(2, s.spanId);
  if (s.traceState) w.string(3, s.traceState);
  if (s.parentSpanId) w.bytes(4, s.parentSpanId);
  w.string(5, s.name);
  const kind = s.kind == null ? 0 : s.kind + 1;
  if (kind !== 0) writeUint(w, 6, kind);
  w.tag(7, I64);
  w.time(s.startTime);
  w.tag(8, I64);
  w.time(s.endTime);
  writeAttributes(w, s.attributes, 9);
  writeUint(w, 10, s.droppedAttributes);
  for (const event of s.events) {
    w.tag(11, LEN);
    const e = w.begin();
    w.tag(1, I64);
    w.time(event.time);
    w.string(2, event.name);
    writeAttributes(w, event.attributes, 3);
    writeUint(w, 4, event.droppedAttributesCount ?? 0);
    w.end(e);
  }
  writeUint(w, 12, s.droppedEvents);
  for (const link of s.links) {
    w.tag(13, LEN);
    const l = w.begin();
    w.bytes(1, link.traceId);
    w.bytes(2, link.spanId);
    if (link.traceState) w.string(3, link.traceState);
    writeAttributes(w, link.attributes, 4);
    writeUint(w, 5, link.droppedAttributes);
    w.tag(6, I32);
    w.fixed32(spanFlags(link.traceFlags, link.isRemote));
    w.end(l);
  }
  writeUint(w, 14, s.droppedLinks);
  w.tag(15, LEN);
  const status = w.begin();
  if (s.statusMessage) w.string(2, s.statusMessage);
  writeUint(w, 3, s.statusCode);
  w.end(status);
  w.tag(16, I32);
  w.fixed32(spanFlags(s.traceFlags, s.parentIsRemote));
  w.end(span);
}

/**
 * Encodes spans as one ExportTraceServiceRequest,
 * grouped by resource and then scope in order of first appearance. Returns
 * the buffer with {@link GRPC_HEADER_BYTES} of room in front (filled with the
 * gRPC message header), ready to send as an HTTP/2 request body.
 */
export function encodeExportRequest(records: readonly SpanRecordView[], resources: ReadonlyMap<number, ResourceRecord>, scopes: ReadonlyMap<number, ScopeRecord>): Buffer {
  const groups = new Map<number, Map<number, SpanRecordView[]>>();
  for (const record of records) {
    let byScope = groups.get(record.resource);
    if (!byScope) groups.set(record.resource, (byScope = new Map()));
    let list = byScope.get(record.scope);
    if (!list) byScope.set(record.scope, (list = []));
    list.push(record);
  }
  const w = new ProtoWriter(GRPC_HEADER_BYTES + records.length * 400, GRPC_HEADER_BYTES);
  for (const [r, byScope] of groups) {
    const resource = resources.get(r) ?? { attributes: {} };
    w.tag(1, LEN);
    const rs = w.begin();
    w.tag(1, LEN);
    const res = w.begin();
    writeAttributes(w, resource.attributes, 1);
    writeUint(w, 2, 0);
    w.end(res);
    for (const [s, spans] of byScope) {
      const scope = scopes.get(s) ?? { name: '' };
      w.tag(2, LEN);
      const ss = w.begin();
      w.tag(1, LEN);
      const sc = w.begin();
      w.string(1, scope.name);
      if (scope.version) w.string(2, scope.version);
      writeAttributes(w, scope.attributes, 3);
      w.end(sc);
      for (const span of spans) writeSpan(w, span);
      if (scope.schemaUrl) w.string(3, scope.schemaUrl);
      w.end(ss);
    }
    if (resource.schemaUrl) w.string(3, resource.schemaUrl);
    w.end(rs);
  }
  const out = w.buf.subarray(0, w.pos);
  out[0] = 0;
  out.writeUInt32BE(w.pos - GRPC_HEADER_BYTES, 1);
  return out;
}
