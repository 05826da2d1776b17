import { Code, InfermeshError, notFound } from '../../../shared/errors/index.js';
import type { RegistryCallOptions, RegistryClient } from '../../../shared/registry-client/index.js';
import type { ModelManager } from '../models/index.js';
import type { VersionLoader } from './version-loader.js';

/** What an on-demand load needs of the follower. */
export interface OnDemandContext {
  registry: Pick<RegistryClient, 'getVersion'>;
  manager: Pick<ModelManager, 'list' | 'routing'>;
  loader: Pick<VersionLoader, 'load' | 'isReady'>;
  /** Re-reads the model from the registry and reconciles it (under the model's lock, which the caller holds). */
  reconcile: (model: string) => Promise<void>;
  /** Whether the model is placed on other nodes only. */
  placedElsewhere: (model: string) => boolean;
  callOptions: () => RegistryCallOptions;
}

/**
 * Makes `model` (`version`, or what its aliases route to when undefined) READY on this node for a
 * request that asked for it: a named version is fetched from the registry and loaded on demand
 * (evictable); an unnamed one is what the aliases route to after a reconcile, else the latest.
 */
export async function loadOnDemand(ctx: OnDemandContext, model: string, version: string | undefined): Promise<void> {
  if (version !== undefined) {
    if (ctx.loader.isReady(model, version)) return;
    if (ctx.placedElsewhere(model)) throw unavailableElsewhere(model);
    const mv = await ctx.registry.getVersion(model, { version: Number(version) }, ctx.callOptions()).catch((err: unknown) => {
      throw notFoundIn(err, `model '${model}' has no version ${version} on this node or in the registry`);
    });
    await ctx.loader.load(mv, true);
    return;
  }
  await ctx.reconcile(model);
  if (servesDefault(ctx, model)) return;
  if (ctx.placedElsewhere(model)) throw unavailableElsewhere(model);
  // A model no alias routes: its latest version.
  const latest = await ctx.registry.getVersion(model, {}, ctx.callOptions()).catch((err: unknown) => {
    throw notFoundIn(err, `model '${model}' is not served by this node and not in the registry`);
  });
  await ctx.loader.load(latest, true);
}

/** Whether an unversioned request for `model` would find a READY version. */
function servesDefault(ctx: OnDemandContext, model: string): boolean {
  const routed = ctx.manager.routing(model).default;
  if (routed !== undefined) return ctx.loader.isReady(model, routed);
  return ctx.manager.list().some((s) => s.model === model && s.state === 'READY');
}

/** UNAVAILABLE for a placed model whose replicas are all on other nodes, none of them reachable from here. */
function unavailableElsewhere(model: string): InfermeshError {
  return new InfermeshError(Code.UNAVAILABLE, `model '${model}': every replica is gone (it is placed on other nodes and none of them answers); retry when a node has claimed it`);
}

/** A registry NOT_FOUND rephrased for the caller; other errors unchanged. */
function notFoundIn(err: unknown, message: string): InfermeshError {
  const e = InfermeshError.from(err);
  return e.code === Code.NOT_FOUND ? notFound(message, e) : e;
}
