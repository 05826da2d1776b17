import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseAnnouncement } from '../../shared/process/index.js';

/** The compiled CLI; `npm test` builds it before vitest runs. */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  /** Endpoints from the process's announcement line, e.g. `{ grpc: '127.0.0.1:40123' }`. */
  endpoints: Record<string, string>;
  /** Everything the process wrote so far (stdout and stderr), for assertions and failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. Idempotent. */
  stop(graceMs?: number): Promise<number | null>;
}

/** The address a process announced under `name`; throws, naming what it did announce, when there is none. */
export function endpointOf(p: Pick<ServiceProcess, 'endpoints'>, name: string): string {
  const address = p.endpoints[name];
  if (address === undefined) throw new Error(`the process announced no '${name}' endpoint (it announced: ${Object.keys(p.endpoints).join(', ') || 'none'})`);
  return address;
}

/**
 * Runs `infermesh <args>` as a child process and resolves once it prints its
 * announcement line (see shared/process/announce.ts). Rejects with the
 * process's output if it exits first or takes longer than `timeoutMs`.
 */
export function spawnService(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; /** Another build's main.js. Default CLI. */ cli?: string; /** Command prefix, e.g. `ip netns exec NS`. */ launcher?: string[] } = {}): Promise<ServiceProcess> {
  const cli = options.cli ?? CLI;
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  const argv = [...(options.launcher ?? []), process.execPath, cli, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let exited: Promise<number | null> | undefined;
  const exitPromise = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = (graceMs = 10_000) => {
    exited ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const code = await exitPromise;
        clearTimeout(timer);
        return code;
      }
      return child.exitCode;
    })();
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(1000);
      reject(new Error(`infermesh ${args.join(' ')} did not announce within ${options.timeoutMs ?? 30_000} ms:\n${output}`));
    }, options.timeoutMs ?? 30_000);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      output += line + '\n';
      const ann = parseAnnouncement(line);
      if (ann) {
        clearTimeout(timer);
        resolve({ child, endpoints: ann.endpoints, output: () => output, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`infermesh ${args.join(' ')} exited with ${code} before announcing:\n${output}`));
    });
  });
}
