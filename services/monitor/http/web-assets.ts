import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A static file of the web page, held in memory. */
export interface WebAsset {
  contentType: string;
  body: Buffer;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/**
 * The folder of the web page (services/monitor/web), found from this file
 * whether it runs from source or from dist/: tsc does not copy static files,
 * so the compiled monitor serves them from the source tree, like
 * shared/proto finds protos/.
 */
export function webDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'services', 'monitor', 'web');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find services/monitor/web above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** Loads every file of the web folder (flat: no build step, no subfolders), by URL path. */
export function loadWebAssets(dir = webDir()): Map<string, WebAsset> {
  const assets = new Map<string, WebAsset>();
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (!contentType) continue;
    assets.set('/' + name, { contentType, body: readFileSync(join(dir, name)) });
  }
  const index = assets.get('/index.html');
  if (index) assets.set('/', index);
  return assets;
}
