// A client in another language over REST: test/fixtures/rest_python_client.py,
// written from the Open Inference Protocol text and Triton's binary tensor
// extension with urllib, json, struct and numpy (nothing of infermesh), against
// the real inference node in-process. The script runs every check and prints
// one JSON object; each check is one test here.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { DATATYPES } from '../../shared/onnx/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { standardTestModels, writeTestRepository } from '../fixtures/models.js';

const run = promisify(execFile);

/** Debian's Python, where python3-numpy installs (not a pyenv one first on PATH). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../fixtures/rest_python_client.py', import.meta.url));

interface CheckResult {
  name: string;
  ok: boolean;
  details: unknown;
  trace?: string;
}

const EXPECTED_CHECKS = [
  'server',
  'model metadata and config',
  'requested outputs, binary and JSON',
  'errors',
  'statistics',
  ...DATATYPES.flatMap((dt) => [`JSON ${dt}`, `binary ${dt}`]),
];

let repo: string | undefined;
let node: InferenceNode | undefined;
let results: Map<string, CheckResult> | undefined;
/** Why the set-up failed (no numpy, script error): every test fails with it rather than being skipped. */
let setupError: unknown;

beforeAll(async () => {
  try {
    await run(PYTHON, ['-c', 'import numpy'], { timeout: 30_000 }).catch((err: unknown) => {
      throw new Error(`${PYTHON} cannot import numpy, which this test needs; install it with: apt-get install -y python3-numpy`, { cause: err });
    });
    repo = await writeTestRepository(standardTestModels());
    node = await startInferenceNode({ repositoryDir: repo, httpPort: 0, logger: silentLogger });
    // execFile, not execFileSync: the server answers on this process's event loop.
    const { stdout } = await run(PYTHON, [SCRIPT, '--url', `http://${node.httpAddress!}`, '--datatypes', DATATYPES.join(',')], {
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const printed = JSON.parse(stdout) as { checks: CheckResult[] };
    results = new Map(printed.checks.map((c) => [c.name, c]));
  } catch (err) {
    setupError = err;
  }
}, 180_000);

afterAll(async () => {
  await node?.close({ drainTimeoutMs: 2000 });
  if (repo) await rm(repo, { recursive: true, force: true });
});

function checks(): Map<string, CheckResult> {
  if (setupError !== undefined) throw setupError;
  return results!;
}

describe('a Python REST client written from the protocol text (urllib + numpy)', () => {
  it('reports exactly the expected checks', () => {
    expect([...checks().keys()].sort()).toEqual([...EXPECTED_CHECKS].sort());
  });

  it.each(EXPECTED_CHECKS)('%s', (name) => {
    const check = checks().get(name);
    expect(check, `the script reported no check '${name}'`).toBeDefined();
    expect(check!.ok, `${name} failed: ${JSON.stringify(check!.details)}\n${check!.trace ?? ''}`).toBe(true);
  });
});
