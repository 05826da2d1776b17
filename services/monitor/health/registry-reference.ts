import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { NatsConnection } from '@nats-io/nats-core';
import { decodeRegistryEvent, referenceColumns, registryEventSubject, type ReferenceColumn, type RegistryClient } from '../../../shared/registry-client/index.js';

/** A version's reference as the registry holds it: its columns and the rows of the whole file. */
export interface FetchedReference {
  columns: ReferenceColumn[];
  totalRows: number;
}

/**
 * Asks for a version's reference: resolves with it, with undefined when the
 * registry answered that the version has none, and rejects when the registry
 * could not answer (down, deadline).
 */
export type ReferenceFetcher = (model: string, version: string, signal: AbortSignal) => Promise<FetchedReference | undefined>;

/** Defaults of {@link createRegistryReferenceFetcher} and {@link createReferenceLookups}. */
export const DEFAULT_REFERENCE_LOOKUP_OPTIONS = {
  /** Deadline of one GetReference call. */
  timeoutMs: 5_000,
  /** Wait before asking again after the registry could not answer. */
  retryMs: 15_000,
} as const;

/**
 * GetReference on the registry. A version that is not a registry version
 * number (the monitor keys versions by text) has no reference there.
 */
export function createRegistryReferenceFetcher(client: RegistryClient, timeoutMs: number = DEFAULT_REFERENCE_LOOKUP_OPTIONS.timeoutMs): ReferenceFetcher {
  return async (model, version, signal) => {
    const number = Number(version);
    if (!Number.isInteger(number) || number < 1 || number > 0xffffffff) return undefined;
    try {
      const res = await client.getReference(model, number, { timeoutMs, signal });
      return { columns: referenceColumns(res.reference!), totalRows: Number(res.reference!.totalRows) };
    } catch (err) {
      if (err instanceof InfermeshError && err.code === Code.NOT_FOUND) return undefined;
      throw err;
    }
  };
}

export interface ReferenceLookupsOptions {
  fetch: ReferenceFetcher;
  /** Stores a fetched reference (the engine's setReference); throws INVALID_ARGUMENT for one it cannot take. */
  apply: (model: string, version: string, reference: FetchedReference) => void;
  /** Whether the monitor already holds a reference for the version (from before a restart). */
  hasReference: (model: string, version: string) => boolean;
  retryMs?: number;
  now?: () => number;
  logger: Logger;
}

/**
 * The registry lookups of versions' references, one per version (cached):
 * started when a version is first seen, retried after `retryMs` while the
 * registry cannot answer. A version may take its reference from its first
 * records only once the registry answered that it has none.
 */
export interface ReferenceLookups {
  /** Starts the lookup of a version's reference unless one is done, under way, or waiting to retry. */
  request(model: string, version: string): void;
  /**
   * The registry announced a new reference for the version (ReferenceSet): a
   * version the monitor has seen is asked for again, and the answer replaces
   * its reference. A version not seen yet is asked when its first record arrives.
   */
  refresh(model: string, version: string): void;
  /** True once the registry answered "none" for the version (or it gave one the monitor could not take). */
  firstRecordsAllowed(model: string, version: string): boolean;
  /** Lookups under way (for tests and close). */
  readonly pending: number;
  /** Cancels lookups under way; their answers are dropped. Idempotent. */
  close(): Promise<void>;
}

type LookupState = { state: 'pending' | 'none' | 'stored' } | { state: 'failed'; retryAtMs: number };

export function createReferenceLookups(options: ReferenceLookupsOptions): ReferenceLookups {
  const retryMs = options.retryMs ?? DEFAULT_REFERENCE_LOOKUP_OPTIONS.retryMs;
  const now = options.now ?? Date.now;
  const { logger } = options;
  const states = new Map<string, LookupState>();
  const inFlight = new Set<Promise<void>>();
  const stop = new AbortController();

  const request = (model: string, version: string): void => {
    if (stop.signal.aborted) return;
    const key = `${model}\u0000${version}`;
    const current = states.get(key);
    if (current && (current.state !== 'failed' || now() < current.retryAtMs)) return;
    if (!current && options.hasReference(model, version)) {
      states.set(key, { state: 'stored' });
      return;
    }
    lookUp(key, model, version);
  };

  const lookUp = (key: string, model: string, version: string): void => {
    states.set(key, { state: 'pending' });
    const lookup = options.fetch(model, version, stop.signal).then(
      (reference) => {
        if (stop.signal.aborted) return;
        if (!reference) {
          logger.info('the registry holds no reference for the version; its first records make one', { model, version });
          states.set(key, { state: 'none' });
          return;
        }
        try {
          options.apply(model, version, reference);
          states.set(key, { state: 'stored' });
          logger.info("reference taken from the registry", { model, version, features: reference.columns.length, rows: reference.totalRows });
        } catch (err) {
          logger.warn("the registry's reference cannot be used; the version's first records make one", { model, version, err });
          states.set(key, { state: 'none' });
        }
      },
      (err: unknown) => {
        if (stop.signal.aborted) return;
        logger.warn('the registry did not answer for a reference; asking again later', { model, version, retryInMs: retryMs, err });
        states.set(key, { state: 'failed', retryAtMs: now() + retryMs });
      },
    );
    inFlight.add(lookup);
    void lookup.finally(() => inFlight.delete(lookup));
  };

  return {
    request,
    refresh(model, version) {
      const key = `${model}\u0000${version}`;
      const current = states.get(key);
      if (stop.signal.aborted || !current || current.state === 'pending') return;
      lookUp(key, model, version);
    },
    firstRecordsAllowed: (model, version) => states.get(`${model}\u0000${version}`)?.state === 'none',
    get pending() {
      return inFlight.size;
    },
    async close() {
      stop.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}

/**
 * Follows the registry's ReferenceSet events live (a plain subscription to
 * `infermesh.registry.reference.set.*`; the REGISTRY stream's messages reach
 * it as they are published) and refreshes the versions they name. Returns
 * the unsubscribe.
 */
export function followReferenceEvents(nc: NatsConnection, lookups: ReferenceLookups, logger: Logger): () => void {
  const subscription = nc.subscribe(registryEventSubject('referenceSet', '*'), {
    callback: (err, m) => {
      if (err) return logger.warn('registry reference events stopped', { err });
      try {
        const set = decodeRegistryEvent(m.data).referenceSet;
        if (set) lookups.refresh(set.model, String(set.version));
      } catch (decodeErr) {
        logger.warn('skipping an undecodable registry event', { subject: m.subject, err: decodeErr });
      }
    },
  });
  return () => subscription.unsubscribe();
}
