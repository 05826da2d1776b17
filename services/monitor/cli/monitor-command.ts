import { loadServiceAuth } from '../../../shared/flags/index.js';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { createLogger } from '../../../shared/logging/index.js';
import { announce, onShutdownSignal } from '../../../shared/process/index.js';
import { DEFAULT_SPAN_STORE_OPTIONS } from '../store/index.js';
import { DEFAULT_MONITOR_OPTIONS, startMonitor, type MonitorOptions } from '../monitor.js';
import { parseIntFlag, runCliAction } from './flags.js';
import { connectNats } from '../../../shared/nats/index.js';
import { addServiceSecurityOptions, loadServiceSecurity, parseDataDirFlag, parseHostOption, parseNatsFlag, parseRegistryFlag, sharedOption } from '../../../shared/flags/index.js';
import { DEFAULT_HEALTH_ENGINE_OPTIONS, readAlertRulesFile } from '../health/index.js';

interface MonitorFlags {
  host: string;
  grpcPort: string;
  httpPort: string;
  dataDir?: string;
  retentionHours: string;
  maxSpans: string;
  maxExportBytes: string;
  allowedHost?: string[];
  nats?: string;
  alertRules?: string;
  referenceRecords: string;
  registry?: string;
  healthWindowRecords: string;
  healthEvaluateIntervalMs: string;
}

/** Validates `infermesh monitor` flags into monitor options (one message per bad value). */
export function parseMonitorFlags(flags: MonitorFlags): MonitorOptions & { natsUrl?: string } {
  const retentionHours = Number(flags.retentionHours);
  if (!Number.isFinite(retentionHours) || retentionHours <= 0) throw new Error(`--retention-hours must be a number > 0, got '${flags.retentionHours}'`);
  const registryAddress = parseRegistryFlag(flags.registry, { optional: true });
  const natsUrl = parseNatsFlag(flags.nats, { optional: true });
  return {
    host: parseHostOption(flags.host, DEFAULT_MONITOR_OPTIONS.host),
    // The ports keep the monitor's own wording ("a whole number from 0 to 65535"), which test/integration/monitor-cli.test.ts pins.
    grpcPort: parseIntFlag(flags.grpcPort, '--grpc-port', 0, 65535),
    httpPort: parseIntFlag(flags.httpPort, '--http-port', 0, 65535),
    dataDir: parseDataDirFlag(flags.dataDir, { optional: true }),
    retention: { maxAgeMs: retentionHours * 3_600_000, maxSpans: parseIntFlag(flags.maxSpans, '--max-spans', 1) },
    maxExportBytes: parseIntFlag(flags.maxExportBytes, '--max-export-bytes', 1024),
    ...(flags.allowedHost?.length ? { allowedHosts: flags.allowedHost } : {}),
    ...(registryAddress ? { registryAddress } : {}),
    ...(natsUrl ? { natsUrl } : {}),
    health: {
      ...(flags.alertRules ? { rules: readAlertRulesFile(resolve(flags.alertRules)) } : {}),
      referenceRecords: parseIntFlag(flags.referenceRecords, '--reference-records', 1),
      windowRecords: parseIntFlag(flags.healthWindowRecords, '--health-window-records', 1),
      evaluateIntervalMs: parseIntFlag(flags.healthEvaluateIntervalMs, '--health-evaluate-interval-ms', 10),
    },
  };
}

