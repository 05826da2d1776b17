import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { Code, InfermeshError } from '../errors/index.js';
import type { RegistryEvent__Output } from '../generated/infermesh/events/v1/RegistryEvent.js';
import type { Alias__Output } from '../generated/infermesh/registry/v1/Alias.js';
import type { ArtifactInfo__Output } from '../generated/infermesh/registry/v1/ArtifactInfo.js';
import type { CreateModelRequest } from '../generated/infermesh/registry/v1/CreateModelRequest.js';
import type { Lineage } from '../generated/infermesh/registry/v1/Lineage.js';
import type { ListModelsRequest } from '../generated/infermesh/registry/v1/ListModelsRequest.js';
import type { ListModelsResponse__Output } from '../generated/infermesh/registry/v1/ListModelsResponse.js';
import type { Model__Output } from '../generated/infermesh/registry/v1/Model.js';
import type { ModelRegistryClient } from '../generated/infermesh/registry/v1/ModelRegistry.js';
import type { ModelVersion__Output } from '../generated/infermesh/registry/v1/ModelVersion.js';
import type { GetReferenceResponse__Output } from '../generated/infermesh/registry/v1/GetReferenceResponse.js';
import type { ReferenceInfo__Output } from '../generated/infermesh/registry/v1/ReferenceInfo.js';
import type { ReferenceProfile } from '../generated/infermesh/registry/v1/ReferenceProfile.js';
import { encodeReferenceProfile } from './reference-profile.js';
import type { UpdateModelRequest } from '../generated/infermesh/registry/v1/UpdateModelRequest.js';
import type { ProtoGrpcType } from '../generated/registry.js';
import { checkUint32, checkUint64 } from '../numbers/index.js';
import { loadProtos } from '../proto/index.js';
import { createRpcClient, type RpcCallOptions, type RpcClientOptions, type UnaryMethod } from '../rpc/index.js';
import { withClientToken, type ClientTokenOption } from '../auth/index.js';
import type { PublicKey__Output } from '../generated/infermesh/registry/v1/PublicKey.js';

/** Per-call options: `timeoutMs` defaults to none for streams and 30000 ms for unary calls. */
export type RegistryCallOptions = RpcCallOptions;

/** Options of {@link RegistryClient.pushVersion}. */
export interface PushVersionOptions extends RegistryCallOptions {
  /** Version number to use; default: the next one. */
  version?: number;
  description?: string;
  labels?: Record<string, string>;
  lineage?: Lineage;
  /** The serving config (the inference node's config.json): an object or its JSON text. */
  config?: object | string;
  /** Point this alias at the new version in the same commit. */
  alias?: string;
  /** The alias's weight (required for canary). */
  aliasWeight?: number;
  /** Create the model when it does not exist. Default: true. */
  createModel?: boolean;
  /** Upload chunk size. Default: 1 MiB. */
  chunkBytes?: number;
  /** A reference profile for model health, stored with the version in the same commit. */
  reference?: ReferenceProfile;
}

/** Which version to download, and from where. */
export interface DownloadOptions extends RegistryCallOptions {
  /** Default: the alias's version when `alias` is set, else the latest. */
  version?: number;
  alias?: string;
  /** First byte to receive (resume). Default: 0. */
  offset?: number;
}

/** Options of {@link RegistryClient.watch}. */
export interface WatchOptions {
  /** Replay from this sequence (inclusive); default: only changes after the call. */
  fromSequence?: number;
  /** Only this model's events. */
  model?: string;
  signal?: AbortSignal;
}

