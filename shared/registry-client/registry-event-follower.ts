import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type ConsumerConfig, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import type { Tracer } from '@opentelemetry/api';
import type { RegistryEvent__Output } from '../generated/infermesh/events/v1/RegistryEvent.js';
import type { Logger } from '../logging/index.js';
import { ensureStream } from '../nats/index.js';
import { Backoff, type BackoffOptions } from '../rpc/backoff.js';
import { withConsumeSpan } from '../telemetry/index.js';
import { REGISTRY_STREAM, REGISTRY_STREAM_SPEC, REGISTRY_SUBJECTS, decodeRegistryEvent, registryModelFilter } from './registry-events.js';
import { resolveOptions } from '../options/index.js';

/** Defaults of {@link RegistryEventFollowerOptions}. */
export const DEFAULT_REGISTRY_EVENT_FOLLOWER_OPTIONS: Readonly<Required<Pick<RegistryEventFollowerOptions, DefaultedOption>>> = {
  /**
   * JetStream ack wait of the durable consumer: an event delivered to a follower that died is
   * redelivered after it (a long handler keeps it alive with `working()`).
   */
  ackWaitMs: 10_000,
  /** A durable consumer unused this long is removed by the server (a follower that never came back). */
  durableInactiveMs: 7 * 24 * 3_600_000,
  /** Where a consumer created now starts; an existing one always resumes after its last ack. */
  startAt: 'all',
};

type DefaultedOption = 'ackWaitMs' | 'durableInactiveMs' | 'startAt';

/** Expiry of one pull request, in ms: a pull the server forgot (it restarted) is renewed within seconds. */
const PULL_EXPIRES_MS = 5000;

/** A JetStream consumer name: no dots, wildcards or whitespace, at most 64 characters here. */
const DURABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** One registry event as the follower hands it to its handler. */
export interface FollowedRegistryEvent {
  subject: string;
  /** The message's sequence in the REGISTRY stream (not the registry's `event.sequence`). */
  streamSequence: number;
  /** How often this message has been delivered (1 the first time). */
  deliveryCount: number;
  event: RegistryEvent__Output;
  /** Aborts when the follower closes: the handler should stop and reject, so its event is not acked and comes again. */
  signal: AbortSignal;
}

/** Options of {@link createRegistryEventFollower}. */
export interface RegistryEventFollowerOptions {
  nc: NatsConnection;
  /**
   * Names the durable consumer (one per follower identity, e.g. `inference-<nodeId>`), so a
   * follower that restarts under the same name resumes after the last event it acked.
   */
  durableName: string;
  /**
   * Applies one event. Resolving acks it (also while closing: resolve only once it was applied);
   * rejecting redelivers it after the next backoff pause (events come one at a time, in order,
   * so none overtakes it).
   */
  handle: (event: FollowedRegistryEvent) => Promise<void>;
  logger: Logger;
  /** Only this model's events. Default: every model. */
  model?: string;
  /** Where a consumer created by this follower starts: `all` (default) the stream's first event, `new` the next one, a Date the first at or after it. */
  startAt?: 'all' | 'new' | Date;
  /** Copies of the REGISTRY stream when this follower is the one to create it. Default: the server's. */
  streamReplicas?: number;
  /** Default {@link DEFAULT_REGISTRY_EVENT_FOLLOWER_OPTIONS}.ackWaitMs. */
  ackWaitMs?: number;
  /** Default {@link DEFAULT_REGISTRY_EVENT_FOLLOWER_OPTIONS}.durableInactiveMs. */
  durableInactiveMs?: number;
  /** Pauses before reopening the consumer after a failure, and before redelivering an event whose handler failed. Default: DEFAULT_BACKOFF. */
  backoff?: BackoffOptions;
  /** Traces each handler in a CONSUMER span, a child of the `traceparent` the event was published with. Default: none. */
  tracer?: Tracer;
  /** Closes the follower when it aborts. */
  signal?: AbortSignal;
}

/**
 * Follows the REGISTRY stream with a durable, explicitly acked JetStream consumer, one event at a
 * time and in order. An event is acked only after its handler resolved, so nothing is lost
 * across NATS restarts, handler failures or restarts of the follower itself: the durable
 * consumer resumes after the last acked event.
 */
export interface RegistryEventFollower {
  /** The durable consumer's name on the REGISTRY stream. */
  readonly durableName: string;
  /** Opens the consumer and follows it in the background, reopening with backoff after failures, until close(). */
  start(): void;
  /** Stops following: the pull ends, a handler running gets its signal aborted (its event is not acked when it rejects). Resolves once the handler returned. Idempotent. */
  close(): Promise<void>;
}

/** Creates a {@link RegistryEventFollower}; nothing happens before `start()`. */
export function createRegistryEventFollower(options: RegistryEventFollowerOptions): RegistryEventFollower {
  if (!DURABLE_NAME.test(options.durableName)) throw new RangeError(`durableName must be 1-64 characters of A-Z a-z 0-9 _ -, got '${options.durableName}'`);
  return new EventFollower(options);
}

