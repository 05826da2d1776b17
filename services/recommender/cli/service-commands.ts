import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../../../shared/logging/index.js';
import { announce, onShutdownSignal } from '../../../shared/process/index.js';
import { addTelemetryOptions, createTelemetry, parseTelemetryFlags } from '../../../shared/telemetry/index.js';
import { addNatsReplicasOption, parseNatsReplicas } from '../../../shared/nats/index.js';
import { createRecommenderClient } from '../client/index.js';
import { createRecommenderService, DEFAULT_RECOMMENDER_OPTIONS, type RecommenderServiceOptions } from '../service/index.js';
import { parseAddressFlag, parseNumberFlag } from './flags.js';
import { addIalsFlags, parseIalsFlags } from './ials-flags.js';

/** Parses and validates the service flags (one message per bad value). */
export function parseServiceFlags(raw: Record<string, unknown>): RecommenderServiceOptions {
  const need = (v: unknown, flag: string, env: string) => {
    if (typeof v !== 'string' || v === '') throw new Error(`${flag} is required (or set ${env})`);
    return v;
  };
  const modelName = String(raw.modelName);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(modelName)) throw new Error(`--model-name must be letters, digits, '.', '_' or '-', got '${modelName}'`);
  return {
    dataDir: resolve(need(raw.dataDir, '--data-dir', 'INFERMESH_DATA_DIR')),
    natsUrl: need(raw.nats, '--nats', 'NATS_URL'),
    natsReplicas: parseNatsReplicas(raw.natsReplicas),
    registryAddress: parseAddressFlag(need(raw.registry, '--registry', 'INFERMESH_REGISTRY'), '--registry'),
    inferenceAddress: parseAddressFlag(need(raw.inference, '--inference', 'INFERMESH_INFERENCE'), '--inference'),
    host: String(raw.host),
    grpcPort: parseNumberFlag(raw.grpcPort, '--grpc-port', { integer: true, min: 0, max: 65535 }),
    modelName,
    maxK: parseNumberFlag(raw.maxK, '--max-k', { integer: true, min: 1, max: 10_000 }),
    historyLimit: parseNumberFlag(raw.historyLimit, '--history-limit', { integer: true, min: 1, max: 100_000 }),
    retrainIntervalMs: parseNumberFlag(raw.retrainIntervalMs, '--retrain-interval-ms', { integer: true, min: 0 }),
    trainThreads: parseNumberFlag(raw.trainThreads, '--train-threads', { integer: true, min: 1, max: 256 }),
    params: parseIalsFlags(raw),
  };
}

/** Makes `infermesh recommender` (no verb) run the service, and adds `recommender train`. */
export function registerServiceCommands(recommender: Command): void {
  const d = DEFAULT_RECOMMENDER_OPTIONS;
  addIalsFlags(recommender)
    .option('--grpc-port <port>', 'gRPC port (0 = a free port, printed on the ready line)', process.env.INFERMESH_GRPC_PORT ?? '0')
    .option('--host <host>', 'interface to listen on', d.host)
    .option('--nats <url>', 'NATS server with JetStream', process.env.NATS_URL)
    .option('--registry <host:port>', 'the model registry', process.env.INFERMESH_REGISTRY)
    .option('--inference <host:port>', 'an inference node (scoring goes there)', process.env.INFERMESH_INFERENCE)
    .option('--data-dir <dir>', 'where the store lives', process.env.INFERMESH_DATA_DIR)
    .option('--model-name <name>', 'registry model name of the scorer', d.modelName)
    .option('--max-k <n>', 'largest k of a request', String(d.maxK))
    .option('--history-limit <n>', 'latest interactions folded into a user vector', String(d.historyLimit))
    .option('--train-threads <n>', 'threads a training run uses', String(d.trainThreads))
    .option('--retrain-interval-ms <ms>', 'retrain this often when new interactions arrived (0: on demand only)', String(d.retrainIntervalMs));
  addNatsReplicasOption(addTelemetryOptions(recommender)).action(async (raw: Record<string, unknown>) => {
    const options = parseServiceFlags(raw);
    const telemetryFlags = parseTelemetryFlags(raw);
    const logger = createLogger({ fields: { service: 'recommender' } });
    const telemetry = await createTelemetry({ serviceName: 'recommender', ...telemetryFlags, logger });
    const service = await createRecommenderService({ ...options, logger, tracer: telemetry.tracer }).catch(async (err: unknown) => {
      await telemetry.shutdown();
      throw err;
    });
    onShutdownSignal(async () => {
      await service.close();
      await telemetry.shutdown();
    }, logger);
    announce('recommender', { grpc: service.address, ...(telemetry.metricsAddress ? { metrics: telemetry.metricsAddress } : {}) });
  });

  recommender
    .command('train')
    .description('Ask a running recommender to train now; prints progress and the result (version, metrics, promotion)')
    .option('--server <host:port>', 'the recommender', process.env.INFERMESH_RECOMMENDER ?? '127.0.0.1:50061')
    .option('--force', 'promote even when the held-out metrics are worse than production\'s')
    .option('--params-json <json>', 'override training parameters for this run, e.g. \'{"dim":32,"epochs":10}\'', '')
    .action(async (raw: { server: string; force?: boolean; paramsJson: string }) => {
      const client = createRecommenderClient(parseAddressFlag(raw.server, '--server'));
      try {
        const result = await client.train({ force: raw.force === true, paramsJson: raw.paramsJson }, (p) =>
          process.stderr.write(`epoch ${p.epoch}/${p.epochs} loss=${p.loss.toFixed(2)} ${p.seconds.toFixed(2)}s ${p.gflops.toFixed(2)} GFLOP/s\n`),
        );
        process.stdout.write(JSON.stringify(result) + '\n');
      } finally {
        client.close();
      }
    });
}