/** A typed client of `infermesh.registry.v1.ModelRegistry`. Errors are InfermeshErrors carrying the gRPC status. */
export interface RegistryClient {
  /** `host:port` of the registry. */
  readonly address: string;
  createModel(request: CreateModelRequest, options?: RegistryCallOptions): Promise<Model__Output>;
  updateModel(request: UpdateModelRequest, options?: RegistryCallOptions): Promise<Model__Output>;
  /** The model with its versions and aliases. */
  getModel(name: string, options?: RegistryCallOptions): Promise<Model__Output>;
  listModels(request?: ListModelsRequest, options?: RegistryCallOptions): Promise<ListModelsResponse__Output>;
  /** Every matching model, page after page. */
  listAllModels(request?: Omit<ListModelsRequest, 'pageToken'>, options?: RegistryCallOptions): AsyncIterable<Model__Output>;
  /** A version by number, by alias (`{ alias: 'production' }`), or the latest (`{}`). */
  getVersion(model: string, which: { version?: number; alias?: string }, options?: RegistryCallOptions): Promise<ModelVersion__Output>;
  deleteVersion(model: string, version: number, options?: RegistryCallOptions): Promise<void>;
  setAlias(model: string, alias: string, version: number, weight?: number, options?: RegistryCallOptions): Promise<Alias__Output>;
  deleteAlias(model: string, alias: string, options?: RegistryCallOptions): Promise<void>;
  /** Uploads an ONNX file (bytes, or a file path), streaming chunks with its sha256 and size. */
  pushVersion(model: string, source: Uint8Array | string, options?: PushVersionOptions): Promise<ModelVersion__Output>;
  /** Stores or replaces a version's reference profile. */
  setReference(model: string, version: number, reference: ReferenceProfile, options?: RegistryCallOptions): Promise<ReferenceInfo__Output>;
  /** A version's reference profile; NOT_FOUND when it has none. */
  getReference(model: string, version: number, options?: RegistryCallOptions): Promise<GetReferenceResponse__Output>;
  /** Starts a download: resolves with the artifact's info once the registry verified it, and the chunks from `offset`. */
  download(model: string, options?: DownloadOptions): Promise<{ info: ArtifactInfo__Output; chunks: AsyncIterable<Uint8Array> }>;
  /**
   * Downloads to `path`: bytes go to `<path>.part` first, a download that
   * stopped half-way resumes from that file's size, the whole file's sha256 is
   * checked (DATA_LOSS when it differs), and only then renamed to `path`.
   */
  downloadToFile(model: string, path: string, options?: Omit<DownloadOptions, 'offset'>): Promise<ArtifactInfo__Output>;
  /** The registry's token public key (SPKI PEM) and its key id: what edges verify tokens with. Public: no token needed. */
  getPublicKey(options?: RegistryCallOptions): Promise<PublicKey__Output>;
  /** Committed registry changes, in order, as they happen (until `signal` aborts or the registry stops). */
  watch(options?: WatchOptions): AsyncIterable<RegistryEvent__Output>;
  /** Closes the channel. Idempotent. */
  close(): void;
}

/**
 * Options of {@link createRegistryClient}: those of every infermesh client
 * (see RpcClientOptions). `tracer` records a CLIENT span per unary call,
 * upload and file download, so the registry's spans and the events the call
 * causes join the caller's trace; `timeoutMs` defaults to 30000 ms; `retry`
 * applies to the reads (GetModel, ListModels, GetVersion, GetReference);
 * `token` is sent as `authorization: Bearer` on every call.
 */
export type RegistryClientOptions = RpcClientOptions & ClientTokenOption;

const DEFAULT_UNARY_TIMEOUT_MS = 30_000;
const SERVICE = 'infermesh.registry.v1.ModelRegistry';
const DEFAULT_CHUNK_BYTES = 1 << 20;
/** Largest upload chunk: under the registry's 16 MiB message limit. */
const MAX_CHUNK_BYTES = 8 << 20;

/**
 * Every integer of a request is range-checked before the encoder, which would
 * wrap an out-of-range uint32 silently (4294967299 -> 3): INVALID_ARGUMENT
 * naming the field and the range, and nothing is sent.
 */
function checkVersionAndOffset(version: number, offset: number): void {
  checkUint32(version, 'version');
  checkUint64(offset, 'offset');
}

