import type { Server } from '@grpc/grpc-js';

/**
 * Stops a grpc-js server gracefully: no new calls, calls in flight may finish
 * for `drainTimeoutMs`, then whatever is left is cut off (forceShutdown).
 * Resolves `'drained'` or `'forced'` so the caller can log which it was.
 */
export function shutdownGrpcServer(server: Server, drainTimeoutMs: number): Promise<'drained' | 'forced'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve('forced');
    }, drainTimeoutMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve('drained');
    });
  });
}
