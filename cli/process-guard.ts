// What keeps `infermesh up` from leaving processes behind, whichever way it
// goes: a signal (a terminal's Ctrl-C, a closed terminal's SIGHUP, a service
// manager's SIGTERM), its own crash, or a stdout/stderr pipe whose reader went
// away (`npm start | tee up.log` and Ctrl-C).
import type { Logger } from '../shared/logging/index.js';
import { killGroup } from './child-service.js';

/** Writers to stdout and stderr that never throw. */
export interface GuardedStdio {
  out(text: string): void;
  err(text: string): void;
}

/**
 * Makes a broken stdout or stderr (EPIPE, or any write error) harmless: the
 * error is swallowed, and later writes to that stream are dropped instead of
 * crashing the process (an unhandled 'error' on process.stdout is fatal).
 */
export function guardStdio(): GuardedStdio {
  const writer = (stream: NodeJS.WriteStream) => {
    let broken = false;
    stream.on('error', () => {
      broken = true;
    });
    return (text: string) => {
      if (broken || stream.destroyed) return;
      try {
        stream.write(text);
      } catch {
        broken = true;
      }
    };
  };
  return { out: writer(process.stdout), err: writer(process.stderr) };
}

/**
 * Kills every process group `pids()` names when this process exits for any
 * reason it can see (normal exit, process.exit, an uncaught exception): the
 * last line of defence, after the orderly stop had its chance.
 */
export function killGroupsOnExit(pids: () => readonly number[]): void {
  process.on('exit', () => {
    for (const pid of pids()) killGroup(pid, 'SIGKILL');
  });
}

/**
 * Runs `stop` once on the first SIGINT, SIGTERM or SIGHUP, or on an uncaught
 * exception or unhandled rejection (logged), then exits: 0 after a signal and
 * a clean stop, 1 after a crash or a failed stop. A second signal while
 * stopping exits at once (the exit hook still kills the children).
 */
export function onStopSignalOrCrash(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const begin = (why: Record<string, unknown>, exitCode: number) => {
    if (stopping) {
      logger.warn('asked again while stopping; exiting now', why);
      process.exit(130);
    }
    stopping = true;
    logger.info('stopping', why);
    stop().then(
      () => process.exit(exitCode),
      (err: unknown) => {
        logger.error('stop failed', { err });
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => begin({ signal }, 0));
  process.on('uncaughtException', (err) => {
    logger.error('crashed; stopping every service', { err });
    begin({ reason: 'uncaught exception' }, 1);
  });
  process.on('unhandledRejection', (err) => {
    logger.error('crashed; stopping every service', { err });
    begin({ reason: 'unhandled rejection' }, 1);
  });
}
