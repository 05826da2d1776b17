import { loadServiceAuth } from '../../../shared/flags/index.js';
import { tokenFromEnv } from '../../../shared/auth/index.js';
import { Option, type Command } from 'commander';
import { createLogger } from '../../../shared/logging/index.js';
import { announce, onShutdownSignal } from '../../../shared/process/index.js';
import { createTelemetry } from '../../../shared/telemetry/index.js';
import {
  addServiceSecurityOptions,
  addSharedOptions,
  clientCredentialsOption,
  loadServiceSecurity,
  addTelemetryOptions,
  parseAddressFlag,
  parseDataDirFlag,
  parseGrpcPortFlag,
  parseHostOption,
  parseNatsFlag,
  parseRegistryFlag,
  parseTelemetryFlags,
} from '../../../shared/flags/index.js';
import { addNatsReplicasOption, parseNatsReplicas } from '../../../shared/nats/index.js';
import { createRecommenderClient } from '../client/index.js';
import { createRecommenderService, DEFAULT_RECOMMENDER_OPTIONS, type RecommenderServiceOptions } from '../service/index.js';
import { parseNumberFlag } from './flags.js';
import { addIalsFlags, parseIalsFlags } from './ials-flags.js';

/** Parses and validates the service flags (one message per bad value). */
export function parseServiceFlags(raw: Record<string, unknown>): RecommenderServiceOptions {
  const modelName = String(raw.modelName);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(modelName)) throw new Error(`--model-name must be letters, digits, '.', '_' or '-', got '${modelName}'`);
  return {
    dataDir: parseDataDirFlag(raw.dataDir),
    natsUrl: parseNatsFlag(raw.nats),
    natsReplicas: parseNatsReplicas(raw.natsReplicas),
    registryAddress: parseRegistryFlag(raw.registry),
    inferenceAddress: parseAddressFlag(raw.inference, '--inference', 'INFERMESH_INFERENCE'),
    host: parseHostOption(raw.host, DEFAULT_RECOMMENDER_OPTIONS.host),
    grpcPort: parseGrpcPortFlag(raw.grpcPort),
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
  addSharedOptions(addIalsFlags(recommender), {
    grpcPort: { default: d.grpcPort },
    host: { default: d.host },
    nats: {},
    registry: {},
    dataDir: { description: 'where the store lives' },
  })
    .addOption(new Option('--inference <host:port>', 'an inference node (scoring goes there)').env('INFERMESH_INFERENCE'))
    .option('--model-name <name>', 'registry model name of the scorer', d.modelName)
    .option('--max-k <n>', 'largest k of a request', String(d.maxK))
    .option('--history-limit <n>', 'latest interactions folded into a user vector', String(d.historyLimit))
    .option('--train-threads <n>', 'threads a training run uses', String(d.trainThreads))
    .option('--retrain-interval-ms <ms>', 'retrain this often when new interactions arrived (0: on demand only)', String(d.retrainIntervalMs));
  addServiceSecurityOptions(addNatsReplicasOption(addTelemetryOptions(recommender))).action(async (raw: Record<string, unknown>) => {
    const options = parseServiceFlags(raw);
    const telemetryFlags = parseTelemetryFlags(raw);
    const security = await loadServiceSecurity(raw, options.natsUrl);
    const logger = createLogger({ fields: { service: 'recommender' } });
    const telemetry = await createTelemetry({ serviceName: 'recommender', ...telemetryFlags, ...security.telemetry, logger });
    const clientCredentials = security.client ? { credentials: security.client.grpc } : {};
    const auth = await loadServiceAuth('recommender', security, { address: options.registryAddress, ...clientCredentials });
    // Its own token (INFERMESH_TOKEN) for its registry and node calls, whether or not it checks tokens itself.
    const ownToken = tokenFromEnv();
    const service = await createRecommenderService({
      ...options,
      natsSecurity: security.nats,
      ...(security.server ? { credentials: security.server.grpc } : {}),
      ...(security.client ? { clientCredentials: security.client.grpc } : {}),
      ...(auth || ownToken !== undefined ? { auth: { ...(auth ? { verifier: auth.verifier } : {}), ...(ownToken !== undefined ? { token: ownToken } : {}) } } : {}),
      logger,
      tracer: telemetry.tracer,
    }).catch(async (err: unknown) => {
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
      const client = createRecommenderClient(parseAddressFlag(raw.server, '--server'), await clientCredentialsOption(raw));
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
