// The hand-over format between the traced program's thread and the span
// export worker. Each ended span is written as a compact binary record into an
// ArrayBuffer that is transferred (not copied) to the worker with its batch:
// ids as raw bytes, times as integers, and strings that repeat (span names,
// attribute keys, model names) as indexes into a string table that grows by
// the strings each batch names for the first time. A structured clone of the
// spans' objects costs the traced thread several times more than this.
// The worker reads the records back (readSpanRecords) and encodes OTLP.
import type { AttributeValue, Attributes, HrTime } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/** Strings interned at most (beyond, strings are written inline); bounds both threads' tables. */
export const MAX_INTERNED_STRINGS = 16_384;
/** Longer strings are never interned (they are unlikely to repeat). */
const MAX_INTERNED_LENGTH = 256;

const STR_EMPTY = 0;
const STR_INTERNED = 1;
const STR_INLINE = 2;

const VAL_STRING = 0;
const VAL_NUMBER = 1;
const VAL_TRUE = 2;
const VAL_FALSE = 3;
/** Anything else (arrays, bytes, nested objects): a structured-cloned value in the batch's `extras`. */
const VAL_EXTRA = 4;

const UTF8 = new TextEncoder();

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = HEX[65 + i] = 10 + i;

/** One span as the worker reads it back. Ids are views of the record buffer. */
export interface SpanRecordView {
  resource: number;
  scope: number;
  traceId: Uint8Array;
  spanId: Uint8Array;
  /** Undefined for a root span. */
  parentSpanId: Uint8Array | undefined;
  parentIsRemote: boolean;
  traceState: string;
  traceFlags: number;
  name: string;
  /** The API's SpanKind (0 = INTERNAL). */
  kind: number;
  startTime: HrTime;
  endTime: HrTime;
  attributes: Attributes;
  droppedAttributes: number;
  events: TimedEvent[];
  droppedEvents: number;
  links: LinkRecordView[];
  droppedLinks: number;
  statusCode: number;
  statusMessage: string;
}

export interface LinkRecordView {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState: string;
  traceFlags: number;
  isRemote: boolean;
  attributes: Attributes | undefined;
  droppedAttributes: number;
}

/** One batch as handed over: the records, the strings first named in it, and the values too odd for the binary form. */
export interface SpanRecordBatch {
  buffer: ArrayBuffer;
  bytes: number;
  spans: number;
  newStrings: string[];
  extras: unknown[];
}

/** Writes span records on the traced thread; one per exporting processor. */
export class SpanRecordWriter {
  #u8: Uint8Array;
  #dv: DataView;
  #pos = 0;
  #spans = 0;
  readonly #interned = new Map<string, number>();
  #newStrings: string[] = [];
  #extras: unknown[] = [];
  readonly #initialBytes: number;

  constructor(initialBytes = 64 * 1024) {
    this.#initialBytes = initialBytes;
    this.#u8 = new Uint8Array(initialBytes);
    this.#dv = new DataView(this.#u8.buffer);
  }

  get spans(): number {
    return this.#spans;
  }

  /** Appends one ended span, with its resource and scope given as indexes the caller assigned. */
  append(span: ReadableSpan, resource: number, scope: number): void {
    const ctx = span.spanContext();
    const parent = span.parentSpanContext;
    this.#ensure(64);
    this.#u16(resource);
    this.#u16(scope);
    this.#hex(ctx.traceId, 16);
    this.#hex(ctx.spanId, 8);
    if (parent?.spanId) {
      this.#u8[this.#pos++] = parent.isRemote ? 3 : 1;
      this.#hex(parent.spanId, 8);
    } else this.#u8[this.#pos++] = 0;
    this.#str(ctx.traceState?.serialize() ?? '');
    this.#str(span.name);
    this.#ensure(40);
    this.#u8[this.#pos++] = ctx.traceFlags;
    this.#u8[this.#pos++] = span.kind;
    this.#time(span.startTime);
    this.#time(span.endTime);
    this.#u32(span.droppedAttributesCount);
    this.#u32(span.droppedEventsCount);
    this.#u32(span.droppedLinksCount);
    this.#u8[this.#pos++] = span.status.code;
    this.#str(span.status.message ?? '');
    this.#attributes(span.attributes);
    this.#ensure(8);
    if (span.events.length) {
      this.#u32(this.#extras.length + 1);
      this.#extras.push(span.events);
    } else this.#u32(0);
    const links = span.links;
    this.#u16(links.length);
    for (const link of links) {
      const c = link.context;
      this.#ensure(32);
      this.#hex(c.traceId, 16);
      this.#hex(c.spanId, 8);
      this.#u8[this.#pos++] = c.traceFlags;
      this.#u8[this.#pos++] = c.isRemote ? 1 : 0;
      this.#u32(link.droppedAttributesCount ?? 0);
      this.#str(c.traceState?.serialize() ?? '');
      this.#attributes(link.attributes);
    }
    this.#spans++;
  }

