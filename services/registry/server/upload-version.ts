import { Code, InfermeshError, invalidArgument, notFound, resourceExhausted } from '../../../shared/errors/index.js';
import type { UploadMetadata__Output } from '../../../shared/generated/infermesh/registry/v1/UploadMetadata.js';
import type { UploadVersionRequest__Output } from '../../../shared/generated/infermesh/registry/v1/UploadVersionRequest.js';
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from '../../../shared/logging/index.js';
import { inspectOnnxFile, type ArtifactStore, type ArtifactUpload, type InspectOnnxFileOptions } from '../artifacts/index.js';
import type { AliasRecord, NewVersion, RegistryStore, VersionRecord } from '../store/index.js';
import { ATTR_MODEL_NAME } from '../../../shared/telemetry/index.js';
import { REGISTRY_SPAN_NAMES, withSpan } from '../telemetry/index.js';
import type { Commit } from './commit.js';
import { checkReference } from './to-proto.js';
import {
  checkAliasName,
  checkAliasWeight,
  checkByteCount,
  checkLabels,
  checkModelName,
  checkServingConfig,
  checkSha256,
} from './validate.js';

/** What an upload needs from the service. */
export interface UploadDeps {
  store: RegistryStore;
  artifacts: ArtifactStore;
  logger: Logger;
  maxArtifactBytes: number;
  /** How an upload's temp file is checked (large files in a child process). Default: DEFAULT_INSPECT_ONNX_FILE_OPTIONS. */
  inspect?: InspectOnnxFileOptions;
  /** Traces the receipt and checks of the bytes as an `upload` span. Default: none. */
  tracer?: Tracer;
}

/**
 * The UploadVersion pipeline: metadata first, then chunks written to a temp
 * file while hashed; then the declared size and sha256 are checked, the bytes
 * are loaded as an ONNX model, and only then the artifact is moved to its
 * content address and the version (with its event) committed. Whatever fails,
 * the temp file is removed, and an artifact this upload stored but could not
 * commit a version for is removed too.
 */
export async function uploadVersion(
  parts: AsyncIterable<UploadVersionRequest__Output>,
  deps: UploadDeps,
  commit: Commit,
): Promise<{ version: VersionRecord; alias?: AliasRecord }> {
  const iterator = parts[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done || first.value.part !== 'metadata' || !first.value.metadata) {
    throw invalidArgument('the first UploadVersion message must carry `metadata` (model, sha256, size_bytes, ...)');
  }
  const meta = await checkMetadata(first.value.metadata, deps);
  let upload: ArtifactUpload | undefined;
  try {
    const receiving = (upload = await deps.artifacts.beginUpload());
    const { received, signature } = await withSpan(
      deps.tracer,
      REGISTRY_SPAN_NAMES.upload,
      async () => {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          const part = next.value;
          if (part.part !== 'chunk' || !part.chunk) throw invalidArgument('after the metadata, every UploadVersion message must carry a `chunk`');
          const total = receiving.sizeBytes + part.chunk.byteLength;
          if (total > deps.maxArtifactBytes) {
            throw resourceExhausted(`the upload exceeds the registry's limit of ${deps.maxArtifactBytes} bytes per artifact`);
          }
          if (total > meta.sizeBytes) throw invalidArgument(`the upload sent more than the ${meta.sizeBytes} bytes declared in size_bytes`);
          await receiving.write(part.chunk);
        }
        const received = await receiving.finish();
        if (received.sizeBytes < meta.sizeBytes) {
          throw new InfermeshError(Code.DATA_LOSS, `the upload ended after ${received.sizeBytes} of the ${meta.sizeBytes} bytes declared in size_bytes`);
        }
        if (received.sha256 !== meta.sha256) {
          throw new InfermeshError(Code.DATA_LOSS, `the uploaded bytes hash to sha256 ${received.sha256}, not the declared ${meta.sha256}`);
        }
        // From the temp file: a large model is never held in the registry's memory.
        const signature = await inspectOnnxFile(received.path, deps.inspect);
        meta.checkConfig(signature);
        return { received, signature };
      },
      { [ATTR_MODEL_NAME]: meta.version.model, 'infermesh.artifact.size_bytes': meta.sizeBytes },
    );
    const input: NewVersion = { ...meta.version, signature };
    return await deps.artifacts.withLock(received.sha256, async () => {
      const { created } = await receiving.commit();
      try {
        return await commit((ctx) => deps.store.createVersion(input, ctx));
      } catch (err) {
        if (created && (await deps.store.countArtifactUses(received.sha256)) === 0) await deps.artifacts.remove(received.sha256);
        throw err;
      }
    });
  } finally {
    await upload?.abort();
  }
}

/** Validates the metadata, and fails fast (before any bytes) on an unknown model or a taken version. */
async function checkMetadata(m: UploadMetadata__Output, deps: UploadDeps) {
  const model = checkModelName(m.model, 'metadata.model');
  const sizeBytes = checkByteCount(m.sizeBytes, 'metadata.size_bytes');
  if (sizeBytes > deps.maxArtifactBytes) {
    throw resourceExhausted(`metadata.size_bytes ${sizeBytes} exceeds the registry's limit of ${deps.maxArtifactBytes} bytes per artifact`);
  }
  if (sizeBytes === 0) throw invalidArgument('metadata.size_bytes must be the size of the ONNX file (> 0)');
  const sha256 = checkSha256(m.sha256, 'metadata.sha256');
  const config = checkServingConfig(m.configJson, 'metadata.config_json');
  const reference = m.reference && m.reference.byteLength > 0 ? checkReference(m.reference, 'metadata.reference') : undefined;
  const alias = m.alias ? { name: checkAliasName(m.alias, 'metadata.alias'), weight: checkAliasWeight(m.alias, m.aliasWeight, 'metadata.alias_weight') } : undefined;
  const existing = await deps.store.getModel(model);
  if (!existing && !m.createModelIfMissing) throw notFound(`model '${model}' does not exist (create it first, or set create_model_if_missing)`);
  if (existing && m.version && (await deps.store.getVersion(model, m.version))) {
    throw new InfermeshError(Code.ALREADY_EXISTS, `model '${model}' already has version ${m.version}`);
  }
  const lineage = m.lineage ?? undefined;
  const version: Omit<NewVersion, 'signature'> = {
    model,
    version: m.version || undefined,
    sha256,
    sizeBytes,
    description: m.description,
    labels: checkLabels(m.labels, 'metadata.labels'),
    lineage: lineage && { ...lineage, metrics: lineage.metrics ?? {} },
    configJson: config.json,
    createModelIfMissing: m.createModelIfMissing,
    alias,
    ...(reference ? { reference } : {}),
  };
  return { sizeBytes, sha256, version, checkConfig: config.checkSignature };
}
