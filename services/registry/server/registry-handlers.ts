import { once } from 'node:events';
import type { Metadata, ServerUnaryCall, ServerWritableStream, ServiceError, sendUnaryData } from '@grpc/grpc-js';
import { Code, InfermeshError, invalidArgument, notFound } from '../../../shared/errors/index.js';
import { endRpcSpan, startServerSpan, TRACEPARENT_HEADER, withServerSpan } from '../../../shared/telemetry/index.js';
import { toGrpcStatus } from '../../../shared/rpc/index.js';
import type { ModelRegistryHandlers } from '../../../shared/generated/infermesh/registry/v1/ModelRegistry.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { RegistryEvent, RegistryEvent__Output } from '../../../shared/generated/infermesh/events/v1/RegistryEvent.js';
import { decodeRegistryEvent, encodeRegistryEvent } from '../../../shared/registry-client/index.js';
import type { ArtifactStore, InspectOnnxFileOptions } from '../artifacts/index.js';
import type { CommitSignal } from '../events/commit-signal.js';
import { ANONYMOUS, type Actor } from '../audit/index.js';
import type { RegistrySnapshot, RegistryStore, VersionRecord, WriteContext } from '../store/index.js';
import { activeTraceparent, REGISTRY_SPAN_NAMES, withSpan, type RegistryTelemetry } from '../telemetry/index.js';
import { decodeReferenceProfile } from '../../../shared/registry-client/reference-profile.js';
import { aliasToProto, checkReference, modelToProto, referenceInfoToProto, versionToProto } from './to-proto.js';
import type { WithoutGovernance } from './admin-unary.js';
import { uploadVersion } from './upload-version.js';
import type { Commit } from './commit.js';
import { checkAliasName, checkAliasWeight, checkByteCount, checkLabels, checkModelName, checkTags, checkVersionNumber } from './validate.js';

/** What the handlers work with. */
export interface RegistryHandlerDeps {
  store: RegistryStore;
  artifacts: ArtifactStore;
  commits: CommitSignal;
  logger: Logger;
  maxArtifactBytes: number;
  /** How uploads are checked (see inspectOnnxFile). */
  inspect?: InspectOnnxFileOptions;
  /** Download chunk size. */
  chunkBytes: number;
  /** Aborted when the service closes: open Watch streams end (downloads and uploads in flight finish). */
  closing: AbortSignal;
  /** SERVER spans per call, `upload` and `commit` spans, upload and version metrics. Default: none. */
  telemetry?: RegistryTelemetry;
  /** Who a call is, recorded in the audit entry of each change it makes. Default: anonymous, with the peer address. */
  actorOf?: (metadata: Metadata, peer: string) => Promise<Actor>;
}


const SERVICE = 'infermesh.registry.v1.ModelRegistry';

/** Default and largest ListModels page. */
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;
/** Events read per Watch round. */
const WATCH_BATCH = 100;