  /** Takes the records written so far (their buffer is handed over; the writer starts a new one). */
  take(): SpanRecordBatch {
    const batch: SpanRecordBatch = { buffer: this.#u8.buffer as ArrayBuffer, bytes: this.#pos, spans: this.#spans, newStrings: this.#newStrings, extras: this.#extras };
    this.#u8 = new Uint8Array(Math.max(this.#initialBytes, Math.min(this.#pos * 2, 8 << 20)));
    this.#dv = new DataView(this.#u8.buffer);
    this.#pos = 0;
    this.#spans = 0;
    this.#newStrings = [];
    this.#extras = [];
    return batch;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#u8.length) return;
    const bigger = new Uint8Array(Math.max(this.#u8.length * 2, this.#pos + n));
    bigger.set(this.#u8.subarray(0, this.#pos));
    this.#u8 = bigger;
    this.#dv = new DataView(bigger.buffer);
  }

  #u16(v: number): void {
    this.#dv.setUint16(this.#pos, v, true);
    this.#pos += 2;
  }

  #u32(v: number): void {
    this.#dv.setUint32(this.#pos, v, true);
    this.#pos += 4;
  }

  #time(t: HrTime): void {
    this.#dv.setUint32(this.#pos, t[0], true);
    this.#dv.setUint32(this.#pos + 4, t[1], true);
    this.#pos += 8;
  }

  /** `bytes` bytes from a hex id (the SDK only makes valid ones); caller ensured room. */
  #hex(id: string, bytes: number): void {
    const u8 = this.#u8;
    let p = this.#pos;
    for (let i = 0; i < bytes; i++) u8[p++] = (HEX[id.charCodeAt(2 * i) & 0x7f]! << 4) | HEX[id.charCodeAt(2 * i + 1) & 0x7f]!;
    this.#pos = p;
  }

  #str(s: string): void {
    this.#ensure(5);
    if (s.length === 0) {
      this.#u8[this.#pos++] = STR_EMPTY;
      return;
    }
    let index = this.#interned.get(s);
    if (index === undefined && s.length <= MAX_INTERNED_LENGTH && this.#interned.size < MAX_INTERNED_STRINGS) {
      index = this.#interned.size;
      this.#interned.set(s, index);
      this.#newStrings.push(s);
    }
    if (index !== undefined) {
      this.#u8[this.#pos++] = STR_INTERNED;
      this.#u32(index);
      return;
    }
    this.#ensure(5 + s.length * 3);
    this.#u8[this.#pos++] = STR_INLINE;
    const { written } = UTF8.encodeInto(s, this.#u8.subarray(this.#pos + 4));
    this.#u32(written);
    this.#pos += written;
  }

  #attributes(attributes: Attributes | undefined): void {
    this.#ensure(2);
    const countAt = this.#pos;
    this.#pos += 2;
    let count = 0;
    if (attributes) {
      for (const key in attributes) {
        if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
        this.#str(key);
        this.#value(attributes[key]);
        count++;
      }
    }
    this.#dv.setUint16(countAt, count, true);
  }

  #value(v: AttributeValue | undefined): void {
    this.#ensure(9);
    if (typeof v === 'string') {
      this.#u8[this.#pos++] = VAL_STRING;
      this.#str(v);
    } else if (typeof v === 'number') {
      this.#u8[this.#pos++] = VAL_NUMBER;
      this.#dv.setFloat64(this.#pos, v, true);
      this.#pos += 8;
    } else if (typeof v === 'boolean') {
      this.#u8[this.#pos++] = v ? VAL_TRUE : VAL_FALSE;
    } else {
      this.#u8[this.#pos++] = VAL_EXTRA;
      this.#u32(this.#extras.length);
      this.#extras.push(v);
    }
  }
}

