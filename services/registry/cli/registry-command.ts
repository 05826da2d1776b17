import { Command, Option } from 'commander';
import { createLogger } from '../../../shared/logging/index.js';
import { announce, onShutdownSignal } from '../../../shared/process/index.js';
import { createTelemetry } from '../../../shared/telemetry/index.js';
import { addServiceSecurityOptions, addSharedOptions, addTelemetryOptions, loadServiceSecurity } from '../../../shared/flags/index.js';
import { addNatsReplicasOption } from '../../../shared/nats/index.js';
import { createRegistryService } from '../registry-service.js';
import { runVerb, usageExitCodes } from './cli-errors.js';
import { parseRegistryConfig, type RegistryFlags } from './registry-config.js';

/** `infermesh registry`: runs the model registry until SIGTERM/SIGINT. */
export function registryCommand(): Command {
  return usageExitCodes(
    addSharedOptions(addServiceSecurityOptions(addNatsReplicasOption(addTelemetryOptions(new Command('registry')))), {
      grpcPort: { default: 0 },
      host: { description: 'address to bind', default: '127.0.0.1' },
      dataDir: { description: 'artifacts, and the SQLite database unless --database names another' },
      nats: { default: 'nats://127.0.0.1:4222' },
    })
      .description('Run the model registry (gRPC infermesh.registry.v1.ModelRegistry; events on the NATS JetStream stream REGISTRY).')
      .addOption(new Option('--database <url>', 'postgres://user:pass@host:port/db, or a SQLite file (default <data-dir>/registry.db)').env('INFERMESH_DATABASE'))
      .addOption(new Option('--max-artifact-bytes <size>', 'largest ONNX file accepted (bytes, or e.g. 500MiB, 2GiB)').env('INFERMESH_MAX_ARTIFACT_BYTES').default('2GiB'))
      .action((flags: RegistryFlags) =>
        runVerb('registry', async () => {
          const config = parseRegistryConfig(flags);
          const security = await loadServiceSecurity(flags as unknown as Record<string, unknown>, config.natsUrl);
          const logger = createLogger({ fields: { service: 'registry' } });
          const telemetry = await createTelemetry({ serviceName: 'registry', ...config.telemetry, ...security.telemetry, logger });
          const service = await createRegistryService({
            ...config,
            natsSecurity: security.nats,
            ...(security.server ? { credentials: security.server.grpc } : {}),
            // The registry checks tokens with its own key (and writes the first admin token under --data-dir).
            auth: security.auth,
            logger,
            telemetry: { tracer: telemetry.tracer, metrics: telemetry.metrics.registry },
          }).catch(
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
