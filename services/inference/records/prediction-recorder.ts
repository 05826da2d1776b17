import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Counter } from 'prom-client';
import type { Logger } from '../../../shared/logging/index.js';
import { ensureStream } from '../../../shared/nats/index.js';
import { PREDICTIONS_STREAM_SPEC, predictionRecordCodec, predictionsSubject } from '../../../shared/monitor-client/index.js';
import { buildPredictionRecord, type RecordSource } from './record-builder.js';

/** Defaults of {@link PredictionRecorderOptions}. */
export const DEFAULT_PREDICTION_RECORDER_OPTIONS = {
  maxQueueRecords: 1024,
  maxInFlight: 64,
  publishTimeoutMs: 2000,
} as const;

export interface PredictionRecorderOptions {
  /** The node's NATS connection (injected; the recorder does not close it). */
  nc: NatsConnection;
  /** Put on every record ('' for a standalone `infermesh serve`). */
  nodeId: string;
  /** Key of the HMAC for `hash` redaction rules. Default: a random key per process (hashes then match only within one node run). */
  hashKey?: Uint8Array;
  /** Records waiting to be published; beyond it new ones are dropped and counted. Default 1024. */
  maxQueueRecords?: number;
  /** Publishes awaiting their JetStream ack at once. Default 64. */
  maxInFlight?: number;
  /** A publish not acknowledged within this is counted as dropped. Default 2000 ms. */
  publishTimeoutMs?: number;
  /** `infermesh_prediction_records_total{model,outcome}` (outcome published, queue_full or publish_failed). */
  recordsTotal?: Counter<'model' | 'outcome'>;
  logger: Logger;
  /** Uniform [0, 1) for sampling. Default Math.random. */
  random?: () => number;
}

/** Counts since start. */
export interface PredictionRecorderStats {
  published: number;
  droppedQueueFull: number;
  droppedPublishFailed: number;
  queued: number;
}

/**
 * Samples served requests into prediction records on `infermesh.predictions.<model>`.
 * `record()` is what the hot path calls: a sampling draw, and for a sampled
 * request one push of references onto a bounded queue. Building (redaction,
 * summaries), encoding and publishing happen later, off the request's path;
 * a full queue or a failed publish drops the record and counts it. Nothing
 * here ever throws into inference or waits for NATS.
 */
export interface PredictionRecorder {
  record(source: RecordSource): void;
  stats(): PredictionRecorderStats;
  /** Stops taking records; waits up to `timeoutMs` (default 2000) for the queue to flush. Idempotent. */
  close(timeoutMs?: number): Promise<void>;
}

export function createPredictionRecorder(options: PredictionRecorderOptions): PredictionRecorder {
  const o = { ...DEFAULT_PREDICTION_RECORDER_OPTIONS, ...options };
  const random = o.random ?? Math.random;
  const logger = o.logger;
  if (!options.hashKey) logger.debug('no record hash key given: hashed inputs use a random key for this process');
  const hashKey = options.hashKey ?? randomBytes(32);
  const js = jetstream(o.nc, { timeout: o.publishTimeoutMs });
  const queue: RecordSource[] = [];
  const stats: PredictionRecorderStats = { published: 0, droppedQueueFull: 0, droppedPublishFailed: 0, queued: 0 };
  let inFlight = 0;
  let scheduled = false;
  let closed = false;
  let streamReady: Promise<void> | undefined;
  let idle: (() => void) | undefined;
  let lastFailureLogMs = 0;

  const ensure = () =>
    (streamReady ??= ensureStream(o.nc, PREDICTIONS_STREAM_SPEC).catch((err: unknown) => {
      streamReady = undefined;
      throw err;
    }));

  const count = (model: string, outcome: 'published' | 'queue_full' | 'publish_failed') => o.recordsTotal?.inc({ model, outcome });

  const publishOne = async (source: RecordSource) => {
    try {
      await ensure();
      const bytes = predictionRecordCodec.encode(buildPredictionRecord(source, o.nodeId, hashKey));
      await js.publish(predictionsSubject(source.model), bytes);
      stats.published++;
      count(source.model, 'published');
    } catch (err) {
      stats.droppedPublishFailed++;
      count(source.model, 'publish_failed');
      const now = Date.now();
      if (now - lastFailureLogMs > 10_000) {
        lastFailureLogMs = now;
        logger.warn('prediction records dropped: publish failed (NATS slow or down)', { err, dropped: stats.droppedPublishFailed });
      }
    }
  };

  const pump = () => {
    scheduled = false;
    while (queue.length > 0 && inFlight < o.maxInFlight) {
      const source = queue.shift()!;
      inFlight++;
      void publishOne(source).finally(() => {
        inFlight--;
        if (queue.length > 0) schedule();
        else if (inFlight === 0) idle?.();
      });
    }
    stats.queued = queue.length;
  };

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(pump);
  };

  if (!o.nc.isClosed()) ensure().catch((err: unknown) => logger.warn('cannot create the PREDICTIONS stream yet; will retry on publish', { err }));

  return {
    record(source) {
      const rate = source.config.sampleRate;
      if (closed || rate <= 0 || (rate < 1 && random() >= rate)) return;
      if (queue.length >= o.maxQueueRecords) {
        stats.droppedQueueFull++;
        count(source.model, 'queue_full');
        return;
      }
      queue.push(source);
      stats.queued = queue.length;
      schedule();
    },
    stats: () => ({ ...stats, queued: queue.length }),
    async close(timeoutMs = 2000) {
      if (closed) return;
      closed = true;
      if (queue.length === 0 && inFlight === 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
  };
}