class EventFollower implements RegistryEventFollower {
  readonly durableName: string;
  readonly #o: RegistryEventFollowerOptions & Required<Pick<RegistryEventFollowerOptions, DefaultedOption>>;
  /** Pauses between attempts to open the consumer. */
  readonly #reopen: Backoff;
  /** Pauses before a failed event comes again. */
  readonly #redeliver: Backoff;
  readonly #stop = new AbortController();
  readonly #onAbort = () => void this.close();
  #messages: ConsumerMessages | undefined;
  #running: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: RegistryEventFollowerOptions) {
    this.#o = resolveOptions(DEFAULT_REGISTRY_EVENT_FOLLOWER_OPTIONS, options);
    this.durableName = options.durableName;
    this.#reopen = new Backoff(options.backoff);
    this.#redeliver = new Backoff(options.backoff);
    if (options.signal?.aborted) this.#stop.abort();
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  start(): void {
    if (this.#running || this.#stop.signal.aborted) return;
    this.#running = this.#loop();
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#o.signal?.removeEventListener('abort', this.#onAbort);
      this.#stop.abort();
      await this.#messages?.close().catch(() => undefined);
      await this.#running;
    })();
    return this.#closed;
  }

  async #loop(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      try {
        this.#messages = await this.#open();
        if (stop.aborted) break;
        this.#reopen.reset();
        for await (const m of this.#messages) {
          await this.#deliver(m);
          if (stop.aborted) break;
        }
      } catch (err) {
        if (stop.aborted) break;
        if (this.#o.nc.isClosed()) {
          // Closed for good (drained or closed by its owner): nothing to reopen on.
          this.#o.logger.warn('registry event follower stops: its NATS connection is closed', { err, durable: this.durableName });
          break;
        }
        this.#o.logger.warn('registry event consumer failed; reopening', { err, durable: this.durableName });
      } finally {
        await this.#messages?.close().catch(() => undefined);
      }
      await this.#reopen.wait(stop);
    }
  }

  /** The durable consumer's messages; the consumer (and the stream) are created on first use. */
  async #open(): Promise<ConsumerMessages> {
    const { nc, streamReplicas } = this.#o;
    const jsm = await jetstreamManager(nc);
    await ensureStream(nc, streamReplicas === undefined ? REGISTRY_STREAM_SPEC : { ...REGISTRY_STREAM_SPEC, replicas: streamReplicas }, jsm);
    try {
      await jsm.consumers.info(REGISTRY_STREAM, this.durableName);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
      await jsm.consumers.add(REGISTRY_STREAM, this.#consumerConfig());
      this.#o.logger.info('created durable registry consumer', { durable: this.durableName });
    }
    const consumer = await jetstream(nc).consumers.get(REGISTRY_STREAM, this.durableName);
    // Short pulls of one message: a pull the server forgot is noticed and renewed within seconds
    // (closing the iterator on reconnect instead could hold a delivered message until its ack wait).
    return consumer.consume({ max_messages: 1, expires: PULL_EXPIRES_MS });
  }

  #consumerConfig(): Partial<ConsumerConfig> & { durable_name: string } {
    const startAt = this.#o.startAt;
    return {
      durable_name: this.durableName,
      ack_policy: AckPolicy.Explicit,
      ...(startAt instanceof Date
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: startAt.toISOString() }
        : { deliver_policy: startAt === 'new' ? DeliverPolicy.New : DeliverPolicy.All }),
      filter_subject: this.#o.model ? registryModelFilter(this.#o.model) : REGISTRY_SUBJECTS,
      // One event at a time, in order: a failed event is redelivered before any later one.
      max_ack_pending: 1,
      ack_wait: nanos(this.#o.ackWaitMs),
      inactive_threshold: nanos(this.#o.durableInactiveMs),
    };
  }

  /** Hands one message to the handler; acks it when the handler resolved, naks it with the next pause when it rejected. */
  async #deliver(m: JsMsg): Promise<void> {
    const stop = this.#stop.signal;
    let event: RegistryEvent__Output;
    try {
      event = decodeRegistryEvent(m.data);
    } catch (err) {
      this.#o.logger.error('undecodable registry event; dropping it', { err, subject: m.subject, streamSequence: m.seq });
      // No reason text: `+TERM <reason>` needs nats-server 2.10, and 2.9 ignores it (the message came again every ack wait).
      m.term();
      return;
    }
    const followed: FollowedRegistryEvent = { subject: m.subject, streamSequence: m.seq, deliveryCount: m.info.deliveryCount, event, signal: stop };
    // Keeps the ack deadline away while a handler takes its time (a long load, a registry outage).
    const keepAlive = setInterval(() => m.working(), Math.max(1000, this.#o.ackWaitMs / 3));
    keepAlive.unref();
    try {
      const tracer = this.#o.tracer;
      await (tracer ? withConsumeSpan(tracer, m.subject, m.headers, () => this.#o.handle(followed)) : this.#o.handle(followed));
      m.ack();
      this.#redeliver.reset();
    } catch (err) {
      if (stop.aborted) return;
      const retryInMs = this.#redeliver.next();
      this.#o.logger.warn('handling a registry event failed; it comes again', { err, subject: m.subject, streamSequence: m.seq, retryInMs });
      m.nak(retryInMs);
    } finally {
      clearInterval(keepAlive);
    }
  }
}
