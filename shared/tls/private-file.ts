import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a secret (a private key, an nkey seed) to `file` with mode 0600, through
 * a temp file and a rename, so a crash never leaves half a key that parses.
 */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(`${file}.tmp`, text, { mode: 0o600 });
  // The mode given to writeFile only applies to a new file: an old temp file keeps its own.
  await chmod(`${file}.tmp`, 0o600);
  await rename(`${file}.tmp`, file);
}
