// A service of `infermesh up` run as a child process of the same CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../shared/logging/index.js';
import { parseAnnouncement } from '../shared/process/index.js';

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
  /** How long the child may take to announce. Default 60000 ms. */
  startTimeoutMs?: number;
  /** Called when the child exits before stop() was called. */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** A running child service. */
export interface ChildService {
  readonly name: string;
  readonly pid: number;
  /** Endpoints from its announcement line. */
  readonly endpoints: Record<string, string>;
  /** SIGTERM (the child drains), SIGKILL after `graceMs` (default 15000). Resolves when it has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_GRACE_MS = 15_000;

/**
 * Spawns `infermesh <args>` and resolves once it announced. The child gets its
 * own process group, so a terminal's Ctrl-C reaches only `infermesh up`, which
 * then stops the children in order; its stderr (log lines) passes through.
 * If this process exits without stopping it, the child is killed.
 */
export function startChildService(options: ChildServiceOptions): Promise<ChildService> {
  const child: ChildProcess = spawn(process.execPath, [CLI_MAIN, ...options.args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.stderr!.pipe(process.stderr, { end: false });
  child.once('exit', () => process.removeListener('exit', killOnExit));

  const stop = async (graceMs = DEFAULT_STOP_GRACE_MS) => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        options.logger.warn('child did not stop in time; killing it', { child: options.name, graceMs });
        child.kill('SIGKILL');
      }, graceMs);
      timer.unref();
      await exited;
      clearTimeout(timer);
    }
  };

  return new Promise((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const timer = setTimeout(() => {
      void stop(1000);
      reject(new Error(`${options.name} did not announce within ${timeoutMs} ms`));
    }, timeoutMs);
    const failed = (code: number | null) => {
      clearTimeout(timer);
      stopping = true;
      reject(new Error(`${options.name} exited with ${code ?? 'a signal'} before it was ready (its log is above)`));
    };
    child.once('exit', failed);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const announcement = parseAnnouncement(line);
      if (announcement?.service !== options.name) {
        process.stderr.write(line + '\n');
        return;
      }
      clearTimeout(timer);
      child.removeListener('exit', failed);
      child.once('exit', (code, signal) => {
        if (!stopping) options.onUnexpectedExit?.(code, signal);
      });
      let stopped: Promise<void> | undefined;
      resolve({ name: options.name, pid: child.pid!, endpoints: announcement.endpoints, stop: (graceMs) => (stopped ??= stop(graceMs)) });
    });
  });
}
