// The service-boundary check (scripts/check-boundaries.mjs, `npm run lint:boundaries`)
// run as CI runs it: a child process over a tree, judged by its exit status and stderr.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'check-boundaries.mjs');

function check(root: string) {
  const run = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('check-boundaries', () => {
  let tree: string | undefined;
  afterEach(() => {
    if (tree) rmSync(tree, { recursive: true, force: true });
    tree = undefined;
  });

  function write(files: Record<string, string>): string {
    tree = mkdtempSync(join(tmpdir(), 'boundaries-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      writeFileSync(join(tree, path), text);
    }
    return tree;
  }

  it('passes on the repository as it is', () => {
    const run = check(ROOT);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('fails on a service importing another service, naming the file, line and import', () => {
    const root = write({
      'services/registry/server/validate.ts': "import { invalidArgument } from '../../../shared/errors/index.js';\nimport { parseModelConfig } from '../../inference/models/index.js';\n",
      'services/inference/models/index.ts': 'export const parseModelConfig = 1;\n',
      'shared/errors/index.ts': 'export const invalidArgument = 1;\n',
    });
    const run = check(root);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("services/registry/server/validate.ts:2: imports '../../inference/models/index.js' (services/inference/models/index.js)");
    expect(run.stderr).toContain('services/registry may not import');
    expect(run.stderr).not.toContain('shared/errors');
  });

  it('counts type-only, re-export and dynamic imports, and not imports in comments', () => {
    const root = write({
      'services/recommender/a.ts': [
        "// import { x } from '../monitor/x.js';",
        "import type { T } from '../monitor/t.js';",
        "export { R } from '../registry/r.js';",
        "const m = await import('../inference/m.js');",
        "import { own } from './own.js';",
      ].join('\n'),
    });
    const run = check(root);
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines.slice(0, 3).map((l) => l.split(': ')[0])).toEqual(['services/recommender/a.ts:2', 'services/recommender/a.ts:3', 'services/recommender/a.ts:4']);
    expect(lines[3]).toMatch(/^check-boundaries: 3 import\(s\)/);
  });

  it('fails on shared/ importing services/, cli/ or bench/, and lets cli/ and bench/ import services', () => {
    const root = write({
      'shared/nats/x.ts': "import { a } from '../../services/inference/a.js';\nimport { b } from '../../cli/b.js';\nimport { c } from '../../bench/c.js';\nimport { d } from '../errors/d.js';\n",
      'cli/up.ts': "import { a } from '../services/inference/a.js';\n",
      'bench/run.ts': "import { r } from '../services/registry/r.js';\n",
    });
    const run = check(root);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("shared/nats/x.ts:1: imports '../../services/inference/a.js'");
    expect(run.stderr).toContain("shared/nats/x.ts:2: imports '../../cli/b.js'");
    expect(run.stderr).toContain("shared/nats/x.ts:3: imports '../../bench/c.js'");
    expect(run.stderr).not.toContain('cli/up.ts');
    expect(run.stderr).not.toContain('bench/run.ts');
    expect(run.stderr).not.toContain('errors/d.js');
  });
});
