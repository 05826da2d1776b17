import type { Logger } from '../../shared/logging/index.js';
import { createModelManager, type ModelManager } from './models/index.js';
import { createInferenceServer, DEFAULT_DRAIN_TIMEOUT_MS, type InferenceServer } from './server/index.js';

/** Options of {@link startInferenceNode}. */
export interface InferenceNodeOptions {
  /** A Triton-style model repository served from the start (optional in mesh mode). */
  repositoryDir?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  grpcPort?: number;
  logger: Logger;
}

/** A running inference node: its model manager, its gRPC server and where it listens. */
export interface InferenceNode {
  manager: ModelManager;
  server: InferenceServer;
  /** `host:port` the gRPC server listens on. */
  grpcAddress: string;
  /** Graceful stop: drain the server (default 10000 ms), then unload every model. Idempotent. */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/**
 * Starts an inference node in this process: loads the repository (models that
 * fail are listed UNAVAILABLE; the rest serve), then serves gRPC. Used by
 * `infermesh serve`, `infermesh up` and tests.
 */
export async function startInferenceNode(options: InferenceNodeOptions): Promise<InferenceNode> {
  const logger = options.logger;
  const manager = createModelManager({ logger: logger.child({ component: 'models' }), ...(options.repositoryDir ? { repositoryDir: options.repositoryDir } : {}) });
  if (options.repositoryDir) await manager.loadRepository();
  const server = createInferenceServer({ manager, logger: logger.child({ component: 'grpc' }), host: options.host ?? '127.0.0.1', port: options.grpcPort ?? 0 });
  let address: { host: string; port: number };
  try {
    address = await server.start();
  } catch (err) {
    await manager.close();
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    manager,
    server,
    grpcAddress: `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`,
    close: (closeOptions = {}) =>
      (closed ??= (async () => {
        await server.close({ drainTimeoutMs: closeOptions.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS });
        await manager.close();
      })()),
  };
}
