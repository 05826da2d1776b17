// The public-surface check (scripts/check-exports.mjs, `npm run lint:exports`) run as CI runs
// it: a child process over a tree, judged by its exit status and stderr.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'check-exports.mjs');

function check(...args: string[]) {
  const run = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('check-exports', () => {
  let tree: string | undefined;
  afterEach(() => {
    if (tree) rmSync(tree, { recursive: true, force: true });
    tree = undefined;
  });

  function write(files: Record<string, string>): string {
    tree = mkdtempSync(join(tmpdir(), 'exports-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      writeFileSync(join(tree, path), text);
    }
    return tree;
  }

  const lib = {
    'shared/lib/impl.ts': 'export const used = 1;\nexport const unused = 2;\nexport type Shape = { a: number };\n',
    'services/a/main.ts': "import { used, type Shape } from '../../shared/lib/index.js';\nexport const x: Shape = { a: used };\n",
    // A unit test in the same folder does not make a name public.
    'shared/lib/impl.test.ts': "import { unused } from './index.js';\nexport const y = unused;\n",
  };

  it('passes on the repository as it is', () => {
    const run = check(ROOT);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('fails on an index export that no other folder imports, naming the index and the name', () => {
    const root = write({ ...lib, 'shared/lib/index.ts': "export { used, unused, type Shape } from './impl.js';\n" });
    const run = check(root);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("shared/lib/index.ts: exports 'unused', which no file outside shared/lib/ imports");
    expect(run.stderr).not.toContain("'used'");
    expect(run.stderr).not.toContain("'Shape'");
  });

  it('--fix removes the unused names and keeps the used ones', () => {
    const root = write({ ...lib, 'shared/lib/index.ts': "export { used, unused, type Shape } from './impl.js';\n" });
    expect(check('--fix', root).status).toBe(0);
    expect(readFileSync(join(root, 'shared/lib/index.ts'), 'utf8')).toBe("export { used, type Shape } from './impl.js';\n");
    expect(check(root).status).toBe(0);
  });
});