/** Reads span records back in the worker, keeping the string table across batches. */
export class SpanRecordReader {
  readonly #strings: string[] = [];
  readonly #decoder = new TextDecoder();

  /** The spans of one batch (views over its buffer). Throws on a malformed record. */
  read(batch: SpanRecordBatch): SpanRecordView[] {
    for (const s of batch.newStrings) if (this.#strings.length < MAX_INTERNED_STRINGS) this.#strings.push(s);
    const u8 = new Uint8Array(batch.buffer, 0, batch.bytes);
    const dv = new DataView(batch.buffer, 0, batch.bytes);
    const strings = this.#strings;
    const decoder = this.#decoder;
    const extras = batch.extras;
    let pos = 0;
    const u16 = () => ((pos += 2), dv.getUint16(pos - 2, true));
    const u32 = () => ((pos += 4), dv.getUint32(pos - 4, true));
    const bytes = (n: number) => ((pos += n), u8.subarray(pos - n, pos));
    const time = (): HrTime => [u32(), u32()];
    const str = (): string => {
      const tag = u8[pos++];
      if (tag === STR_EMPTY) return '';
      if (tag === STR_INTERNED) {
        const s = strings[u32()];
        if (s === undefined) throw new Error('span record names a string the worker was never given');
        return s;
      }
      const n = u32();
      return decoder.decode(bytes(n));
    };
    const attributes = (): Attributes => {
      const out: Attributes = {};
      for (let n = u16(); n > 0; n--) {
        const key = str();
        const type = u8[pos++];
        if (type === VAL_STRING) out[key] = str();
        else if (type === VAL_NUMBER) {
          out[key] = dv.getFloat64(pos, true);
          pos += 8;
        } else if (type === VAL_TRUE) out[key] = true;
        else if (type === VAL_FALSE) out[key] = false;
        else out[key] = extras[u32()] as AttributeValue;
      }
      return out;
    };
    const spans: SpanRecordView[] = [];
    while (pos < batch.bytes) {
      const resource = u16();
      const scope = u16();
      const traceId = bytes(16);
      const spanId = bytes(8);
      const parentTag = u8[pos++]!;
      const parentSpanId = parentTag ? bytes(8) : undefined;
      const traceState = str();
      const name = str();
      const traceFlags = u8[pos++]!;
      const kind = u8[pos++]!;
      const startTime = time();
      const endTime = time();
      const droppedAttributes = u32();
      const droppedEvents = u32();
      const droppedLinks = u32();
      const statusCode = u8[pos++]!;
      const statusMessage = str();
      const attrs = attributes();
      const eventsRef = u32();
      const events = eventsRef ? (extras[eventsRef - 1] as TimedEvent[]) : [];
      const links: LinkRecordView[] = [];
      for (let n = u16(); n > 0; n--) {
        const linkTraceId = bytes(16);
        const linkSpanId = bytes(8);
        const flags = u8[pos++]!;
        const isRemote = u8[pos++] === 1;
        const dropped = u32();
        const linkTraceState = str();
        const linkAttributes = attributes();
        links.push({ traceId: linkTraceId, spanId: linkSpanId, traceState: linkTraceState, traceFlags: flags, isRemote, attributes: linkAttributes, droppedAttributes: dropped });
      }
      spans.push({
        resource, scope, traceId, spanId, parentSpanId, parentIsRemote: parentTag === 3, traceState, traceFlags, name, kind, startTime, endTime,
        attributes: attrs, droppedAttributes, events, droppedEvents, links, droppedLinks, statusCode, statusMessage,
      });
    }
    if (spans.length !== batch.spans) throw new Error(`span record batch holds ${spans.length} spans, expected ${batch.spans}`);
    return spans;
  }
}
