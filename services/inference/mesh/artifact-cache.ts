import { mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { hashFile, type RegistryClient } from '../../../shared/registry-client/index.js';

/** Options of {@link createArtifactCache}. */
export interface ArtifactCacheOptions {
  /** Folder of the cache; files live at `<dir>/sha256/<sha256>.onnx`. */
  dir: string;
  registry: RegistryClient;
  logger: Logger;
}

/** What to fetch: a registry version and the artifact's expected sha256. */
export interface ArtifactRef {
  model: string;
  version: number;
  sha256: string;
}

/**
 * Model artifacts on local disk, content-addressed by sha256. A file is
 * downloaded from the registry once (resuming a `.part` file, verified against
 * its sha256 by the registry client) and re-verified before every reuse, so a
 * corrupted file is fetched again instead of loaded.
 */
export interface ArtifactCache {
  /** The local path of the artifact, downloading it when it is missing or damaged. */
  fetch(ref: ArtifactRef, options?: { signal?: AbortSignal }): Promise<string>;
  /** Where an artifact lives (whether or not it is there yet). */
  pathOf(sha256: string): string;
}

/** Creates an {@link ArtifactCache}. */
export function createArtifactCache(options: ArtifactCacheOptions): ArtifactCache {
  const inFlight = new Map<string, Promise<string>>();
  const pathOf = (sha256: string) => join(options.dir, 'sha256', `${sha256}.onnx`);

  const fetchOnce = async (ref: ArtifactRef, signal: AbortSignal | undefined): Promise<string> => {
    const path = pathOf(ref.sha256);
    if (existsSync(path)) {
      if ((await hashFile(path)).sha256 === ref.sha256) return path;
      options.logger.warn('cached artifact does not match its sha256; downloading it again', { model: ref.model, version: ref.version, sha256: ref.sha256 });
      await rm(path, { force: true });
    }
    await mkdir(join(options.dir, 'sha256'), { recursive: true });
    const started = Date.now();
    const info = await options.registry.downloadToFile(ref.model, path, { version: ref.version, ...(signal ? { signal } : {}) });
    if (info.sha256 !== ref.sha256) {
      await rm(path, { force: true });
      throw new InfermeshError(Code.DATA_LOSS, `the registry sent ${ref.model} version ${ref.version} with sha256 ${info.sha256}, expected ${ref.sha256}`);
    }
    options.logger.info('artifact downloaded', { model: ref.model, version: ref.version, sha256: ref.sha256, bytes: Number(info.sizeBytes), ms: Date.now() - started });
    return path;
  };

  return {
    pathOf,
    fetch(ref, fetchOptions = {}) {
      // One download per artifact at a time: concurrent callers share it.
      let pending = inFlight.get(ref.sha256);
      if (!pending) {
        pending = fetchOnce(ref, fetchOptions.signal).finally(() => inFlight.delete(ref.sha256));
        inFlight.set(ref.sha256, pending);
      }
      return pending;
    },
  };
}