/** The ModelRegistry service implementation over a store and an artifact store (the token and audit RPCs are in token-handlers.ts and audit-handlers.ts). */
export function createRegistryHandlers(deps: RegistryHandlerDeps): WithoutGovernance<ModelRegistryHandlers> {
  const { store, artifacts, logger } = deps;
  const tracer = deps.telemetry?.tracer;
  const metrics = deps.telemetry?.metrics;

  const actorOf = deps.actorOf ?? (async (_metadata: Metadata, peer: string): Promise<Actor> => ({ subject: ANONYMOUS, address: peer }));
  const commitFor =
    (metadata: Metadata, peer: string): Commit =>
    async (write) => {
      const actor = await actorOf(metadata, peer);
      if (!tracer) return write({ ...writeContext(metadata), actor });
      return withSpan(tracer, REGISTRY_SPAN_NAMES.commit, () => {
        const traceparent = activeTraceparent();
        return write(traceparent ? { traceparent, actor } : { actor });
      });
    };
  /** Runs a call's work in its SERVER span, when tracing. */
  const served = <T>(method: string, metadata: Metadata, work: () => Promise<T>): Promise<T> =>
    tracer ? withServerSpan(tracer, `${SERVICE}/${method}`, metadata, work) : work();
  const countVersions = () => {
    if (!metrics) return;
    store.countVersions().then(
      (n) => metrics.versions.set(n),
      (err: unknown) => logger.debug('could not count versions', { err }),
    );
  };
  countVersions();

  const toServiceError = (err: unknown, method: string): Partial<ServiceError> => toGrpcStatus(err, method, logger);

  const unary =
    <Req, Res>(method: string, fn: (req: Req, commit: Commit) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      served(method, call.metadata, () => fn(call.request, commitFor(call.metadata, call.getPeer()))).then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err, method)),
      );
    };

  const streaming =
    <Req, Res>(method: string, fn: (call: ServerWritableStream<Req, Res>, signal: AbortSignal) => Promise<void>) =>
    (call: ServerWritableStream<Req, Res>) => {
      const cancelled = new AbortController();
      call.once('cancelled', () => cancelled.abort());
      const traced = tracer ? startServerSpan(tracer, `${SERVICE}/${method}`, call.metadata) : undefined;
      fn(call, cancelled.signal).then(
        () => {
          if (traced) endRpcSpan(traced.span);
          call.end();
        },
        (err: unknown) => {
          if (traced) endRpcSpan(traced.span, cancelled.signal.aborted ? new InfermeshError(Code.CANCELLED, 'the client cancelled the call') : err);
          if (!cancelled.signal.aborted) call.emit('error', toServiceError(err, method));
        },
      );
    };

  const requireModel = async (name: string) => {
    const model = await store.getModel(checkModelName(name));
    if (!model) throw notFound(`model '${name}' does not exist`);
    return model;
  };

  /** `version` when > 0; else the alias's version when an alias is named; else the latest version. */
  const resolveVersion = async (model: string, version: number, alias: string): Promise<VersionRecord> => {
    await requireModel(model);
    if (version > 0) {
      const v = await store.getVersion(model, version);
      if (!v) throw notFound(`model '${model}' has no version ${version}`);
      return v;
    }
    if (alias) {
      const a = await store.getAlias(model, checkAliasName(alias));
      if (!a) throw notFound(`model '${model}' has no alias '${alias}'`);
      return (await store.getVersion(model, a.version))!;
    }
    const versions = await store.listVersions(model);
    if (versions.length === 0) throw notFound(`model '${model}' has no versions`);
    return versions[versions.length - 1]!;
  };

  return {
    CreateModel: unary('CreateModel', async (req, commit) => {
      const input = { name: checkModelName(req.name, 'name'), description: req.description, tags: checkTags(req.tags), labels: checkLabels(req.labels) };
      const model = await commit((ctx) => store.createModel(input, ctx));
      return modelToProto(model, []);
    }),

    UpdateModel: unary('UpdateModel', async (req, commit) => {
      const input = { name: checkModelName(req.name, 'name'), description: req.description, tags: checkTags(req.tags), labels: checkLabels(req.labels) };
      const model = await commit((ctx) => store.updateModel(input, ctx));
      return modelToProto(model, await store.listAliases(model.name));
    }),

    GetModel: unary('GetModel', async (req) => {
      const model = await requireModel(req.name);
      return modelToProto(model, await store.listAliases(model.name), await store.listVersions(model.name));
    }),

    ListModels: unary('ListModels', async (req) => {
      const pageSize = req.pageSize === 0 ? DEFAULT_PAGE_SIZE : req.pageSize;
      if (pageSize > MAX_PAGE_SIZE) throw invalidArgument(`page_size must be at most ${MAX_PAGE_SIZE}, got ${pageSize}`);
      const page = await store.listModels({ pageSize, pageToken: req.pageToken, namePrefix: req.namePrefix, tag: req.tag, labels: req.labels });
      const models = await Promise.all(page.models.map(async (m) => modelToProto(m, await store.listAliases(m.name))));
      return { models, nextPageToken: page.nextPageToken };
    }),

    UploadVersion: (call, callback) => {
      // A client that goes away mid-upload ends the stream with an error, so the pipeline cleans up.
      call.once('cancelled', () => call.destroy(new InfermeshError(Code.CANCELLED, 'the client cancelled the upload')));
      served('UploadVersion', call.metadata, () => uploadVersion(call, { ...deps, tracer }, commitFor(call.metadata, call.getPeer()))).then(
        ({ version }) => {
          metrics?.uploadsTotal.inc({ status: Code[Code.OK] });
          countVersions();
          callback(null, versionToProto(version));
        },
        (err: unknown) => {
          metrics?.uploadsTotal.inc({ status: Code[InfermeshError.from(err).code] });
          callback(toServiceError(err, 'UploadVersion'));
        },
      );
    },

    GetVersion: unary('GetVersion', async (req) => versionToProto(await resolveVersion(req.model, req.version, req.alias))),

    DeleteVersion: unary('DeleteVersion', async (req, commit) => {
      const model = checkModelName(req.model);
      const version = checkVersionNumber(req.version);
      const deleted = await commit((ctx) => store.deleteVersion(model, version, ctx));
      countVersions();
      // The artifact goes when no version uses it any more (under its lock, so a concurrent upload of the same bytes is safe).
      await artifacts.withLock(deleted.sha256, async () => {
        if ((await store.countArtifactUses(deleted.sha256)) === 0) await artifacts.remove(deleted.sha256);
      });
      return {};
    }),

    DownloadVersion: streaming('DownloadVersion', async (call, signal) => {
      const req = call.request;
      const v = await resolveVersion(req.model, req.version, req.alias);
      const offset = checkByteCount(req.offset, 'offset');
      if (offset > v.sizeBytes) throw new InfermeshError(Code.OUT_OF_RANGE, `offset ${offset} is past the end of the ${v.sizeBytes}-byte artifact`);
      await artifacts.verify(v.sha256, v.sizeBytes);
      call.write({ info: { model: v.model, version: v.version, sha256: v.sha256, sizeBytes: v.sizeBytes, offset } });
      if (offset === v.sizeBytes) return;
      const file = artifacts.openRead(v.sha256, offset, deps.chunkBytes);
      try {
        for await (const chunk of file) {
          if (signal.aborted) return;
          if (!call.write({ chunk: chunk as Buffer })) await once(call, 'drain', { signal });
        }
      } finally {
        file.destroy();
      }
    }),

    SetAlias: unary('SetAlias', async (req, commit) => {
      const name = checkAliasName(req.alias);
      const input = { model: checkModelName(req.model), name, version: checkVersionNumber(req.version), weight: checkAliasWeight(name, req.weight) };
      const alias = await commit((ctx) => store.setAlias(input, ctx));
      return aliasToProto(alias);
    }),

    DeleteAlias: unary('DeleteAlias', async (req, commit) => {
      const model = checkModelName(req.model);
      const alias = checkAliasName(req.alias);
      await commit((ctx) => store.deleteAlias(model, alias, ctx));
      return {};
    }),

    SetReference: unary('SetReference', async (req, commit) => {
      const model = checkModelName(req.model);
      const version = checkVersionNumber(req.version);
      const reference = checkReference(req.reference, 'reference');
      return referenceInfoToProto(await commit((ctx) => store.setReference(model, version, reference, ctx)));
    }),

    GetReference: unary('GetReference', async (req) => {
      const model = checkModelName(req.model);
      const version = checkVersionNumber(req.version);
      const stored = await store.getReference(model, version);
      if (!stored) {
        await resolveVersion(model, version, '');
        throw notFound(`version ${version} of model '${model}' has no reference profile`);
      }
      return { info: referenceInfoToProto(stored), reference: decodeReferenceProfile(stored.payload) };
    }),

    Watch: streaming('Watch', async (call, cancelled) => {
      // A watch never ends by itself: it also ends (cleanly) when the registry closes.
      const signal = AbortSignal.any([cancelled, deps.closing]);
      const filter = call.request.model ? checkModelName(call.request.model) : '';
      const from = checkByteCount(call.request.fromSequence, 'from_sequence');
      let next = from > 0 ? from : (await store.lastSequence()) + 1;
      const first = from > 0 ? await store.firstSequence() : 0;
      if (from > 0 && first > from) {
        // The events asked for were pruned: send the current state instead (as of a sequence S), then the events after S.
        const snapshot = await store.snapshot(filter || undefined);
        for (const event of snapshotEvents(snapshot, store.registryId)) {
          if (signal.aborted) return;
          if (!call.write(event)) await once(call, 'drain', { signal }).catch(() => undefined);
        }
        next = snapshot.lastSequence + 1;
      }
      while (!signal.aborted) {
        const seen = deps.commits.generation;
        const events = await store.eventsFrom(next, WATCH_BATCH);
        for (const e of events) {
          next = e.sequence + 1;
          if (filter && e.subject.slice(e.subject.lastIndexOf('.') + 1) !== filter) continue;
          if (!call.write(decodeRegistryEvent(e.payload))) await once(call, 'drain', { signal }).catch(() => undefined);
        }
        if (events.length < WATCH_BATCH) await deps.commits.wait(seen, signal);
      }
    }),
  };
}

