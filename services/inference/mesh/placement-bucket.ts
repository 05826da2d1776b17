import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/nats-core';
import { isStreamNotFound, PLACEMENT_BUCKET } from '../../../shared/nats/index.js';

/** One key's latest value and its revision (the stream sequence compare-and-set works on). */
export interface BucketEntry {
  key: string;
  value: Uint8Array;
  revision: number;
}

/**
 * A JetStream key-value bucket, kept by the same conventions as nats.js's kv
 * module (stream `KV_<bucket>`, subjects `$KV.<bucket>.<key>`, one message per
 * key, rollups and direct gets on, `KV-Operation: DEL` tombstones) so that
 * `nats kv get infermesh-placement KEY` reads it; only the operations
 * placement needs. Writes are compare-and-set on the key's revision
 * (`Nats-Expected-Last-Subject-Sequence`): revision 0 means "no value yet".
 */
export class PlacementBucket {
  readonly #nc: NatsConnection;
  readonly #stream: string;
  readonly #prefix: string;
  readonly #replicas: number | undefined;
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;

  constructor(nc: NatsConnection, options: { bucket?: string; replicas?: number } = {}) {
    this.#nc = nc;
    const bucket = options.bucket ?? PLACEMENT_BUCKET;
    this.#stream = `KV_${bucket}`;
    this.#prefix = `$KV.${bucket}.`;
    this.#replicas = options.replicas;
  }

  /** Creates the bucket's stream when it is missing (replicas as given). */
  async open(): Promise<void> {
    this.#jsm ??= await jetstreamManager(this.#nc);
    this.#js ??= jetstream(this.#nc);
    try {
      await this.#jsm.streams.info(this.#stream);
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
      await this.#jsm.streams.add({
        name: this.#stream,
        subjects: [`${this.#prefix}>`],
        max_msgs_per_subject: 1,
        allow_rollup_hdrs: true,
        deny_delete: true,
        allow_direct: true,
        ...(this.#replicas !== undefined ? { num_replicas: this.#replicas } : {}),
      });
    }
  }

  /** The key's value, or undefined when it has none (never set, or deleted). */
  async get(key: string): Promise<BucketEntry | undefined> {
    const jsm = this.#manager();
    let m;
    try {
      m = await jsm.streams.getMessage(this.#stream, { last_by_subj: this.#prefix + key });
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === 10037) return undefined; // no message found
      throw err;
    }
    if (!m) return undefined;
    const op = m.header?.get('KV-Operation');
    if (op === 'DEL' || op === 'PURGE') return { key, value: new Uint8Array(), revision: -m.seq };
    return { key, value: m.data, revision: m.seq };
  }

  /**
   * Writes `value` if the key is still at `revision` (0: has no value; a
   * negative revision is a tombstone's, as get() returns it). Resolves with the
   * new revision, or undefined when another writer got there first.
   */
  async put(key: string, value: Uint8Array, revision: number): Promise<number | undefined> {
    const h = headers();
    h.set('Nats-Expected-Last-Subject-Sequence', String(Math.abs(revision)));
    try {
      return (await this.#client().publish(this.#prefix + key, value, { headers: h })).seq;
    } catch (err) {
      if (isWrongSequence(err)) return undefined;
      throw err;
    }
  }

  /** Deletes the key if it is still at `revision`; true when it did. */
  async delete(key: string, revision: number): Promise<boolean> {
    const h = headers();
    h.set('KV-Operation', 'DEL');
    h.set('Nats-Expected-Last-Subject-Sequence', String(revision));
    try {
      await this.#client().publish(this.#prefix + key, new Uint8Array(), { headers: h });
      return true;
    } catch (err) {
      if (isWrongSequence(err)) return false;
      throw err;
    }
  }

  /** Keys with a value (tombstones left out) whose name starts with `prefix`. */
  async entries(prefix = ''): Promise<BucketEntry[]> {
    const info = await this.#manager().streams.info(this.#stream, { subjects_filter: `${this.#prefix}>` });
    const keys = Object.keys(info.state.subjects ?? {}).map((s) => s.slice(this.#prefix.length)).filter((k) => k.startsWith(prefix)).sort();
    const out: BucketEntry[] = [];
    for (const key of keys) {
      const e = await this.get(key);
      if (e && e.revision > 0) out.push(e);
    }
    return out;
  }

  #manager(): JetStreamManager {
    if (!this.#jsm) throw new Error('placement bucket: open() first');
    return this.#jsm;
  }

  #client(): JetStreamClient {
    if (!this.#js) throw new Error('placement bucket: open() first');
    return this.#js;
  }
}

/** JetStream's answer to a compare-and-set that lost (error 10071, "wrong last sequence"). */
function isWrongSequence(err: unknown): boolean {
  return (err instanceof JetStreamApiError && err.code === 10071) || /wrong last sequence/i.test(String((err as Error)?.message));
}