/** `infermesh monitor`: the OTLP trace receiver, the Monitor API and the operators' web page, until SIGTERM/SIGINT. */
export function monitorCommand(): Command {
  return addServiceSecurityOptions(new Command('monitor'))
    .description('Run the monitor: OTLP/gRPC trace receiver and infermesh.monitor.v1.Monitor on --grpc-port, the web page on --http-port')
    .addOption(sharedOption('host', { description: 'interface to bind (0.0.0.0 to accept spans from other machines)', env: 'INFERMESH_MONITOR_HOST', default: DEFAULT_MONITOR_OPTIONS.host }))
    .addOption(sharedOption('grpcPort', { description: 'OTLP receiver and Monitor API port; 0 = a free port', env: 'INFERMESH_MONITOR_GRPC_PORT', default: DEFAULT_MONITOR_OPTIONS.grpcPort }))
    .addOption(new Option('--http-port <port>', 'web page port; 0 = a free port').env('INFERMESH_MONITOR_HTTP_PORT').default(String(DEFAULT_MONITOR_OPTIONS.httpPort)))
    .addOption(sharedOption('dataDir', { description: 'folder of the span database (spans.sqlite); without it spans are kept in memory' }))
    .addOption(new Option('--retention-hours <hours>', 'traces older than this are pruned').default(String(DEFAULT_SPAN_STORE_OPTIONS.maxAgeMs / 3_600_000)))
    .addOption(new Option('--max-spans <n>', 'spans kept at most (oldest traces pruned first)').default(String(DEFAULT_SPAN_STORE_OPTIONS.maxSpans)))
    .addOption(new Option('--allowed-host <name...>', 'a host name the web page may be reached by (its DNS name in a deployment); IP addresses, localhost and --host always work'))
    .addOption(new Option('--max-export-bytes <n>', 'larger OTLP exports are rejected with INVALID_ARGUMENT').default(String(DEFAULT_MONITOR_OPTIONS.maxExportBytes)))
    .addOption(sharedOption('nats', { description: 'NATS with JetStream: consume prediction records and feedback, publish alerts (without it: no model health from the mesh)' }))
    .addOption(new Option('--alert-rules <file>', 'JSON alert rules { default: {...}, models: { NAME: {...} } } (README: Model health)'))
    .addOption(new Option('--reference-records <n>', 'records that make a version\'s reference when none was given at registration').default(String(DEFAULT_HEALTH_ENGINE_OPTIONS.referenceRecords)))
    .addOption(sharedOption('registry', { description: "the registry: a version's reference data given at registration is asked from it when the version starts serving (without it: SetReference or the first records)" }))
    .addOption(new Option('--health-window-records <n>', 'newest records in the drift window').default(String(DEFAULT_HEALTH_ENGINE_OPTIONS.windowRecords)))
    .addOption(new Option('--health-evaluate-interval-ms <ms>', 'how often drift, quality and alerts are recomputed').default(String(DEFAULT_HEALTH_ENGINE_OPTIONS.evaluateIntervalMs)))
    .action((flags: MonitorFlags) =>
      runCliAction('monitor', async () => {
        const { natsUrl, ...options } = parseMonitorFlags(flags);
        const security = await loadServiceSecurity(flags as unknown as Record<string, unknown>, natsUrl);
        const logger = createLogger({ fields: { service: 'monitor' } });
        if (!options.dataDir) logger.info('no --data-dir: spans are kept in memory and lost on exit');
        const auth = await loadServiceAuth('monitor', security, options.registryAddress ? { address: options.registryAddress, ...(security.client ? { credentials: security.client.grpc } : {}) } : undefined);
        const nc = natsUrl ? await connectNats({ url: natsUrl, name: 'monitor', ...security.nats }) : undefined;
        if (!nc) logger.info('no --nats: no prediction records or feedback from the mesh (SubmitFeedback still works)');
        const monitor = await startMonitor({
          ...options,
          logger,
          ...(nc ? { nc } : {}),
          ...(security.server ? { credentials: security.server.grpc, https: security.server.https } : {}),
          ...(security.client ? { registryCredentials: security.client.grpc } : {}),
          ...(auth ? { auth } : {}),
        });
        onShutdownSignal(async () => {
          await monitor.close();
          await nc?.drain();
        }, logger);
        announce('monitor', { grpc: monitor.grpcAddress, http: monitor.httpAddress });
      }),
    );
}
