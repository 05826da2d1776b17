// `infermesh recommender synth` and `eval` as a user runs them: files in the NCF
// format, HR/NDCG of iALS against popularity, and clear errors for bad flags.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/service-process.js';
import { tempDirs } from './mesh-fixtures.js';

const run = promisify(execFile);
const dirs = tempDirs();
afterAll(() => dirs.cleanup());

describe('infermesh recommender synth | eval', () => {
  it('writes NCF files and evaluates iALS against the popularity baseline on them', async () => {
    const out = dirs.make('rec-cli-');
    const synth = await run(process.execPath, [CLI, 'recommender', 'synth', '--users', '300', '--items', '400', '--interactions', '15000', '--dim', '8', '--out', out]);
    expect(JSON.parse(synth.stdout).testInteractions).toBe(300);
    expect(readFileSync(`${out}/test.negative`, 'utf8').split('\n')[0]).toMatch(/^\(0,\d+\)(\t\d+){99}$/);
    const evalRun = await run(process.execPath, [
      CLI, 'recommender', 'eval', '--train', `${out}/train.rating`, '--test', `${out}/test.rating`, '--negatives', `${out}/test.negative`, '--dim', '16', '--epochs', '5',
    ]);
    expect(evalRun.stdout).toMatch(/^model\s+HR@10\s+NDCG@10/);
    const report = JSON.parse(evalRun.stdout.trim().split('\n').at(-1)!);
    expect(report.epochs).toHaveLength(5);
    expect(report.ials.cases).toBe(300);
    expect(report.ials.hitRate).toBeGreaterThan(report.popularity.hitRate + 0.15);
    expect(evalRun.stderr).toMatch(/"msg":"epoch"/); // progress per epoch on the log
  });

  it('exits non-zero naming the bad flag or file', async () => {
    const bad = await run(process.execPath, [CLI, 'recommender', 'eval', '--train', 'x', '--negatives', 'y', '--k', '0']).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).not.toBe(0);
    expect((bad as { stderr: string }).stderr).toMatch(/--k must be an integer ≥ 1/);
    const missing = await run(process.execPath, [CLI, 'recommender', 'eval', '--train', '/nonexistent/train.rating', '--negatives', 'y']).catch((e: { code: number; stderr: string }) => e);
    expect((missing as { stderr: string }).stderr).toMatch(/nonexistent/);
  });
});
