import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../../../shared/logging/index.js';
import { createEventCodec, type EventCodec } from '../../../shared/nats/index.js';
import type { PlacementClaim, PlacementClaim__Output } from '../../../shared/generated/infermesh/events/v1/PlacementClaim.js';
import { PlacementBucket } from './placement-bucket.js';
import type { Peer, PeerTable } from './peer-table.js';
import { resolveOptions } from '../../../shared/options/index.js';

/** Defaults of {@link PlacementOptions}. */
export const DEFAULT_PLACEMENT_OPTIONS = {
  /** How often claims are checked (and free slots taken): the heartbeat period. */
  intervalMs: 1000,
  /** A claim whose node missed this many beats is free to take (the peer table's expiry). */
  missedBeats: 3,
} as const;

/** What placement needs to know about this node now, to rank it against its peers. */
export interface PlacementSelf {
  /** Bytes of the memory budget still free; Infinity without a budget. */
  freeBytes: number;
  /** Requests waiting in this node's batching queues. */
  queueDepth: number;
}

/** Options of {@link createPlacement}. */
export interface PlacementOptions {
  nc: NatsConnection;
  nodeId: string;
  peers: PeerTable;
  logger: Logger;
  self: () => PlacementSelf;
  /** Called when this node won or lost a replica of `model` outside a decide() call (a peer left, a partition healed). */
  onChange: (model: string) => void;
  /** Copies of the bucket's stream in a JetStream cluster (`--nats-replicas`). Default: the server's. */
  replicas?: number;
  intervalMs?: number;
  missedBeats?: number;
  now?: () => number;
}

/** One replica slot of a model and who holds it. */
export interface PlacementRow {
  model: string;
  slot: number;
  nodeId: string;
  grpcAddress: string;
  claimedAtMs: number;
}

/**
 * Where models with `replicas: N` in their serving config live (KServe
 * ModelMesh's idea, on NATS's own machinery): N slot keys `<model>.<i>` in
 * the JetStream key-value bucket `infermesh-placement`, each claimed by one
 * node with compare-and-set. A claim is a lease that lasts while its node
 * heartbeats: once the peer table has expired the node, the slot is free
 * again and the best-ranked node without a replica takes it (most free
 * memory budget, then shortest queues, then node id); the next ones in rank
 * wait a beat per place before they try, so a slot is taken within a few
 * heartbeats even when the best node is gone too.
 */
export interface Placement {
  /** Opens (creates) the bucket and starts checking claims every interval. */
  start(grpcAddress: string): Promise<void>;
  /**
   * Records the model's desired replica count (undefined: every node, no
   * placement) and says whether this node should hold the model, claiming a
   * free slot when it may.
   */
  decide(model: string, replicas: number | undefined): Promise<boolean>;
  /** The desired replicas of a placed model, or undefined (every node serves it). */
  replicasOf(model: string): number | undefined;
  /** The claims in the bucket, of one model or of all. */
  rows(model?: string): Promise<PlacementRow[]>;
  /** Stops checking and gives up this node's claims (so others take them at once). Idempotent. */
  close(): Promise<void>;
}

let claimCodec: EventCodec<PlacementClaim, PlacementClaim__Output> | undefined;
/** The protobuf codec of `infermesh.events.v1.PlacementClaim`. */
export function placementClaimCodec(): EventCodec<PlacementClaim, PlacementClaim__Output> {
  claimCodec ??= createEventCodec<PlacementClaim, PlacementClaim__Output>('infermesh/events/v1/placement.proto', 'infermesh.events.v1.PlacementClaim');
  return claimCodec;
}

/** The claims of every model in the bucket (for `infermesh models placement`), without a node of one's own. */
export async function readPlacement(nc: NatsConnection, model?: string): Promise<PlacementRow[]> {
  const bucket = new PlacementBucket(nc);
  await bucket.open();
  return decodeRows(await bucket.entries(model ? `${model}.` : ''));
}

function decodeRows(entries: Array<{ key: string; value: Uint8Array }>): PlacementRow[] {
  const codec = placementClaimCodec();
  return entries.flatMap(({ key, value }) => {
    const dot = key.lastIndexOf('.');
    const slot = Number(key.slice(dot + 1));
    if (dot < 1 || !Number.isInteger(slot)) return [];
    const c = codec.decode(value);
    return [{ model: key.slice(0, dot), slot, nodeId: c.nodeId, grpcAddress: c.grpcAddress, claimedAtMs: Number(c.claimedAtUnixMs) }];
  });
}

/** Creates a {@link Placement}. */
export function createPlacement(options: PlacementOptions): Placement {
  return new NatsPlacement(options);
}

interface Slot {
  key: string;
  revision: number;
  claim?: PlacementClaim__Output;
}

class NatsPlacement implements Placement {
  readonly #o: PlacementOptions & { intervalMs: number; missedBeats: number; now: () => number };
  readonly #bucket: PlacementBucket;
  readonly #codec = placementClaimCodec();
  readonly #desired = new Map<string, number>();
  readonly #held = new Map<string, boolean>();
  /** Slot key -> when this node first saw it free (for the wait of lower-ranked nodes). */
  readonly #freeSince = new Map<string, number>();
  #grpcAddress = '';
  #startedAtMs = 0;
  #opened: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #closed: Promise<void> | undefined;

  constructor(options: PlacementOptions) {
    this.#o = resolveOptions({ ...DEFAULT_PLACEMENT_OPTIONS, now: Date.now }, options);
    this.#bucket = new PlacementBucket(options.nc, options.replicas !== undefined ? { replicas: options.replicas } : {});
  }

