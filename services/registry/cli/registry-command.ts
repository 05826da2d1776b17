import { Command, Option } from 'commander';
import { createLogger } from '../../../shared/logging/index.js';
import { announce, onShutdownSignal } from '../../../shared/process/index.js';
import { addTelemetryOptions, createTelemetry } from '../../../shared/telemetry/index.js';
import { addNatsReplicasOption } from '../../../shared/nats/index.js';
import { createRegistryService } from '../registry-service.js';
import { runVerb, usageExitCodes } from './cli-errors.js';
import { parseRegistryConfig, type RegistryFlags } from './registry-config.js';

/** `infermesh registry`: runs the model registry until SIGTERM/SIGINT. */
export function registryCommand(): Command {
  return usageExitCodes(
    addNatsReplicasOption(addTelemetryOptions(new Command('registry')))
      .description('Run the model registry (gRPC infermesh.registry.v1.ModelRegistry; events on the NATS JetStream stream REGISTRY).')
      .addOption(new Option('--grpc-port <port>', 'gRPC port; 0 picks a free one (printed on the ready line)').env('INFERMESH_GRPC_PORT').default('0'))
      .addOption(new Option('--host <host>', 'address to bind').env('INFERMESH_HOST').default('127.0.0.1'))
      .addOption(new Option('--data-dir <dir>', 'artifacts, and the SQLite database unless --database names another').env('INFERMESH_DATA_DIR'))
      .addOption(new Option('--nats <url>', 'NATS server with JetStream').env('NATS_URL').default('nats://127.0.0.1:4222'))
      .addOption(new Option('--database <url>', 'postgres://user:pass@host:port/db, or a SQLite file (default <data-dir>/registry.db)').env('INFERMESH_DATABASE'))
      .addOption(new Option('--max-artifact-bytes <size>', 'largest ONNX file accepted (bytes, or e.g. 500MiB, 2GiB)').env('INFERMESH_MAX_ARTIFACT_BYTES').default('2GiB'))
      .action((flags: RegistryFlags) =>
        runVerb('registry', async () => {
          const config = parseRegistryConfig(flags);
          const logger = createLogger({ fields: { service: 'registry' } });
          const telemetry = await createTelemetry({ serviceName: 'registry', ...config.telemetry, logger });
          const service = await createRegistryService({ ...config, logger, telemetry: { tracer: telemetry.tracer, metrics: telemetry.metrics.registry } }).catch(
            async (err: unknown) => {
              await telemetry.shutdown();
              throw err;
            },
          );
          announce('registry', {
            grpc: service.address,
            ...(telemetry.metricsAddress ? { metrics: telemetry.metricsAddress } : {}),
            // Serving without NATS: changes commit, and their events wait in the outbox until NATS is back.
            ...(service.nats ? {} : { nats: 'unreachable', events: 'pending' }),
          });
          onShutdownSignal(async () => {
            await service.close();
            await telemetry.shutdown();
          }, logger);
        }),
      ),
  );
}
