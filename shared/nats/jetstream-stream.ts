import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';

/** Nanoseconds in a millisecond: JetStream durations are nanoseconds. */
const NS_PER_MS = 1_000_000;

/** What {@link ensureStream} needs to know about a stream. */
export interface StreamSpec {
  name: string;
  subjects: string[];
  /** Window in which a repeated `Nats-Msg-Id` is dropped as a duplicate. */
  duplicateWindowMs: number;
  /** Drop messages older than this; 0 (the default) keeps them for ever. */
  maxAgeMs?: number;
  /** Drop the oldest messages beyond this many bytes; -1 (the default) for no limit. */
  maxBytes?: number;
  /** `file` (the default; survives a server restart) or `memory`. */
  storage?: 'file' | 'memory';
  /**
   * Copies kept in a JetStream cluster (`--nats-replicas`; 3 on a three-server
   * cluster). Undefined: created with the server's default (1), and an existing
   * stream's count is left as it is (a consumer that only reads must not undo it).
   */
  replicas?: number;
}

/**
 * Creates the stream when it is missing, or updates its subjects and limits when
 * they differ. Idempotent: every publisher calls it at start-up (and again when a
 * publish finds no stream, e.g. after the server lost its data).
 */
export async function ensureStream(nc: NatsConnection, spec: StreamSpec, jsm?: JetStreamManager): Promise<void> {
  const manager = jsm ?? (await jetstreamManager(nc));
  const config: Partial<StreamConfig> & { name: string } = {
    name: spec.name,
    subjects: spec.subjects,
    storage: spec.storage ?? 'file',
    duplicate_window: spec.duplicateWindowMs * NS_PER_MS,
    max_age: (spec.maxAgeMs ?? 0) * NS_PER_MS,
    max_bytes: spec.maxBytes ?? -1,
    ...(spec.replicas !== undefined ? { num_replicas: spec.replicas } : {}),
  };
  let existing: StreamConfig | undefined;
  try {
    existing = (await manager.streams.info(spec.name)).config;
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  if (!existing) {
    await manager.streams.add(config);
    return;
  }
  const same =
    existing.subjects.join(' ') === spec.subjects.join(' ') &&
    existing.duplicate_window === config.duplicate_window &&
    existing.max_age === config.max_age &&
    existing.max_bytes === config.max_bytes &&
    (spec.replicas === undefined || existing.num_replicas === spec.replicas);
  // Storage cannot change on an existing stream; everything else here can (replicas too: JetStream moves the copies).
  if (!same) {
    await manager.streams.update(spec.name, {
      subjects: config.subjects,
      duplicate_window: config.duplicate_window,
      max_age: config.max_age,
      max_bytes: config.max_bytes,
      ...(spec.replicas !== undefined ? { num_replicas: spec.replicas } : {}),
    });
  }
}

/** True for the JetStream API error "stream not found". */
export function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}
