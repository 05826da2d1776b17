// A service of `infermesh up` run as a child process of the same CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../shared/logging/index.js';
import { parseAnnouncement } from '../shared/process/index.js';
import type { ChildHandle, ExitStatus } from './supervisor.js';

/** This CLI's entry point (dist/cli/main.js), which every child runs with its own verb. */
const CLI_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** Options of {@link startChildService}. */
export interface ChildServiceOptions {
  /** The service's name, as it announces itself (`infermesh <name> ready ...`). */
  name: string;
  /** The verb and its flags, e.g. `['registry', '--grpc-port', '0']`. */
  args: string[];
  /** Extra environment. */
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** Where the child's log lines (its stderr) and other output go. Default: process.stderr. */
  writeLog?: (text: string) => void;
  /** How long the child may take to announce. Default 60000 ms. */
  startTimeoutMs?: number;
}

const DEFAULT_START_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_GRACE_MS = 15_000;

/**
 * Spawns `infermesh <args>` and resolves once it announced. The child gets its
 * own process group, so a terminal's Ctrl-C reaches only `infermesh up`, which
 * then stops the children in order; its stderr (log lines) passes through
 * `writeLog` (never a pipe that could stall the child when up's own stderr
 * goes away). If this process exits without stopping it, its group is killed.
 */
export function startChildService(options: ChildServiceOptions): Promise<ChildHandle> {
  const child: ChildProcess = spawn(process.execPath, [CLI_MAIN, ...options.args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const writeLog = options.writeLog ?? ((text: string) => process.stderr.write(text));
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A spawn failure (EAGAIN, ENOMEM) arrives as 'error', maybe without an 'exit': it ended all the same.
    child.once('error', (err) => {
      options.logger.error('could not run a child service', { child: options.name, err });
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
  const killOnExit = () => killGroup(child.pid, 'SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  child.stderr!.on('data', (chunk: Buffer) => writeLog(chunk.toString()));

  let stopped: Promise<void> | undefined;
  const stop = (graceMs = DEFAULT_STOP_GRACE_MS) =>
    (stopped ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        options.logger.warn('child did not stop in time; killing it', { child: options.name, graceMs });
        killGroup(child.pid, 'SIGKILL');
      }, graceMs);
      timer.unref();
      await exited;
      clearTimeout(timer);
    })());

  return new Promise((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    let ready = false;
    const timer = setTimeout(() => {
      void stop(1000);
      reject(new Error(`${options.name} did not announce within ${timeoutMs} ms`));
    }, timeoutMs);
    void exited.then(({ code, signal }) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`${options.name} exited with ${signal ?? code} before it was ready (its log is above)`));
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const announcement = parseAnnouncement(line);
      if (ready || announcement?.service !== options.name) {
        writeLog(line + '\n');
        return;
      }
      ready = true;
      clearTimeout(timer);
      resolve({ pid: child.pid!, endpoints: announcement.endpoints, exited, stop });
    });
  });
}

/** SIGKILL (or `signal`) to a child's whole process group; no-op when it is gone. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
