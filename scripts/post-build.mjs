// Makes the compiled CLI executable and links it as node_modules/.bin/infermesh,
// so that `npx infermesh` works in this checkout right after `npm ci` (npm links
// the bins of dependencies, never the bin of the project itself).
import { chmodSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
chmodSync(main, 0o755);
const binDir = fileURLToPath(new URL('../node_modules/.bin/', import.meta.url));
mkdirSync(binDir, { recursive: true });
rmSync(binDir + 'infermesh', { force: true });
symlinkSync('../../dist/cli/main.js', binDir + 'infermesh');
