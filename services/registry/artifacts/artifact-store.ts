import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { createKeyedLock } from '../../../shared/concurrency/index.js';

/** An upload in progress: bytes go to a private temp file while being hashed. */
export interface ArtifactUpload {
  /** Bytes written so far. */
  readonly sizeBytes: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes the temp file to disk (fsync) and resolves with its hash and size. */
  finish(): Promise<{ sha256: string; sizeBytes: number; path: string }>;
  /**
   * Moves the finished file to its content address. Resolves `created: false`
   * when identical content was already stored (the temp file is dropped).
   */
  commit(): Promise<{ created: boolean }>;
  /** Removes the temp file. Idempotent; a no-op after commit. */
  abort(): Promise<void>;
}

/**
 * ONNX artifacts on disk, addressed by sha256: `<root>/sha256/<first two hex
 * digits>/<sha256>`. Writes go to `<root>/tmp/` first (fsync, then rename, then
 * fsync of the folder), so a stored file is always complete; identical content
 * is stored once. Reads verify the hash.
 */
export interface ArtifactStore {
  readonly root: string;
  beginUpload(): Promise<ArtifactUpload>;
  /** The stored file of an artifact. */
  pathOf(sha256: string): string;
  /** Re-hashes the stored file; DATA_LOSS when it is missing, has another size, or another hash. */
  verify(sha256: string, sizeBytes: number): Promise<void>;
  /** The stored bytes from `offset` on, in chunks of `chunkBytes`. */
  openRead(sha256: string, offset: number, chunkBytes: number): ReadStream;
  /** Deletes a stored artifact (no-op when missing). */
  remove(sha256: string): Promise<void>;
  /**
   * Runs `fn` while holding this artifact's lock: commits and removals of one
   * hash never interleave (an upload's commit cannot race a removal of the same content).
   */
  withLock<T>(sha256: string, fn: () => Promise<T>): Promise<T>;
  /** Temp files present now (left by a crash, or by an upload in progress). */
  tempFiles(): Promise<string[]>;
  /**
   * Removes stored artifacts that no version uses (`inUse` says false) and
   * that are older than `minAgeMs`: what a crash between an upload's rename and
   * its database commit leaves behind. The age spares an upload of another
   * registry process (on a shared PostgreSQL and data dir) that is between the
   * two right now. Resolves with the hashes removed.
   */
  sweepOrphans(inUse: (sha256: string) => Promise<boolean>, minAgeMs: number, nowMs?: number): Promise<string[]>;
}

/** Opens (and creates) the artifact folders under `root`, removing temp files a crash left behind. */
export async function createArtifactStore(root: string): Promise<ArtifactStore> {
  const tmpDir = join(root, 'tmp');
  const casDir = join(root, 'sha256');
  await mkdir(casDir, { recursive: true });
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  const locks = createKeyedLock();
  const pathOf = (sha256: string) => join(casDir, sha256.slice(0, 2), sha256);

  const store: ArtifactStore = {
    root,
    pathOf,

    async beginUpload() {
      const path = join(tmpDir, `${randomUUID()}.part`);
      const file = await open(path, 'wx');
      return createUpload(file, path, pathOf);
    },

    async verify(sha256, sizeBytes) {
      const path = pathOf(sha256);
      let size: number;
      try {
        size = (await stat(path)).size;
      } catch (err) {
        throw new InfermeshError(Code.DATA_LOSS, `artifact ${sha256} is missing from the registry's storage`, { cause: err });
      }
      if (size !== sizeBytes) throw new InfermeshError(Code.DATA_LOSS, `artifact ${sha256} is ${size} bytes on disk, expected ${sizeBytes}`);
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
      const actual = hash.digest('hex');
      if (actual !== sha256) throw new InfermeshError(Code.DATA_LOSS, `artifact ${sha256} is corrupt on disk (its bytes hash to ${actual})`);
    },

    openRead: (sha256, offset, chunkBytes) => createReadStream(pathOf(sha256), { start: offset, highWaterMark: chunkBytes }),

    async remove(sha256) {
      await rm(pathOf(sha256), { force: true });
    },

    withLock(sha256, fn) {
      return locks.run(sha256, fn);
    },

    tempFiles: async () => (await readdir(tmpDir)).map((f) => join(tmpDir, f)),

    async sweepOrphans(inUse, minAgeMs, nowMs = Date.now()) {
      const removed: string[] = [];
      for (const prefix of await readdir(casDir)) {
        if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
        for (const name of await readdir(join(casDir, prefix))) {
          if (!/^[0-9a-f]{64}$/.test(name) || name.slice(0, 2) !== prefix) continue;
          await locks.run(name, async () => {
            const info = await stat(pathOf(name)).catch(() => undefined);
            if (!info || nowMs - info.mtimeMs < minAgeMs || (await inUse(name))) return;
            await rm(pathOf(name), { force: true });
            removed.push(name);
          });
        }
      }
      return removed;
    },
  };
  return store;
}

function createUpload(file: FileHandle, path: string, pathOf: (sha256: string) => string): ArtifactUpload {
  const hash: Hash = createHash('sha256');
  let size = 0;
  let state: 'open' | 'finished' | 'committed' | 'aborted' = 'open';
  let digest = '';
  return {
    get sizeBytes() {
      return size;
    },
    async write(chunk) {
      if (state !== 'open') throw new Error(`upload is ${state}`);
      hash.update(chunk);
      size += chunk.byteLength;
      let written = 0;
      while (written < chunk.byteLength) written += (await file.write(chunk, written, chunk.byteLength - written)).bytesWritten;
    },
    async finish() {
      if (state !== 'open') throw new Error(`upload is ${state}`);
      await file.sync();
      await file.close();
      state = 'finished';
      digest = hash.digest('hex');
      return { sha256: digest, sizeBytes: size, path };
    },
    async commit() {
      if (state !== 'finished') throw new Error(`upload is ${state}, not finished`);
      const target = pathOf(digest);
      const dir = join(target, '..');
      await mkdir(dir, { recursive: true });
      let created = true;
      try {
        await stat(target);
        created = false;
        await rm(path, { force: true });
      } catch {
        await rename(path, target);
        await syncDir(dir);
      }
      state = 'committed';
      return { created };
    },
    async abort() {
      if (state === 'committed' || state === 'aborted') return;
      if (state === 'open') await file.close().catch(() => undefined);
      state = 'aborted';
      await rm(path, { force: true });
    },
  };
}

/** fsync of a folder, so that a rename into it survives a power cut. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
