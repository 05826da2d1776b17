// `infermesh up status`: what a second terminal is told.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeUpStatus, readUpStatus, writeUpStatus } from '../../cli/up-status.js';
import type { ServiceStatus } from '../../cli/supervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'infermesh-up-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const services: ServiceStatus[] = [
  { name: 'registry', plane: 'control', state: 'running', pid: 4242, endpoints: { grpc: '127.0.0.1:50051' }, restarts: 1, lastExit: { code: null, signal: 'SIGKILL', atMs: 1 } },
];

describe('up status', () => {
  it('says when no up ran on the data dir', () => {
    expect(describeUpStatus(readUpStatus(join(dir, 'none')), join(dir, 'none'), () => true)).toMatchObject({ running: false, text: expect.stringMatching(/no infermesh up has run/) });
  });

  it('shows the table of a running up, and says so when the up that wrote it is gone or stopped', () => {
    writeUpStatus(dir, { pid: 99, phase: 'ready', services });
    const doc = readUpStatus(dir)!;
    const running = describeUpStatus(doc, dir, (pid) => pid === 99);
    expect(running.running).toBe(true);
    expect(running.text).toMatch(/infermesh up \(pid 99\) is ready/);
    expect(running.text).toMatch(/registry\s+running\s+4242\s+1\s+signal SIGKILL\s+grpc=127\.0\.0\.1:50051/);
    const gone = describeUpStatus(doc, dir, () => false);
    expect(gone).toMatchObject({ running: false, text: expect.stringMatching(/is not running \(gone without stopping/) });
    writeUpStatus(dir, { pid: 99, phase: 'stopped', services });
    expect(describeUpStatus(readUpStatus(dir), dir, () => true)).toMatchObject({ running: false, text: expect.stringMatching(/not running \(stopped/) });
  });
});
