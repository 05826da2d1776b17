import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import type { Counter } from 'prom-client';
import type { Logger } from '../../../shared/logging/index.js';
import { ensureStream } from '../../../shared/nats/index.js';
import {
  MAX_RECORDS_PER_MESSAGE,
  PREDICTION_RECORD_BATCH_TYPE,
  PREDICTIONS_MESSAGE_HEADER,
  PREDICTIONS_STREAM_SPEC,
  predictionRecordCodec,
  predictionsSubject,
} from '../../../shared/monitor-client/index.js';
import { buildPredictionRecord, type RecordSource } from './record-builder.js';
import { resolveOptions } from '../../../shared/options/index.js';
import type { RecordsConfig } from '../../../shared/model-config/index.js';

/** Defaults of {@link PredictionRecorderOptions}. */
export const DEFAULT_PREDICTION_RECORDER_OPTIONS = {
  maxQueueRecords: 1024,
  maxInFlight: 64,
  publishTimeoutMs: 2000,
  flushIntervalMs: 100,
  maxBatchRecords: 256,
  maxBatchBytes: 256 * 1024,
} as const;

export interface PredictionRecorderOptions {
  /** The node's NATS connection (injected; the recorder does not close it). */
  nc: NatsConnection;
  /** Put on every record ('' for a standalone `infermesh serve`). */
  nodeId: string;
  /** Key of the HMAC for `hash` redaction rules. Default: a random key per process (hashes then match only within one node run). */
  hashKey?: Uint8Array;
  /** Sampled records waiting or in flight, all models together; beyond it new ones are dropped and counted. Default 1024. */
  maxQueueRecords?: number;
  /** Messages awaiting their JetStream ack at once. Default 64. */
  maxInFlight?: number;
  /** A batch not acknowledged within this counts its records as dropped. Default 2000 ms. */
  publishTimeoutMs?: number;
  /** How long a sampled record may wait for others to share its message. Default 100 ms. */
  flushIntervalMs?: number;
  /** Records per message, at most MAX_RECORDS_PER_MESSAGE; a model with this many waiting is published at once. 1 sends every record as its own PredictionRecord message. Default 256. */
  maxBatchRecords?: number;
  /** Encoded bytes per message (also capped by the server's max_payload); a record alone above it is dropped as publish_failed. Default 256 KiB. */
  maxBatchBytes?: number;
  /** `infermesh_prediction_records_total{model,outcome}` (outcome published, queue_full or publish_failed). */
  recordsTotal?: Counter<'model' | 'outcome'>;
  logger: Logger;
  /** Uniform [0, 1) for sampling. Default Math.random. */
  random?: () => number;
}

/** Counts since start, in records. */
export interface PredictionRecorderStats {
  published: number;
  droppedQueueFull: number;
  droppedPublishFailed: number;
  queued: number;
  /** Messages (batches) acknowledged by JetStream. */
  batchesPublished: number;
}

/**
 * Samples served requests into prediction records on `infermesh.predictions.<model>`.
 * `record()` is what the hot path calls: a sampling draw and, for a sampled
 * request, one push of references onto a bounded queue; an unsampled request
 * costs nothing more. Sampled records wait up to `flushIntervalMs` and leave
 * as one PredictionRecordBatch message per model (a lone record as a plain
 * PredictionRecord), so JetStream sees one publish and one ack per batch,
 * not per record. Building (redaction,
 * summaries), encoding and publishing happen in that flush, off the request's
 * path; a full queue or a failed publish drops records and counts them.
 * Nothing here ever throws into inference or waits for NATS.
 */
export interface PredictionRecorder {
  /** The sampling draw and, when sampled, the push: {@link sampled} then {@link push}. */
  record(source: RecordSource): void;
  /**
   * The sampling draw alone, for a caller that builds its RecordSource only for
   * a sampled request (the request path: an unsampled request then costs one
   * draw and no object). Follow a true with {@link push}.
   */
  sampled(config: RecordsConfig): boolean;
  /** Queues a record already drawn by {@link sampled}. */
  push(source: RecordSource): void;
  stats(): PredictionRecorderStats;
  /** Stops taking records, publishes what waits, and waits up to `timeoutMs` (default 2000) for it. Idempotent. */
  close(timeoutMs?: number): Promise<void>;
}