/**
 * The registry's state as events, for a Watch that resumes from before the
 * oldest event the outbox still holds: per model a ModelCreated (its current
 * description, tags, labels), a VersionCreated per version and an
 * ReferenceSet per stored reference profile, an AliasChanged per alias
 * (previous_version 0), every one carrying the
 * snapshot's sequence S. A consumer that applies state (as the nodes do)
 * is then exactly where it would be after the events up to S.
 */
function snapshotEvents(snapshot: RegistrySnapshot, registryId: string): RegistryEvent__Output[] {
  const sequence = snapshot.lastSequence;
  const event = (timeUnixMs: number, body: Partial<RegistryEvent>) => decodeRegistryEvent(encodeRegistryEvent({ sequence, timeUnixMs, registryId, ...body }));
  return snapshot.models.flatMap(({ model: m, versions, aliases, references }) => [
    event(m.updatedAtMs, { modelCreated: { model: m.name, description: m.description, tags: m.tags, labels: m.labels } }),
    ...versions.map((v) =>
      event(v.createdAtMs, {
        versionCreated: {
          model: v.model, version: v.version, sha256: v.sha256, sizeBytes: v.sizeBytes, signature: v.signature,
          configJson: v.configJson, labels: v.labels, description: v.description, lineage: v.lineage,
        },
      }),
    ),
    ...references.map((r) => event(r.updatedAtMs, { referenceSet: { model: r.model, version: r.version, input: r.input, features: r.features, rows: r.rows } })),
    ...aliases.map((a) => event(a.updatedAtMs, { aliasChanged: { model: a.model, alias: a.name, version: a.version, weight: a.weight, previousVersion: 0 } })),
  ]);
}

/** The trace context of the calling request, carried into the events it causes. */
function writeContext(metadata: Metadata): WriteContext {
  const value = metadata.get(TRACEPARENT_HEADER)[0];
  return typeof value === 'string' && value ? { traceparent: value } : {};
}
