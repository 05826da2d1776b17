import { parseNatsReplicas } from '../../../shared/nats/index.js';
import { parseTelemetryFlags, type TelemetryFlagOptions, type TelemetryFlags } from '../../../shared/telemetry/index.js';
import { UsageError } from './cli-errors.js';

/** The registry process's settings, from flags and environment, validated. */
export interface RegistryConfig {
  host: string;
  grpcPort: number;
  dataDir: string;
  natsUrl: string;
  /** Undefined: SQLite at `<dataDir>/registry.db`. */
  database?: string;
  maxArtifactBytes: number;
  /** --nats-replicas: copies of the REGISTRY stream. */
  natsReplicas: number;
  /** --otlp-endpoint, --trace-sampling, --metrics-port, --trace-export-delay-ms. */
  telemetry: TelemetryFlagOptions;
}

/** The raw flag values (commander already applied the environment mirrors). */
export interface RegistryFlags extends TelemetryFlags {
  host?: string;
  grpcPort?: string;
  dataDir?: string;
  nats?: string;
  database?: string;
  maxArtifactBytes?: string;
  natsReplicas?: string;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** Validates the registry's flags; a UsageError names the bad one and what was expected. */
export function parseRegistryConfig(flags: RegistryFlags): RegistryConfig {
  const port = Number(flags.grpcPort ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535 || String(flags.grpcPort ?? '0').trim() === '') {
    throw new UsageError(`--grpc-port must be a port number 0-65535 (0 picks a free one), got '${flags.grpcPort}'`);
  }
  const dataDir = flags.dataDir ?? '';
  if (!dataDir) throw new UsageError('--data-dir DIR (or INFERMESH_DATA_DIR) is required: where artifacts and the SQLite database live');
  const natsUrl = flags.nats ?? '';
  if (!/^(nats|tls|ws|wss):\/\/[^\s]+$/.test(natsUrl.split(',')[0]!.trim())) {
    throw new UsageError(`--nats (or NATS_URL) must be a URL like nats://127.0.0.1:4222, got '${natsUrl}'`);
  }
  const database = flags.database || undefined;
  if (database && /^[a-z]+:\/\//.test(database) && !/^postgres(ql)?:\/\//.test(database)) {
    throw new UsageError(`--database must be a postgres:// URL or a SQLite file path, got '${database}'`);
  }
  const size = /^(\d+)\s*([a-z]*)$/i.exec((flags.maxArtifactBytes ?? '2GiB').trim());
  const unit = size ? SIZE_UNITS[size[2]!.toLowerCase()] : undefined;
  if (!size || unit === undefined || Number(size[1]) === 0 || !Number.isSafeInteger(Number(size[1]) * unit)) {
    throw new UsageError(`--max-artifact-bytes must be a size like 2147483648, 500MiB or 2GiB, got '${flags.maxArtifactBytes}'`);
  }
  let telemetry: TelemetryFlagOptions;
  let natsReplicas: number;
  try {
    telemetry = parseTelemetryFlags(flags);
    natsReplicas = parseNatsReplicas(flags.natsReplicas);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { host: flags.host || '127.0.0.1', grpcPort: port, dataDir, natsUrl, database, maxArtifactBytes: Number(size[1]) * unit, natsReplicas, telemetry };
}
