// `<data-dir>/up-status.json`: what a running `infermesh up` supervises, for
// a second terminal (`infermesh up status`) and for tests.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatStatusTable, type ServiceStatus } from './supervisor.js';

/** The status file's name inside the data directory. */
export const UP_STATUS_FILE = 'up-status.json';

/** The status file's content. */
export interface UpStatusDocument {
  /** The `infermesh up` process. */
  pid: number;
  /** `starting` until the demo model serves, `ready`, then `stopping` and `stopped`. */
  phase: 'starting' | 'ready' | 'stopping' | 'stopped';
  updatedAt: string;
  services: ServiceStatus[];
}

export function upStatusPath(dataDir: string): string {
  return join(dataDir, UP_STATUS_FILE);
}

/** Writes the document atomically (temp file, rename), so a reader never sees half of it. */
export function writeUpStatus(dataDir: string, doc: Omit<UpStatusDocument, 'updatedAt'>): void {
  const path = upStatusPath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...doc, updatedAt: new Date().toISOString() }, null, 2) + '\n');
  renameSync(tmp, path);
}

/** The status file, or undefined when there is none (no `up` ever ran on this data dir). */
export function readUpStatus(dataDir: string): UpStatusDocument | undefined {
  let text: string;
  try {
    text = readFileSync(upStatusPath(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  return JSON.parse(text) as UpStatusDocument;
}

/** What `infermesh up status` prints; says so when the `up` that wrote the file is gone. */
export function describeUpStatus(doc: UpStatusDocument | undefined, dataDir: string, isAlive: (pid: number) => boolean): { text: string; running: boolean } {
  if (!doc) return { text: `no infermesh up has run with data dir ${dataDir} (no ${UP_STATUS_FILE})\n`, running: false };
  const alive = doc.phase !== 'stopped' && isAlive(doc.pid);
  const head = alive
    ? `infermesh up (pid ${doc.pid}) is ${doc.phase}; as of ${doc.updatedAt}:`
    : `infermesh up (pid ${doc.pid}) is not running (${doc.phase === 'stopped' ? 'stopped' : 'gone without stopping'} at ${doc.updatedAt}); last known state:`;
  return { text: `${head}\n${formatStatusTable(doc.services)}`, running: alive };
}

/** Whether a process exists (signal 0). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