/** Creates a client of the registry at `address` (`host:port`). */
export function createRegistryClient(address: string, options: RegistryClientOptions = {}): RegistryClient {
  const proto = loadProtos(['infermesh/registry/v1/registry.proto']) as unknown as ProtoGrpcType;
  const rpc = createRpcClient<ModelRegistryClient>(proto.infermesh.registry.v1.ModelRegistry, SERVICE, address, {
    timeoutMs: DEFAULT_UNARY_TIMEOUT_MS,
    ...withClientToken(options),
    channelOptions: { 'grpc.max_receive_message_length': 16 << 20, ...options.channelOptions },
  });
  const client = rpc.stub;
  const traced = rpc.traced;
  const unary = <Req, Res>(name: string, method: UnaryMethod<Req, Res>, req: Req, o?: RegistryCallOptions, idempotent = false): Promise<Res> =>
    rpc.unary(name, method, req, o, { idempotent });

  const download: RegistryClient['download'] = async (model, o = {}) => {
    checkVersionAndOffset(o.version ?? 0, o.offset ?? 0);
    const call = rpc.stream('DownloadVersion', o, (metadata, callOptions) =>
      client.downloadVersion({ model, version: o.version ?? 0, alias: o.alias ?? '', offset: o.offset ?? 0 }, metadata, callOptions),
    );
    const iterator = messages(call);
    const first = await iterator.next();
    if (first.done || first.value.part !== 'info' || !first.value.info) {
      call.cancel();
      throw new InfermeshError(Code.INTERNAL, 'the registry did not start the download with the artifact info');
    }
    async function* chunks() {
      try {
        for (let m = await iterator.next(); !m.done; m = await iterator.next()) if (m.value.chunk) yield m.value.chunk;
      } finally {
        call.cancel();
      }
    }
    return { info: first.value.info, chunks: chunks() };
  };

  const pushVersion = async (model: string, source: Uint8Array | string, o: PushVersionOptions = {}): Promise<ModelVersion__Output> => {
    const chunkBytes = checkUint32(o.chunkBytes ?? DEFAULT_CHUNK_BYTES, 'chunkBytes', 1, MAX_CHUNK_BYTES);
    checkUint32(o.version ?? 0, 'version');
    if (o.aliasWeight !== undefined) checkUint32(o.aliasWeight, 'aliasWeight', 0, 100);
    const { sha256, sizeBytes } = typeof source === 'string' ? await hashFile(source) : { sha256: sha256Of(source), sizeBytes: source.byteLength };
    const configJson = o.config === undefined ? '' : typeof o.config === 'string' ? o.config : JSON.stringify(o.config);
    let call: ReturnType<ModelRegistryClient['uploadVersion']> | undefined;
    const result = new Promise<ModelVersion__Output>((resolve, reject) => {
      call = rpc.stream('UploadVersion', o, (metadata, callOptions) =>
        client.uploadVersion(metadata, callOptions, (err, res) => (err ? reject(InfermeshError.from(err)) : resolve(res!))),
      );
    });
    const stream = call!;
    // The registry may answer (e.g. NOT_FOUND) before every chunk is sent: stop writing then.
    let answered = false;
    void result.then(
      () => (answered = true),
      () => (answered = true),
    );
    try {
      stream.write({
        metadata: {
          model,
          version: o.version ?? 0,
          sha256,
          sizeBytes,
          description: o.description ?? '',
          labels: o.labels ?? {},
          lineage: o.lineage ?? null,
          configJson,
          alias: o.alias ?? '',
          ...(o.aliasWeight === undefined ? {} : { aliasWeight: o.aliasWeight }),
          createModelIfMissing: o.createModel ?? true,
          ...(o.reference ? { reference: encodeReferenceProfile(o.reference) } : {}),
        },
      });
      for await (const chunk of typeof source === 'string' ? createReadStream(source, { highWaterMark: chunkBytes }) : slices(source, chunkBytes)) {
        if (answered) break;
        if (!stream.write({ chunk: chunk as Uint8Array })) await Promise.race([once(stream, 'drain'), result.catch(() => undefined)]);
      }
      stream.end();
      return await result;
    } catch (err) {
      stream.cancel();
      throw err;
    }
  };

  const downloadToFile = async (model: string, path: string, o: Omit<DownloadOptions, 'offset'> = {}): Promise<ArtifactInfo__Output> => {
    const part = `${path}.part`;
    const offset = await stat(part).then(
      (s) => s.size,
      () => 0,
    );
    const { info, chunks } = await download(model, { ...o, offset });
    const file = await open(part, offset > 0 ? 'a' : 'w');
    try {
      for await (const chunk of chunks) await file.write(chunk);
      await file.sync();
    } finally {
      await file.close();
    }
    const { sha256, sizeBytes } = await hashFile(part);
    if (sha256 !== info.sha256 || sizeBytes !== Number(info.sizeBytes)) {
      await rm(part, { force: true });
      throw new InfermeshError(Code.DATA_LOSS, `downloaded ${sizeBytes} bytes with sha256 ${sha256}, expected ${info.sizeBytes} bytes with ${info.sha256}`);
    }
    await rename(part, path);
    return info;
  };

  return {
    address,
    createModel: (req, o) => unary('CreateModel', client.createModel, req, o),
    updateModel: (req, o) => unary('UpdateModel', client.updateModel, req, o),
    getModel: (name, o) => unary('GetModel', client.getModel, { name }, o, true),
    listModels: async (req = {}, o) => {
      checkUint32(req.pageSize ?? 0, 'pageSize');
      return unary('ListModels', client.listModels, req, o, true);
    },
    async *listAllModels(req = {}, o) {
      checkUint32(req.pageSize ?? 0, 'pageSize');
      let pageToken = '';
      do {
        const page: ListModelsResponse__Output = await unary('ListModels', client.listModels, { ...req, pageToken }, o, true);
        yield* page.models;
        pageToken = page.nextPageToken;
      } while (pageToken);
    },
    getVersion: async (model, which, o) =>
      unary('GetVersion', client.getVersion, { model, version: checkUint32(which.version ?? 0, 'version'), alias: which.alias ?? '' }, o, true),
    deleteVersion: async (model, version, o) => {
      checkUint32(version, 'version', 1);
      await unary('DeleteVersion', client.deleteVersion, { model, version }, o);
    },
    setAlias: async (model, alias, version, weight, o) => {
      checkUint32(version, 'version', 1);
      if (weight !== undefined) checkUint32(weight, 'weight', 0, 100);
      return unary('SetAlias', client.setAlias, { model, alias, version, ...(weight === undefined ? {} : { weight }) }, o);
    },
    deleteAlias: async (model, alias, o) => {
      await unary('DeleteAlias', client.deleteAlias, { model, alias }, o);
    },

    setReference: async (model, version, reference, o) =>
      unary('SetReference', client.setReference, { model, version: checkUint32(version, 'version', 1), reference: encodeReferenceProfile(reference) }, o),
    getReference: async (model, version, o) => unary('GetReference', client.getReference, { model, version: checkUint32(version, 'version', 1) }, o, true),
    getPublicKey: (o) => unary('GetPublicKey', client.getPublicKey as UnaryMethod<object, PublicKey__Output>, {}, o, true),

    pushVersion: (model, source, o) => traced('UploadVersion', o, (withContext) => pushVersion(model, source, withContext)),

    download,

    downloadToFile: (model, path, o) => traced('DownloadVersion', o, (withContext) => downloadToFile(model, path, withContext)),

    async *watch(o = {}) {
      checkUint64(o.fromSequence ?? 0, 'fromSequence');
      const call = rpc.stream('Watch', o.signal ? { signal: o.signal } : {}, (metadata, callOptions) =>
        client.watch({ fromSequence: o.fromSequence ?? 0, model: o.model ?? '' }, metadata, callOptions),
      );
      try {
        for await (const event of messages(call)) yield event;
      } catch (err) {
        if (!(err instanceof InfermeshError && err.code === Code.CANCELLED && o.signal?.aborted)) throw err;
      } finally {
        call.cancel();
      }
    },

    close: rpc.close,
  };
}

/** The messages of a server stream, its error as an InfermeshError. */
async function* messages<T>(call: ClientReadableStream<T>): AsyncGenerator<T> {
  try {
    for await (const m of call) yield m as T;
  } catch (err) {
    throw InfermeshError.from(err);
  }
}

function* slices(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, Math.min(i + size, bytes.byteLength));
}

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 and size of a file, read in 1 MiB chunks. */
export async function hashFile(path: string): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).byteLength;
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}
