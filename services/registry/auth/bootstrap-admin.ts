import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../shared/logging/index.js';
import type { TokenIssuer } from './token-issuer.js';
import { MAX_TOKEN_TTL_MS } from './token-issuer.js';

/** Where a registry that enforces tokens leaves its first admin token, under the data dir. */
export const ADMIN_TOKEN_FILE = join('auth', 'admin.token');

/**
 * The first admin token of a registry that enforces tokens: without one no
 * call could create another. Issued once (subject `admin`, scope `admin`, the
 * longest lifetime), recorded in the audit log as made by `registry`, and
 * written to `<dataDir>/auth/admin.token` (mode 0600) for the operator
 * (`INFERMESH_TOKEN=$(cat ...)`). A file already there is kept; delete it
 * (and revoke its token) to have a new one made at the next start.
 * Resolves with the file's path.
 */
export async function ensureAdminToken(dataDir: string, issuer: TokenIssuer, logger: Logger): Promise<string> {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if (await exists(path)) return path;
  const { token, record } = await issuer.issue({ subject: 'admin', scopes: ['admin'], ttlMs: MAX_TOKEN_TTL_MS }, { actor: { subject: 'registry', address: '' } });
  try {
    await writeFile(path, `${token}\n`, { flag: 'wx', mode: 0o600 });
    logger.info('issued the first admin token', { path, tokenId: record.id, expiresAt: new Date(record.expiresAtMs).toISOString() });
  } catch (err) {
    // Another start on the same data dir wrote one first: theirs is the one the operator finds.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