  async start(grpcAddress: string): Promise<void> {
    if (this.#timer || this.#closed) return;
    this.#grpcAddress = grpcAddress;
    this.#startedAtMs = this.#o.now();
    this.#timer = setInterval(() => void this.#tick(), this.#o.intervalMs);
    this.#timer.unref();
    await this.#open();
  }

  /** Opens the bucket once; a failed open (NATS away) is tried again by the next caller. */
  #open(): Promise<void> {
    this.#opened ??= this.#bucket.open().catch((err: unknown) => {
      this.#opened = undefined;
      throw err;
    });
    return this.#opened;
  }

  replicasOf(model: string): number | undefined {
    return this.#desired.get(model);
  }

  async rows(model?: string): Promise<PlacementRow[]> {
    await this.#open();
    return decodeRows(await this.#bucket.entries(model ? `${model}.` : ''));
  }

  async decide(model: string, replicas: number | undefined): Promise<boolean> {
    if (replicas === undefined) {
      if (this.#desired.delete(model)) await this.#release(model);
      this.#held.delete(model);
      return true;
    }
    this.#desired.set(model, replicas);
    const held = await this.#claimIfDue(model, replicas);
    this.#held.set(model, held);
    return held;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#timer);
      for (const model of this.#desired.keys()) await this.#release(model).catch((err: unknown) => this.#o.logger.warn('could not give up a placement claim', { model, err }));
    })();
    return this.#closed;
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed || !this.#grpcAddress) return;
    this.#ticking = true;
    try {
      for (const [model, replicas] of [...this.#desired]) {
        const before = this.#held.get(model);
        const held = await this.#claimIfDue(model, replicas);
        this.#held.set(model, held);
        if (held !== before) this.#o.onChange(model);
      }
    } catch (err) {
      this.#o.logger.warn('placement check failed; retrying next beat', { err });
    } finally {
      this.#ticking = false;
    }
  }

  async #slots(model: string, replicas: number): Promise<Slot[]> {
    return Promise.all(
      Array.from({ length: replicas }, async (_, i) => {
        const key = `${model}.${i}`;
        const e = await this.#bucket.get(key);
        if (!e || e.revision <= 0) return { key, revision: e ? -e.revision : 0 };
        return { key, revision: e.revision, claim: this.#codec.decode(e.value) };
      }),
    );
  }

  /** True when this node holds a slot of `model` after this call. */
  async #claimIfDue(model: string, replicas: number): Promise<boolean> {
    if (!this.#grpcAddress) return false;
    await this.#open();
    const slots = await this.#slots(model, replicas);
    const now = this.#o.now();
    if (slots.some((s) => s.claim?.nodeId === this.#o.nodeId)) return true;
    const live = new Map(this.#o.peers.peers().map((p) => [p.nodeId, p]));
    // Until the peer table has heard every live peer once, an unknown holder is not yet a dead one.
    const warm = now - this.#startedAtMs > this.#o.missedBeats * this.#o.intervalMs + 250;
    const free = slots.filter((s) => !s.claim || (warm && !live.has(s.claim.nodeId)));
    for (const s of slots) if (!free.includes(s)) this.#freeSince.delete(s.key);
    if (free.length === 0) return false;
    for (const s of free) if (!this.#freeSince.has(s.key)) this.#freeSince.set(s.key, now);

    const holders = new Set(slots.flatMap((s) => (s.claim && !free.includes(s) ? [s.claim.nodeId] : [])));
    const me = this.#o.self();
    const candidates = [
      { nodeId: this.#o.nodeId, freeBytes: me.freeBytes, queueDepth: me.queueDepth },
      ...[...live.values()].filter((p) => !holders.has(p.nodeId) && p.heartbeat.grpcAddress).map(rankOf),
    ].sort((a, b) => b.freeBytes - a.freeBytes || a.queueDepth - b.queueDepth || a.nodeId.localeCompare(b.nodeId));
    const rank = candidates.findIndex((c) => c.nodeId === this.#o.nodeId);
    // The best `free.length` candidates take a slot each at once; the rest wait a beat per place behind them.
    const slot = rank < free.length ? free[rank]! : free.find((s) => now - this.#freeSince.get(s.key)! >= (rank - free.length + 1) * this.#o.intervalMs);
    if (!slot) return false;
    const value = this.#codec.encode({ nodeId: this.#o.nodeId, grpcAddress: this.#grpcAddress, claimedAtUnixMs: now });
    const revision = await this.#bucket.put(slot.key, value, slot.revision);
    if (revision === undefined) return false; // another node claimed it first
    this.#freeSince.delete(slot.key);
    this.#o.logger.info('claimed a replica', { model, slot: slot.key, replicas, from: slot.claim?.nodeId ?? null, rank });
    return true;
  }

  async #release(model: string): Promise<void> {
    await this.#open();
    const replicas = this.#desired.get(model) ?? 0;
    const entries = await this.#bucket.entries(`${model}.`);
    for (const e of entries) {
      const claim = this.#codec.decode(e.value);
      if (claim.nodeId !== this.#o.nodeId) continue;
      if (await this.#bucket.delete(e.key, e.revision)) this.#o.logger.info('gave up a replica', { model, slot: e.key, replicas });
    }
  }
}

function rankOf(p: Peer): { nodeId: string; freeBytes: number; queueDepth: number } {
  const m = p.heartbeat.memory;
  const budget = Number(m?.budgetBytes ?? 0);
  return {
    nodeId: p.nodeId,
    freeBytes: budget > 0 ? budget - Number(m?.modelBytes ?? 0) : Number.POSITIVE_INFINITY,
    queueDepth: p.heartbeat.models.reduce((n, v) => n + v.queueDepth, 0),
  };
}
