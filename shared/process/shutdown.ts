import type { Logger } from '../logging/index.js';

/**
 * Runs `stop` once on the first SIGTERM or SIGINT, then exits 0 (or 1 when
 * `stop` fails). A second signal while stopping exits at once with 130.
 */
export function onShutdownSignal(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('second signal while stopping; exiting now', { signal });
      process.exit(130);
    }
    stopping = true;
    logger.info('stopping', { signal });
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('stop failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
