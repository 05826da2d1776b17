import { readFile } from 'node:fs/promises';
import { invalidArgument } from '../../../shared/errors/index.js';

/** The response parameter that carries the request id the node assigned (when the client sent none). */
export const REQUEST_ID_PARAMETER = 'request_id';

/**
 * The record hash key from `--record-hash-key-file` (the file's bytes, trailing
 * newline trimmed) or INFERMESH_RECORD_HASH_KEY (its text); undefined when
 * neither is set. Too short a key (< 16 bytes) is an error: it would not hide much.
 */
export async function readRecordHashKey(file: string | undefined, env: string | undefined): Promise<Uint8Array | undefined> {
  let key: Buffer | undefined;
  if (file) {
    const bytes = await readFile(file).catch((err: unknown) => {
      throw invalidArgument(`--record-hash-key-file ${file} cannot be read: ${(err as Error).message}`, err);
    });
    key = Buffer.from(bytes.toString('latin1').replace(/\r?\n$/, ''), 'latin1');
  } else if (env) {
    key = Buffer.from(env);
  }
  if (key && key.length < 16) throw invalidArgument(`the record hash key must be at least 16 bytes, got ${key.length}`);
  return key;
}
