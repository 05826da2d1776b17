import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { createRegistryEventFollower, PRODUCTION_ALIAS, type RegistryClient } from '../../../shared/registry-client/index.js';
import type { BackoffOptions } from '../../../shared/rpc/backoff.js';
import { createServingModel, type RecommendEngine } from '../serving/index.js';
import type { RecommenderStore } from '../store/index.js';

/** The file in the data dir that keeps the recommender's identity (its durable registry consumer's name). */
const FOLLOWER_ID_FILE = 'registry-follower-id';

/** Deadline of one registry call of the follower, in ms. */
const REGISTRY_CALL_TIMEOUT_MS = 30_000;

/** Options of {@link followProduction}. */
export interface ProductionFollowerOptions {
  nc: NatsConnection;
  registry: RegistryClient;
  store: RecommenderStore;
  engine: RecommendEngine;
  /** Registry model name of the scorer. */
  modelName: string;
  /** Names the durable consumer (`recommender-<followerId>`): a recommender restarted with the same id catches up on what it missed. */
  followerId: string;
  logger: Logger;
  /** Pauses before retrying NATS or registry failures. Default: DEFAULT_BACKOFF. */
  backoff?: BackoffOptions;
}

/**
 * Follows the registry's `production` alias of the scorer model on a durable
 * consumer of the REGISTRY stream: when an operator moves it (a rollback, or a
 * promotion by hand) to a version this recommender trained, that version's
 * factors serve from then on, also when it moved while the recommender was
 * stopped; a version it has no factors for is logged and the current one kept.
 * Each event of the model re-reads its aliases from the registry (state, not
 * deltas), so a replay cannot roll it back; an event is acked once applied and
 * comes again when the registry could not be reached. `close()` stops it.
 */
export function followProduction(o: ProductionFollowerOptions): { close(): Promise<void> } {
  let warned: number | undefined;
  const apply = (version: number) => {
    if (version === 0 || o.engine.serving()?.stored.version === version) return;
    const stored = o.store.model(version);
    if (!stored) {
      if (warned !== version) o.logger.warn('production points at a version without factors here; keeping the current one', { version, serving: o.engine.serving()?.stored.version });
      warned = version;
      return;
    }
    const current = o.engine.serving()?.stored.version;
    if (current !== undefined) o.store.setPromoted(current, false);
    o.store.setPromoted(version, true);
    o.engine.setServing(createServingModel({ ...stored, promoted: true }));
    o.logger.info('serving the version production now points at', { version, previous: current });
  };
  const follower = createRegistryEventFollower({
    nc: o.nc,
    durableName: `recommender-${o.followerId}`,
    model: o.modelName,
    // A new identity replays the model's history: its first event brings production up to date.
    startAt: 'all',
    logger: o.logger,
    ...(o.backoff ? { backoff: o.backoff } : {}),
    handle: async ({ signal }) => {
      const info = await o.registry.getModel(o.modelName, { timeoutMs: REGISTRY_CALL_TIMEOUT_MS, signal }).catch((err: unknown) => {
        if (err instanceof InfermeshError && err.code === Code.NOT_FOUND) return undefined;
        throw err;
      });
      const production = info?.aliases.find((a) => a.name === PRODUCTION_ALIAS);
      if (production) apply(production.version);
    },
  });
  follower.start();
  return { close: () => follower.close() };
}

/**
 * The recommender's follower id: the one kept in `<dataDir>/registry-follower-id`, else a new
 * one (12 hex digits, saved there), so a recommender restarted on the same data dir resumes
 * its durable registry consumer.
 */
export async function resolveFollowerId(dataDir: string): Promise<string> {
  const file = join(dataDir, FOLLOWER_ID_FILE);
  const kept = await readFile(file, 'utf8').then(
    (s) => s.trim(),
    () => '',
  );
  if (/^[0-9a-f]{12}$/.test(kept)) return kept;
  const id = randomBytes(6).toString('hex');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, id + '\n');
  return id;
}
