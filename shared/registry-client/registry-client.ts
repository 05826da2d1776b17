import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { credentials, Metadata, type CallOptions, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
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
import type { Tracer } from '@opentelemetry/api';
import { withClientSpan } from '../telemetry/index.js';

/** Per-call options. */
export interface RegistryCallOptions {
  /** Give up after this many ms (DEADLINE_EXCEEDED). Default: none for streams, 30000 ms for unary calls. */
  timeoutMs?: number;
  /** Cancels the call (CANCELLED). */
  signal?: AbortSignal;
  /** Extra request metadata, e.g. a `traceparent`. */
  metadata?: Metadata;
}

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
  /** Committed registry changes, in order, as they happen (until `signal` aborts or the registry stops). */
  watch(options?: WatchOptions): AsyncIterable<RegistryEvent__Output>;
  /** Closes the channel. Idempotent. */
  close(): void;
}

/** Options of {@link createRegistryClient}. */
export interface RegistryClientOptions {
  /**
   * Records a CLIENT span per unary call, upload and file download (RPC
   * conventions), a child of the active context, and sends its trace context
   * in the call's metadata: the registry's spans and the events the call
   * causes join the caller's trace. Default: no spans.
   */
  tracer?: Tracer;
}

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
  const client: ModelRegistryClient = new proto.infermesh.registry.v1.ModelRegistry(address, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 16 << 20,
  });

  const callOptions = (o: RegistryCallOptions | undefined, unaryCall: boolean): CallOptions => {
    const timeoutMs = o?.timeoutMs ?? (unaryCall ? DEFAULT_UNARY_TIMEOUT_MS : undefined);
    return timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
  };

  /** Runs `call` in a CLIENT span named after `rpc` (its metadata carrying the span's context) when the client traces. */
  const traced = <O extends RegistryCallOptions, T>(rpc: string, o: O | undefined, call: (o: O | undefined) => Promise<T>): Promise<T> =>
    options.tracer
      ? withClientSpan(options.tracer, `${SERVICE}/${rpc}`, (metadata) => call({ ...o, metadata } as O), o?.metadata ? { metadata: o.metadata } : {})
      : call(o);

  /** Runs one unary call as a promise, cancelled by `signal`, its error an InfermeshError. */
  const send = <Req, Res>(
    method: (req: Req, md: Metadata, opts: CallOptions, cb: (err: ServiceError | null, res?: Res) => void) => { cancel(): void },
    req: Req,
    o?: RegistryCallOptions,
  ): Promise<Res> =>
    new Promise<Res>((resolve, reject) => {
      if (o?.signal?.aborted) return reject(new InfermeshError(Code.CANCELLED, 'cancelled before the call'));
      const call = method.call(client, req, o?.metadata ?? new Metadata(), callOptions(o, true), (err, res) => {
        o?.signal?.removeEventListener('abort', abort);
        if (err) reject(InfermeshError.from(err));
        else resolve(res as Res);
      });
      const abort = () => call.cancel();
      o?.signal?.addEventListener('abort', abort, { once: true });
    });

  const unary = <Req, Res>(
    rpc: string,
    method: (req: Req, md: Metadata, opts: CallOptions, cb: (err: ServiceError | null, res?: Res) => void) => { cancel(): void },
    req: Req,
    o?: RegistryCallOptions,
  ): Promise<Res> => traced(rpc, o, (withContext) => send(method, req, withContext));

  const download: RegistryClient['download'] = async (model, o = {}) => {
    checkVersionAndOffset(o.version ?? 0, o.offset ?? 0);
    const call = client.downloadVersion(
      { model, version: o.version ?? 0, alias: o.alias ?? '', offset: o.offset ?? 0 },
      o.metadata ?? new Metadata(),
      callOptions(o, false),
    );
    const abort = () => call.cancel();
    o.signal?.addEventListener('abort', abort, { once: true });
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
        o.signal?.removeEventListener('abort', abort);
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
      call = client.uploadVersion(o.metadata ?? new Metadata(), callOptions(o, false), (err, res) => (err ? reject(InfermeshError.from(err)) : resolve(res!)));
    });
    const stream = call!;
    const abort = () => stream.cancel();
    o.signal?.addEventListener('abort', abort, { once: true });
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
    } finally {
      o.signal?.removeEventListener('abort', abort);
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
    getModel: (name, o) => unary('GetModel', client.getModel, { name }, o),
    listModels: async (req = {}, o) => {
      checkUint32(req.pageSize ?? 0, 'pageSize');
      return unary('ListModels', client.listModels, req, o);
    },
    async *listAllModels(req = {}, o) {
      checkUint32(req.pageSize ?? 0, 'pageSize');
      let pageToken = '';
      do {
        const page: ListModelsResponse__Output = await unary('ListModels', client.listModels, { ...req, pageToken }, o);
        yield* page.models;
        pageToken = page.nextPageToken;
      } while (pageToken);
    },
    getVersion: async (model, which, o) =>
      unary('GetVersion', client.getVersion, { model, version: checkUint32(which.version ?? 0, 'version'), alias: which.alias ?? '' }, o),
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
    getReference: async (model, version, o) => unary('GetReference', client.getReference, { model, version: checkUint32(version, 'version', 1) }, o),

    pushVersion: (model, source, o) => traced('UploadVersion', o, (withContext) => pushVersion(model, source, withContext)),

    download,

    downloadToFile: (model, path, o) => traced('DownloadVersion', o, (withContext) => downloadToFile(model, path, withContext)),

    async *watch(o = {}) {
      checkUint64(o.fromSequence ?? 0, 'fromSequence');
      const call = client.watch({ fromSequence: o.fromSequence ?? 0, model: o.model ?? '' });
      const abort = () => call.cancel();
      o.signal?.addEventListener('abort', abort, { once: true });
      try {
        for await (const event of messages(call)) yield event;
      } catch (err) {
        if (!(err instanceof InfermeshError && err.code === Code.CANCELLED && o.signal?.aborted)) throw err;
      } finally {
        o.signal?.removeEventListener('abort', abort);
        call.cancel();
      }
    },

    close: () => client.close(),
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
