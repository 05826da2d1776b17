import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { parseAddressFlag, parseHostFlag, parseNatsUrlFlag, parsePort } from './flag-values.js';

/** A flag every service spells the same way, with the environment variable that mirrors it. */
export interface SharedFlag {
  /** commander's spelling, e.g. `--grpc-port <port>`. */
  readonly flags: string;
  readonly env: string;
  readonly description: string;
}

/**
 * The flags the services share: each has one name, one environment mirror
 * (a service may name another, e.g. the monitor's INFERMESH_MONITOR_GRPC_PORT,
 * so that it does not take the node's settings when both run in one shell),
 * one parser below and one message per bad value.
 *
 * | flag | env | takes |
 * | --- | --- | --- |
 * | `--grpc-port PORT` | `INFERMESH_GRPC_PORT` | 0-65535, 0 = a free port |
 * | `--host HOST` | `INFERMESH_HOST` | an interface (host name or IP) |
 * | `--nats URL` | `NATS_URL` | nats:// or tls://, comma-separated for a cluster |
 * | `--registry HOST:PORT` | `INFERMESH_REGISTRY` | the registry's address |
 * | `--data-dir DIR` | `INFERMESH_DATA_DIR` | a folder (resolved against the cwd) |
 *
 * The telemetry flags (`--otlp-endpoint`, `--trace-sampling`, `--metrics-port`,
 * `--trace-export-delay-ms`) come with {@link addTelemetryOptions}.
 */
export const SHARED_FLAGS = Object.freeze({
  grpcPort: { flags: '--grpc-port <port>', env: 'INFERMESH_GRPC_PORT', description: 'gRPC port (0 = a free port, printed on the ready line)' },
  host: { flags: '--host <host>', env: 'INFERMESH_HOST', description: 'interface to listen on' },
  nats: { flags: '--nats <url>', env: 'NATS_URL', description: 'NATS server with JetStream (nats:// or tls://; comma-separated for a cluster)' },
  registry: { flags: '--registry <host:port>', env: 'INFERMESH_REGISTRY', description: 'the model registry' },
  dataDir: { flags: '--data-dir <dir>', env: 'INFERMESH_DATA_DIR', description: 'where the service keeps its data' },
} satisfies Record<string, SharedFlag>);

/** The name of a shared flag in {@link SHARED_FLAGS} (commander's attribute name of the flag). */
export type SharedFlagName = keyof typeof SHARED_FLAGS;

/** How one service takes a shared flag: its own help text, default, or environment mirror. */
export interface SharedOptionSettings {
  description?: string;
  default?: string | number;
  /** Another environment variable than the flag's own. */
  env?: string;
}

/** A commander Option for a shared flag, with its environment mirror (which wins over the default). */
export function sharedOption(name: SharedFlagName, settings: SharedOptionSettings = {}): Option {
  const def = SHARED_FLAGS[name];
  const option = new Option(def.flags, settings.description ?? def.description).env(settings.env ?? def.env);
  return settings.default === undefined ? option : option.default(String(settings.default));
}

/** Adds the named shared flags to `command`, in the order given. */
export function addSharedOptions<C extends Command>(command: C, flags: Partial<Record<SharedFlagName, SharedOptionSettings>>): C {
  for (const [name, settings] of Object.entries(flags) as Array<[SharedFlagName, SharedOptionSettings]>) command.addOption(sharedOption(name, settings));
  return command;
}

/** Whether a flag was left out (commander gives undefined; an empty environment variable gives ''). */
function absent(value: unknown): boolean {
  return value === undefined || value === '';
}

/** `--grpc-port`: 0-65535. */
export function parseGrpcPortFlag(value: unknown): number {
  return parsePort(value, '--grpc-port');
}

/** `--host`: a host name or IP address; absent gives `fallback` (default 127.0.0.1). */
export function parseHostOption(value: unknown, fallback = '127.0.0.1'): string {
  return absent(value) ? fallback : parseHostFlag(value, '--host');
}

/** Settings of the parsers of flags a service may take as optional. */
export interface FlagPresence {
  /** Absent gives undefined instead of an error. Default false. */
  optional?: boolean;
  /** The environment mirror the message names, when not the flag's own. */
  env?: string;
}

/** `--nats`: a NATS URL (see {@link parseNatsUrlFlag}); required unless `optional`. */
export function parseNatsFlag(value: unknown, presence?: FlagPresence & { optional?: false }): string;
export function parseNatsFlag(value: unknown, presence: FlagPresence): string | undefined;
export function parseNatsFlag(value: unknown, presence: FlagPresence = {}): string | undefined {
  if (presence.optional && absent(value)) return undefined;
  return parseNatsUrlFlag(value, '--nats', presence.env ?? SHARED_FLAGS.nats.env);
}

/** `--registry`: HOST:PORT of the registry; required unless `optional`. */
export function parseRegistryFlag(value: unknown, presence?: FlagPresence & { optional?: false }): string;
export function parseRegistryFlag(value: unknown, presence: FlagPresence): string | undefined;
export function parseRegistryFlag(value: unknown, presence: FlagPresence = {}): string | undefined {
  if (presence.optional && absent(value)) return undefined;
  return parseAddressFlag(value, '--registry', presence.env ?? SHARED_FLAGS.registry.env);
}

/** `--data-dir`: a folder, resolved to an absolute path; required unless `optional`. */
export function parseDataDirFlag(value: unknown, presence?: FlagPresence & { optional?: false }): string;
export function parseDataDirFlag(value: unknown, presence: FlagPresence): string | undefined;
export function parseDataDirFlag(value: unknown, presence: FlagPresence = {}): string | undefined {
  if (absent(value) || String(value).trim() === '') {
    if (presence.optional) return undefined;
    throw new Error(`--data-dir DIR is required (or set ${presence.env ?? SHARED_FLAGS.dataDir.env}), got '${value === undefined ? '' : String(value)}'`);
  }
  return resolve(String(value));
}
