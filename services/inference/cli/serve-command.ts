import { loadServiceAuth } from '../../../shared/flags/index.js';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../../../shared/logging/index.js';
import { announce } from '../../../shared/process/index.js';
import { createTelemetry } from '../../../shared/telemetry/index.js';
import { addServiceSecurityOptions, addSharedOptions, addTelemetryOptions, loadServiceSecurity, parseGrpcPortFlag, parseHostOption, parseNatsFlag, parsePositiveInt, parseTelemetryFlags, type TelemetryFlagOptions } from '../../../shared/flags/index.js';
import { startNodeProcess } from './start-node.js';
import { addNodeLimitOptions, parseNodeLimitFlags, type NodeLimitFlags } from './flags.js';
import { connectNats } from '../../../shared/nats/index.js';
import { readRecordHashKey } from '../records/index.js';
import { addHttpOptions, httpNodeOptions, parseHttpFlags, type HttpFlags } from './http-flags.js';

/** Options of `infermesh serve`, validated. */
export interface ServeOptions {
  modelRepository: string;
  host: string;
  grpcPort: number;
  drainTimeoutMs: number;
  /** --max-request-bytes, --max-queued-request-bytes, --model-control. */
  limits: NodeLimitFlags;
  /** --otlp-endpoint, --trace-sampling, --metrics-port, --trace-export-delay-ms. */
  telemetry: TelemetryFlagOptions;
  /** --nats: where prediction records go (none: no records). */
  natsUrl: string | undefined;
  /** --record-hash-key-file. */
  recordHashKeyFile: string | undefined;
  /** --http-port, --http-max-body-bytes, --http-request-timeout-ms. */
  http: HttpFlags;
}

/** Parses and validates `infermesh serve` flags (one message per bad value). */
export function parseServeOptions(raw: Record<string, unknown>): ServeOptions {
  const repo = raw.modelRepository;
  if (typeof repo !== 'string' || repo === '') throw new Error('--model-repository DIR is required');
  return {
    modelRepository: resolve(repo),
    host: parseHostOption(raw.host),
    grpcPort: parseGrpcPortFlag(raw.grpcPort),
    drainTimeoutMs: parsePositiveInt(raw.drainTimeoutMs, '--drain-timeout-ms'),
    limits: parseNodeLimitFlags(raw),
    telemetry: parseTelemetryFlags(raw),
    natsUrl: parseNatsFlag(raw.nats, { optional: true }),
    recordHashKeyFile: typeof raw.recordHashKeyFile === 'string' && raw.recordHashKeyFile !== '' ? resolve(raw.recordHashKeyFile) : undefined,
    http: parseHttpFlags(raw),
  };
}

/** Registers `infermesh serve`. */
export function registerServeCommand(program: Command): void {
  const command = program
    .command('serve')
    .description('Serve every model of a Triton-style model repository (DIR/<model>/<version>/model.onnx) over KServe v2 gRPC')
    .requiredOption('--model-repository <dir>', 'model repository directory');
  addSharedOptions(command, {
    host: { default: '127.0.0.1' },
    grpcPort: { default: 8001 },
    nats: { description: 'NATS server with JetStream for prediction records (none: no records)' },
  })
    .option('--drain-timeout-ms <ms>', 'on SIGTERM/SIGINT, how long calls in flight may take to finish', '10000')
    .option('--record-hash-key-file <file>', 'key of the HMAC for inputs a records.redact rule hashes (or INFERMESH_RECORD_HASH_KEY)');
  addServiceSecurityOptions(addTelemetryOptions(addHttpOptions(addNodeLimitOptions(command))), { anonymousInference: true }).action(async (raw: Record<string, unknown>) => {
    const options = parseServeOptions(raw);
    const security = await loadServiceSecurity(raw, options.natsUrl);
    const logger = createLogger({ fields: { service: 'inference' } });
    const telemetry = await createTelemetry({ serviceName: 'inference', ...options.telemetry, ...security.telemetry, logger });
    const hashKey = await readRecordHashKey(options.recordHashKeyFile, process.env.INFERMESH_RECORD_HASH_KEY);
    const auth = await loadServiceAuth('serve', security);
    const nc = options.natsUrl ? await connectNats({ url: options.natsUrl, name: 'inference-serve', ...security.nats }) : undefined;
    const records = nc ? { records: { nc, ...(hashKey ? { hashKey } : {}) } } : {};
    const node = await startNodeProcess(
      {
        repositoryDir: options.modelRepository,
        host: options.host,
        grpcPort: options.grpcPort,
        ...httpNodeOptions(options.http),
        ...(security.server ? { credentials: security.server.grpc, https: security.server.https } : {}),
        logger,
        ...options.limits,
        ...records,
        // Revocations are followed on the records' NATS connection, when there is one.
        ...(auth ? { auth: { ...auth, ...(nc ? { revocations: nc } : {}) } } : {}),
      },
      telemetry,
      options.drainTimeoutMs,
      // The records' connection belongs to this entry point (the node does not close it).
      async () => {
        await nc?.drain().catch(() => undefined);
      },
    );
    for (const s of node.manager.list()) {
      if (s.state !== 'READY') logger.warn('model not serving', { model: s.model, version: s.version, reason: s.reason });
    }
    announce('inference', { grpc: node.grpcAddress, ...(node.httpAddress ? { http: node.httpAddress } : {}), ...(telemetry.metricsAddress ? { metrics: telemetry.metricsAddress } : {}) });
  });
}
