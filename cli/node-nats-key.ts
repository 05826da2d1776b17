// The inference nodes' own NATS nkeys under `infermesh up --secure`: one per
// node, `<data-dir>/secure/nats/nodes/<node id>.nk`, each allowed what a node
// may do and to publish only its own heartbeat subject. up's nats-server
// accepts every key in that folder, and reloads its users when one is added
// or deleted (up-secure's watchNatsUsers): deleting one file revokes that node
// alone. `infermesh nodes nats-key` makes one for another node.
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { isValidNodeId, nodeIdProblem } from '../shared/auth/index.js';
import { natsPermissions, type NatsUser } from '../shared/nats/index.js';
import { writePrivateFile } from '../shared/tls/index.js';

/** A user seed file's one line. */
const SEED = /^SU[A-Z2-7]{56}$/;

/** The folder of the nodes' own NATS nkeys, under a secure mesh's folder (`<data-dir>/secure`). */
export function nodeNatsKeyDir(secureDir: string): string {
  return join(secureDir, 'nats', 'nodes');
}

/**
 * The NATS nkey of node `nodeId`: `<secureDir>/nats/nodes/<nodeId>.nk` (mode
 * 0600), made when missing or unreadable, kept otherwise. up's nats-server
 * accepts every key in that folder, each allowed what a node may do and to
 * publish only its own heartbeat subject; deleting a file revokes that node alone.
 */
export async function ensureNodeNatsKey(secureDir: string, nodeId: string): Promise<{ seedFile: string; publicKey: string; made: boolean }> {
  const badId = nodeIdProblem(nodeId);
  if (badId) throw new Error(`a node NATS key: ${badId}`);
  const dir = nodeNatsKeyDir(secureDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const seedFile = join(dir, `${nodeId}.nk`);
  const seed = await readFile(seedFile, 'utf8').then((t) => t.trim(), () => '');
  if (SEED.test(seed)) return { seedFile, publicKey: fromSeed(new TextEncoder().encode(seed)).getPublicKey(), made: false };
  const pair = createUser();
  await writePrivateFile(seedFile, new TextDecoder().decode(pair.getSeed()) + '\n');
  return { seedFile, publicKey: pair.getPublicKey(), made: true };
}

/** One NATS user per node key under `nats/nodes/` (see ensureNodeNatsKey); a file that is not a user seed is an error naming it. */
export async function nodeNatsUsers(secureDir: string): Promise<NatsUser[]> {
  const dir = nodeNatsKeyDir(secureDir);
  const users: NatsUser[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.nk')).sort()) {
    const nodeId = name.slice(0, -'.nk'.length);
    const seed = (await readFile(join(dir, name), 'utf8')).trim();
    if (!isValidNodeId(nodeId) || !SEED.test(seed)) {
      throw new Error(`the node NATS key '${join(dir, name)}' is not <node id>.nk holding one user seed (SU followed by 56 base32 characters): fix or delete it`);
    }
    users.push({ nkey: fromSeed(new TextEncoder().encode(seed)).getPublicKey(), permissions: natsPermissions('node', { nodeId }) });
  }
  return users;
}
