// Shared set-up of the registry's integration tests: models, a registry on a
// fresh data dir, a raw upload stream, and a reader of the REGISTRY stream.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { InfermeshError } from '../../shared/errors/index.js';
import type { RegistryEvent__Output } from '../../shared/generated/infermesh/events/v1/RegistryEvent.js';
import type { UploadVersionRequest } from '../../shared/generated/infermesh/registry/v1/UploadVersionRequest.js';
import type { ProtoGrpcType } from '../../shared/generated/registry.js';
import { buildOnnxModel } from '../../shared/onnx/index.js';
import { loadProtos } from '../../shared/proto/index.js';
import { REGISTRY_STREAM, decodeRegistryEvent } from '../../shared/registry-client/index.js';
import { createRegistryService, type RegistryService, type RegistryServiceOptions } from '../../services/registry/index.js';

/** A small servable ONNX model (y = x · W, W filled with `seed`), distinct bytes per seed. */
export function tinyModel(seed: number): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 2] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', 3] }],
    initializers: [{ name: 'w', datatype: 'FP32', dims: [2, 3], values: Array.from({ length: 6 }, (_, i) => seed + i) }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
  });
}

/** A temp folder removed by `cleanup()`. */
export function tempDir(prefix: string): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Starts an in-process registry on `dataDir` with a silent logger and fast retries. */
export function startRegistry(dataDir: string, natsUrl: string, options: Partial<RegistryServiceOptions> = {}): Promise<RegistryService> {
  return createRegistryService({ dataDir, natsUrl, publisher: { backoff: { initialDelayMs: 50, maxDelayMs: 500 }, ackTimeoutMs: 1000 }, ...options });
}

/** Files under the data dir's artifact folders: the stored artifacts and any temp files. */
export function artifactFiles(dataDir: string): { stored: string[]; temp: string[] } {
  const root = join(dataDir, 'artifacts');
  const stored = readdirSync(join(root, 'sha256'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => d.name);
  return { stored: stored.sort(), temp: readdirSync(join(root, 'tmp')) };
}

/**
 * An UploadVersion call driven message by message, for inputs the typed client
 * never sends (a wrong hash, a short stream, a cancel half-way). `result`
 * resolves with the error, or undefined on success.
 */
export function openRawUpload(address: string): { call: ClientWritableStream<UploadVersionRequest>; result: Promise<InfermeshError | undefined> } {
  const proto = loadProtos(['infermesh/registry/v1/registry.proto']) as unknown as ProtoGrpcType;
  const client = new proto.infermesh.registry.v1.ModelRegistry(address, credentials.createInsecure());
  let call!: ClientWritableStream<UploadVersionRequest>;
  const result = new Promise<InfermeshError | undefined>((resolve) => {
    call = client.uploadVersion((err: ServiceError | null) => {
      client.close();
      resolve(err ? InfermeshError.from(err) : undefined);
    });
  });
  return { call, result };
}

/** Sends `messages` on one UploadVersion call; resolves with the error, or undefined on success. */
export function rawUpload(address: string, messages: UploadVersionRequest[]): Promise<InfermeshError | undefined> {
  const { call, result } = openRawUpload(address);
  for (const m of messages) call.write(m);
  call.end();
  return result;
}

/** Every message now in the REGISTRY stream, decoded, with its subject and message id. */
export async function streamMessages(nc: NatsConnection): Promise<{ subject: string; msgId: string; event: RegistryEvent__Output }[]> {
  const jsm = await jetstreamManager(nc, { timeout: 1000 });
  let info;
  try {
    info = await jsm.streams.info(REGISTRY_STREAM);
  } catch {
    return [];
  }
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(REGISTRY_STREAM, { seq });
    if (!m) continue;
    out.push({ subject: m.subject, msgId: m.header?.get('Nats-Msg-Id') ?? '', event: decodeRegistryEvent(m.data) });
  }
  return out;
}

/**
 * Polls `check` until it returns a truthy value or `timeoutMs` passes (then
 * throws with `what`). A check that throws (e.g. NATS still restarting) is retried.
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    await new Promise((r) => setTimeout(r, 50));
  }
}