/** One length-delimited `records` field (number 1) of a PredictionRecordBatch around an encoded record. */
function batchField(record: Uint8Array): Uint8Array {
  const prefix: number[] = [0x0a];
  for (let n = record.length; ; n >>>= 7) {
    if (n < 0x80) {
      prefix.push(n);
      break;
    }
    prefix.push((n & 0x7f) | 0x80);
  }
  const out = new Uint8Array(prefix.length + record.length);
  out.set(prefix);
  out.set(record, prefix.length);
  return out;
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function createPredictionRecorder(options: PredictionRecorderOptions): PredictionRecorder {
  const o = resolveOptions(DEFAULT_PREDICTION_RECORDER_OPTIONS, options);
  if (!Number.isInteger(o.maxBatchRecords) || o.maxBatchRecords < 1 || o.maxBatchRecords > MAX_RECORDS_PER_MESSAGE) {
    throw new Error(`maxBatchRecords must be an integer from 1 to ${MAX_RECORDS_PER_MESSAGE}, got ${o.maxBatchRecords}`);
  }
  const random = o.random ?? Math.random;
  const logger = o.logger;
  if (!options.hashKey) logger.debug('no record hash key given: hashed inputs use a random key for this process');
  const hashKey = options.hashKey ?? randomBytes(32);
  const js = jetstream(o.nc, { timeout: o.publishTimeoutMs });
  /** Sampled records by model, oldest first; `queued` counts them all. */
  const waiting = new Map<string, RecordSource[]>();
  const stats: PredictionRecorderStats = { published: 0, droppedQueueFull: 0, droppedPublishFailed: 0, queued: 0, batchesPublished: 0 };
  let inFlight = 0;
  let inFlightRecords = 0;
  let timer: NodeJS.Timeout | undefined;
  let immediate = false;
  let closed = false;
  let streamReady: Promise<void> | undefined;
  let idle: (() => void) | undefined;
  let lastFailureLogMs = 0;

  const ensure = () =>
    (streamReady ??= ensureStream(o.nc, PREDICTIONS_STREAM_SPEC).catch((err: unknown) => {
      streamReady = undefined;
      throw err;
    }));

  const count = (model: string, outcome: 'published' | 'queue_full' | 'publish_failed', n = 1) => o.recordsTotal?.inc({ model, outcome }, n);

  const failed = (model: string, n: number, err: unknown, why: string) => {
    stats.droppedPublishFailed += n;
    count(model, 'publish_failed', n);
    const now = Date.now();
    if (now - lastFailureLogMs > 10_000) {
      lastFailureLogMs = now;
      logger.warn(`prediction records dropped: ${why}`, { err, model, dropped: stats.droppedPublishFailed });
    }
  };

  /**
   * Builds and encodes up to one message's worth of `model`'s waiting records
   * (taking them off the queue): a PredictionRecordBatch, or a plain
   * PredictionRecord when only one is waiting.
   */
  const takeBatch = (model: string, sources: RecordSource[]): { bytes: Uint8Array; records: number } | undefined => {
    const maxBytes = Math.min(o.maxBatchBytes, o.nc.info?.max_payload ?? Infinity);
    const encoded: Uint8Array[] = [];
    const fields: Uint8Array[] = [];
    let length = 0;
    while (sources.length > 0 && fields.length < o.maxBatchRecords) {
      let record: Uint8Array;
      try {
        record = predictionRecordCodec.encode(buildPredictionRecord(sources[0]!, o.nodeId, hashKey));
      } catch (err) {
        sources.shift();
        stats.queued--;
        failed(model, 1, err, 'a record could not be built');
        continue;
      }
      const field = batchField(record);
      if (length + field.length > maxBytes) {
        if (fields.length > 0) break;
        sources.shift();
        stats.queued--;
        failed(model, 1, undefined, `a record of ${field.length} bytes exceeds the message limit of ${maxBytes}`);
        continue;
      }
      sources.shift();
      stats.queued--;
      encoded.push(record);
      fields.push(field);
      length += field.length;
    }
    if (sources.length === 0) waiting.delete(model);
    if (fields.length === 0) return undefined;
    return fields.length === 1 ? { bytes: encoded[0]!, records: 1 } : { bytes: concat(fields, length), records: fields.length };
  };

  const publishBatch = async (model: string, bytes: Uint8Array, records: number) => {
    try {
      await ensure();
      let options: { headers: MsgHdrs } | undefined;
      if (records > 1) {
        options = { headers: headers() };
        options.headers.set(PREDICTIONS_MESSAGE_HEADER, PREDICTION_RECORD_BATCH_TYPE);
      }
      await js.publish(predictionsSubject(model), bytes, options);
      stats.published += records;
      stats.batchesPublished++;
      count(model, 'published', records);
    } catch (err) {
      failed(model, records, err, 'publish failed (NATS slow or down)');
    }
  };

  /** Publishes what waits, as far as the in-flight cap allows; `all` also sends batches below the size cap. */
  const flush = (all: boolean) => {
    for (const [model, sources] of waiting) {
      while (inFlight < o.maxInFlight && sources.length > 0 && (all || sources.length >= o.maxBatchRecords)) {
        const batch = takeBatch(model, sources);
        if (!batch) continue;
        inFlight++;
        inFlightRecords += batch.records;
        void publishBatch(model, batch.bytes, batch.records).finally(() => {
          inFlight--;
          inFlightRecords -= batch.records;
          if (stats.queued > 0) arm(closed ? 0 : o.flushIntervalMs);
          else if (inFlight === 0) idle?.();
        });
      }
    }
  };

  const onTimer = () => {
    timer = undefined;
    flush(true);
    if (stats.queued > 0 && inFlight < o.maxInFlight) arm(o.flushIntervalMs);
    else if (stats.queued === 0 && inFlight === 0) idle?.();
  };

  /** Makes sure a flush of everything runs within `delayMs`. */
  const arm = (delayMs: number) => {
    if (delayMs === 0 && timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (timer) return;
    timer = setTimeout(onTimer, delayMs);
    timer.unref();
  };

  if (!o.nc.isClosed()) ensure().catch((err: unknown) => logger.warn('cannot create the PREDICTIONS stream yet; will retry on publish', { err }));

  const recorder: PredictionRecorder = {
    record(source) {
      if (recorder.sampled(source.config)) recorder.push(source);
    },
    sampled(config) {
      const rate = config.sampleRate;
      return !closed && rate > 0 && (rate >= 1 || random() < rate);
    },
    push(source) {
      if (closed) return;
      if (stats.queued + inFlightRecords >= o.maxQueueRecords) {
        stats.droppedQueueFull++;
        count(source.model, 'queue_full');
        return;
      }
      let sources = waiting.get(source.model);
      if (!sources) waiting.set(source.model, (sources = []));
      sources.push(source);
      stats.queued++;
      if (sources.length >= o.maxBatchRecords && inFlight < o.maxInFlight && !immediate) {
        // A full batch goes now, but after the request that filled it has been answered.
        immediate = true;
        setImmediate(() => {
          immediate = false;
          flush(false);
        });
      }
      arm(o.flushIntervalMs);
    },
    stats: () => ({ ...stats }),
    async close(timeoutMs = 2000) {
      if (closed) return;
      closed = true;
      if (stats.queued === 0 && inFlight === 0) return;
      const done = new Promise<void>((resolve) => {
        const deadline = setTimeout(resolve, timeoutMs);
        deadline.unref();
        idle = () => {
          clearTimeout(deadline);
          resolve();
        };
      });
      if (stats.queued > 0) arm(0);
      await done;
      if (timer) clearTimeout(timer);
    },
  };
  return recorder;
}
