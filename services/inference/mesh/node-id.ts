import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isValidNodeId } from '../../../shared/auth/index.js';

const NODE_ID_FILE = 'node-id';

/**
 * The node's id: the one given, else the one kept in `<dataDir>/node-id`, else
 * a new one (`<hostname>-<6 hex>`, saved there), so a node restarted on the
 * same data dir keeps its id and with it its durable registry consumer.
 */
export async function resolveNodeId(dataDir: string, given?: string): Promise<string> {
  if (given !== undefined) {
    if (!isValidNodeId(given)) throw new Error(`--node-id must be 1-64 characters of A-Z a-z 0-9 _ -, got '${given}'`);
    return given;
  }
  const file = join(dataDir, NODE_ID_FILE);
  const kept = await readFile(file, 'utf8').then(
    (s) => s.trim(),
    () => '',
  );
  if (isValidNodeId(kept)) return kept;
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40) || 'node';
  const id = `${host}-${randomBytes(3).toString('hex')}`;
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, id + '\n');
  return id;
}
