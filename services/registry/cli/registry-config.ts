import { parseNatsReplicas } from '../../../shared/nats/index.js';
import { parseDataDirFlag, parseGrpcPortFlag, parseHostOption, parseNatsFlag, parseTelemetryFlags, type TelemetryFlagOptions, type TelemetryFlags } from '../../../shared/flags/index.js';
import { usage, UsageError } from './cli-errors.js';

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
  // A bad flag exits 2 (usage), as commander's own errors do.
  return usage(() => ({
    host: parseHostOption(flags.host),
    grpcPort: parseGrpcPortFlag(flags.grpcPort ?? '0'),
    dataDir: parseDataDirFlag(flags.dataDir),
    natsUrl: parseNatsFlag(flags.nats),
    database: parseDatabase(flags.database),
    maxArtifactBytes: parseSize(flags.maxArtifactBytes ?? '2GiB', '--max-artifact-bytes'),
    natsReplicas: parseNatsReplicas(flags.natsReplicas),
    telemetry: parseTelemetryFlags(flags),
  }));
}

/** `--database`: undefined (SQLite in the data dir), a postgres:// URL or a SQLite file path. */
function parseDatabase(value: string | undefined): string | undefined {
  const database = value || undefined;
  if (database && /^[a-z]+:\/\//.test(database) && !/^postgres(ql)?:\/\//.test(database)) {
    throw new UsageError(`--database must be a postgres:// URL or a SQLite file path, got '${database}'`);
  }
  return database;
}

/** A size in bytes, optionally with a unit (`500MiB`, `2GiB`, `1GB`), more than 0. */
function parseSize(value: string, flag: string): number {
  const size = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = size ? SIZE_UNITS[size[2]!.toLowerCase()] : undefined;
  if (!size || unit === undefined || Number(size[1]) === 0 || !Number.isSafeInteger(Number(size[1]) * unit)) {
    throw new UsageError(`${flag} must be a size like 2147483648, 500MiB or 2GiB, got '${value}'`);
  }
  return Number(size[1]) * unit;
}
