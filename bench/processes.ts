import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseAnnouncement } from '../shared/process/index.js';
import type { WorkerReply } from './worker-protocol.js';

/** The CPUs this process may run on (Linux: Cpus_allowed_list), e.g. [0, 1]. */
export function allowedCpus(): number[] {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
    if (line) return parseCpuList(line.split(':')[1]!.trim());
  } catch {
    // Not Linux: no affinity list; the caller runs unpinned.
  }
  return [];
}

/** Parses a CPU list like `0-3,6` (taskset's format). Throws naming the bad part. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`bad CPU list '${text}': '${part}' is not N or N-M`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new Error(`bad CPU list '${text}': '${part}' runs backwards`);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

/** True when `taskset` can be run here. */
export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pins every thread of a running process to `cpus` (no-op for an empty list). */
export function pinProcess(pid: number, cpus: readonly number[]): void {
  if (cpus.length === 0) return;
  execFileSync('taskset', ['-a', '-c', '-p', cpus.join(','), String(pid)], { stdio: 'ignore' });
}

/** A child that announced its endpoints (see shared/process/announce.ts). */
export interface AnnouncedProcess {
  /** The process id (taskset execs the program, so it is the program's own). */
  readonly pid: number;
  readonly endpoints: Record<string, string>;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns `node script args` (under `taskset -c cpus` when given) and resolves once it announces. */
export function spawnAnnounced(
  script: string,
  args: readonly string[],
  cpus: readonly number[],
  options: { nodeArgs?: readonly string[]; timeoutMs?: number } = {},
): Promise<AnnouncedProcess> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const nodeArgv = [...(options.nodeArgs ?? []), script, ...args];
  const [cmd, argv] = cpus.length ? ['taskset', ['-c', cpus.join(','), process.execPath, ...nodeArgv]] : [process.execPath, nodeArgv];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${script} ${args.join(' ')} did not announce within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += line + '\n';
      const ann = parseAnnouncement(line);
      if (ann) {
        clearTimeout(timer);
        resolve({ pid: child.pid!, endpoints: ann.endpoints, output: () => output, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} ${args.join(' ')} exited with ${code} before announcing:\n${output}`));
    });
  });
}

/** A forked benchmark worker (load-client.js, compute-worker.js) answering one command at a time over IPC. */
export interface Worker {
  readonly pid: number;
  call<C extends { kind: string }>(command: C): Promise<WorkerReply>;
  close(): Promise<void>;
}

export function forkWorker(script: string, cpus: readonly number[]): Worker {
  const child: ChildProcess = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } });
  pinProcess(child.pid!, cpus);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    call: (command) =>
      new Promise<WorkerReply>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`${script} exited with ${code} during ${command.kind}`));
        child.once('exit', onExit);
        child.once('message', (reply: WorkerReply) => {
          child.off('exit', onExit);
          if (reply.kind === 'error') reject(new Error(`${script}: ${reply.message}`));
          else resolve(reply);
        });
        child.send(command);
      }),
    close: async () => {
      if (child.connected) child.disconnect();
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}
