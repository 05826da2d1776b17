import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI } from './service-process.js';

const run = promisify(execFile);

/** Runs `infermesh ARGS` (dist/cli/main.js) to completion: its stdout, stderr and exit code. */
export async function runCli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}
