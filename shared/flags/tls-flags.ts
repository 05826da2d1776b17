import { ANONYMOUS_MODELS_FLAG, parseModelPatterns, splitModelPatterns, tokenFromEnv } from '../auth/index.js';
import type { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { Option, type Command } from 'commander';
import { InfermeshError } from '../errors/index.js';
import type { ConnectNatsOptions } from '../nats/index.js';
import {
  NATS_NKEY_ENV,
  TLS_ENV,
  grpcChannelCredentials,
  grpcServerCredentials,
  httpsServerOptions,
  loadClientTls,
  loadNatsSecurity,
  loadServerTls,
  resolveClientTlsFiles,
  resolveServerTlsFiles,
  type ClientTls,
} from '../tls/index.js';

/**
 * The security flags, spelled once for every command:
 *
 * | flag | env | on |
 * | --- | --- | --- |
 * | `--tls-cert FILE` | `INFERMESH_TLS_CERT` | servers: PEM certificate (chain); with `--tls-key` the gRPC port, REST, the web page and `/metrics` serve TLS |
 * | `--tls-key FILE` | `INFERMESH_TLS_KEY` | servers: its PEM private key |
 * | `--tls-client-ca FILE` | `INFERMESH_TLS_CLIENT_CA` | servers: ask every client for a certificate from this CA (mTLS) |
 * | `--tls-ca FILE` | `INFERMESH_TLS_CA` | clients: trust this CA (with it, calls use TLS) |
 * | `--tls-client-cert FILE` | `INFERMESH_TLS_CLIENT_CERT` | clients: the certificate shown to an mTLS server |
 * | `--tls-client-key FILE` | `INFERMESH_TLS_CLIENT_KEY` | clients: its key |
 * | `--nats-nkey FILE` | `INFERMESH_NATS_NKEY` | services: the NATS nkey seed this service logs in with |
 * | `--auth` | `INFERMESH_AUTH` | servers: require `authorization: Bearer` tokens |
 * | `--auth-public-key FILE` | `INFERMESH_AUTH_PUBLIC_KEY` | servers: the registry's token public key (PEM); without it a service that knows the registry fetches it (`GetPublicKey`) |
 * | `--auth-anonymous-models PATTERNS` | `INFERMESH_AUTH_ANONYMOUS_MODELS` | inference nodes with `--auth`: models (comma-separated globs) that `ModelInfer`/`ModelStreamInfer`/REST infer serve without a token; default none |
 *
 * NATS over TLS: a `tls://HOST:PORT` `--nats` URL, with the client TLS files
 * above (`--tls-ca`, and the client certificate when nats-server verifies
 * clients). A `nats://` URL stays plaintext, so one TLS setting for gRPC does
 * not break a plaintext NATS.
 */
export const SECURITY_FLAGS = Object.freeze({
  tlsCert: { flags: '--tls-cert <file>', env: TLS_ENV.cert, description: 'serve TLS with this PEM certificate (gRPC, and REST, web page and /metrics over HTTPS); needs --tls-key' },
  tlsKey: { flags: '--tls-key <file>', env: TLS_ENV.key, description: 'PEM private key of --tls-cert' },
  tlsClientCa: { flags: '--tls-client-ca <file>', env: TLS_ENV.clientCa, description: 'require client certificates signed by this PEM CA (mTLS)' },
  tlsCa: { flags: '--tls-ca <file>', env: TLS_ENV.ca, description: "call servers over TLS, trusting this PEM CA (the servers' certificates must chain to it)" },
  tlsClientCert: { flags: '--tls-client-cert <file>', env: TLS_ENV.clientCert, description: 'PEM client certificate shown to servers that require mTLS; needs --tls-client-key' },
  tlsClientKey: { flags: '--tls-client-key <file>', env: TLS_ENV.clientKey, description: 'PEM private key of --tls-client-cert' },
  natsNkey: { flags: '--nats-nkey <file>', env: NATS_NKEY_ENV, description: 'NATS nkey seed file this service logs in with (nats-server with nkey users)' },
  auth: { flags: '--auth', env: 'INFERMESH_AUTH', description: 'require a token (authorization: Bearer, issued by the registry) on every call' },
  authPublicKey: {
    flags: '--auth-public-key <file>',
    env: 'INFERMESH_AUTH_PUBLIC_KEY',
    description: "with --auth: the registry's token public key (PEM); default: fetched from --registry (GetPublicKey)",
  },
  authAnonymousModels: {
    flags: `${ANONYMOUS_MODELS_FLAG} <patterns>`,
    env: 'INFERMESH_AUTH_ANONYMOUS_MODELS',
    description: 'with --auth: models (comma-separated globs, as in token model patterns) that inference calls may use without a token; every other model and every other method still needs one (default: none)',
  },
} as const);

const option = (name: keyof typeof SECURITY_FLAGS) => new Option(SECURITY_FLAGS[name].flags, SECURITY_FLAGS[name].description).env(SECURITY_FLAGS[name].env);

/** Adds `--tls-cert`, `--tls-key` and `--tls-client-ca` (a server's TLS). */
export function addServerTlsOptions<C extends Command>(command: C): C {
  command.addOption(option('tlsCert')).addOption(option('tlsKey')).addOption(option('tlsClientCa'));
  return command;
}

/** Adds `--tls-ca`, `--tls-client-cert` and `--tls-client-key` (a client's TLS). */
export function addClientTlsOptions<C extends Command>(command: C): C {
  command.addOption(option('tlsCa')).addOption(option('tlsClientCert')).addOption(option('tlsClientKey'));
  return command;
}

/**
 * Adds what a verb that talks to NATS only needs (`models placement`, `alerts watch`):
 * the client TLS flags (used over a `tls://` URL) and `--nats-nkey`.
 */
export function addNatsClientOptions<C extends Command>(command: C): C {
  addClientTlsOptions(command).addOption(option('natsNkey'));
  return command;
}

/**
 * Adds a service's security flags: server TLS, client TLS (its calls to other services and NATS), `--nats-nkey` and `--auth`;
 * with `anonymousInference` (the inference node's commands) also `--auth-anonymous-models`.
 */
export function addServiceSecurityOptions<C extends Command>(command: C, options: { anonymousInference?: boolean } = {}): C {
  addClientTlsOptions(addServerTlsOptions(command));
  command.addOption(option('natsNkey')).addOption(option('auth')).addOption(option('authPublicKey'));
  if (options.anonymousInference) command.addOption(option('authAnonymousModels'));
  return command;
}

/** A server's TLS, loaded from its flags (env fallback): gRPC credentials and node:https options; undefined = plaintext. */
export interface ServerSecurity {
  grpc: ServerCredentials;
  https: HttpsServerOptions;
}

/** Reads `--tls-cert/--tls-key/--tls-client-ca` (or their environment) and the PEM files they name; an error names the flag and the file. */
export async function loadServerTlsFlags(raw: object): Promise<ServerSecurity | undefined> {
  const files = resolveServerTlsFiles(strings(raw));
  if (!files) return undefined;
  const tls = await loadServerTls(files);
  return { grpc: grpcServerCredentials(tls), https: httpsServerOptions(tls) };
}

/** A client's TLS, loaded from its flags (env fallback): gRPC channel credentials and the PEM bytes (NATS, OTLP export). */
export interface ClientSecurity {
  grpc: ChannelCredentials;
  tls: ClientTls;
}

/** Reads `--tls-ca/--tls-client-cert/--tls-client-key` (or their environment) and the files they name; undefined = plaintext. */
export async function loadClientTlsFlags(raw: object): Promise<ClientSecurity | undefined> {
  const files = resolveClientTlsFiles(strings(raw));
  if (!files) return undefined;
  const tls = await loadClientTls(files);
  return { grpc: grpcChannelCredentials(tls), tls };
}

/**
 * What a CLI verb's client factory takes from the environment of the command line: `credentials`
 * from the client TLS flags, and `token` from `INFERMESH_TOKEN` (read from the environment only,
 * never a flag, so it does not show in `ps`). `{}` when neither is given.
 */
export async function clientCredentialsOption(raw: object): Promise<{ credentials?: ChannelCredentials; token?: string }> {
  const client = await loadClientTlsFlags(raw);
  const token = tokenFromEnv();
  return { ...(client ? { credentials: client.grpc } : {}), ...(token !== undefined ? { token } : {}) };
}

/**
 * A service's NATS credentials for connectNats: TLS with the client TLS files
 * when `natsUrl` is `tls://` (see {@link SECURITY_FLAGS}), and the nkey seed of
 * `--nats-nkey` (or INFERMESH_NATS_NKEY).
 */
export async function loadNatsSecurityFlags(raw: object, natsUrl: string | undefined): Promise<Pick<ConnectNatsOptions, 'tls' | 'nkeySeed'>> {
  const overTls = natsUrl !== undefined && /^tls:\/\//i.test(natsUrl.trim());
  const flags = strings(raw);
  const tls = overTls ? (resolveClientTlsFiles(flags) ?? {}) : undefined;
  const nkeySeedFile = nonEmpty(flags.natsNkey) ?? nonEmpty(process.env[NATS_NKEY_ENV]);
  return loadNatsSecurity({ ...(tls ? { tls } : {}), ...(nkeySeedFile ? { nkeySeedFile } : {}) });
}

/** Everything {@link addServiceSecurityOptions} gives a service, loaded: each part undefined/empty when its flags are absent (plaintext, no credentials). */
export interface ServiceSecurity {
  /** Its servers' TLS (gRPC, and HTTPS for REST, the web page and /metrics). */
  server: ServerSecurity | undefined;
  /** Its calls to other services (registry, nodes, peers) and its span export. */
  client: ClientSecurity | undefined;
  /** Its NATS connection's TLS and nkey (for connectNats / MeshOptions.natsSecurity). */
  nats: Pick<ConnectNatsOptions, 'tls' | 'nkeySeed'>;
  /** `--auth`: tokens required. */
  auth: boolean;
  /** `--auth-public-key`: where the token public key is (else the registry is asked). */
  authPublicKeyFile: string | undefined;
  /** `--auth-anonymous-models`: model patterns inference calls may use without a token, checked; empty for none. */
  authAnonymousModels: string[];
  /** For createTelemetry: `/metrics` over HTTPS with the server certificate, span export with the client TLS. */
  telemetry: { metricsHttps?: HttpsServerOptions; exportTls?: ClientTls; exportToken?: string };
}

/** Loads a service's security flags (one error per bad flag or file). */
export async function loadServiceSecurity(raw: Record<string, unknown>, natsUrl: string | undefined): Promise<ServiceSecurity> {
  const [server, client, nats] = await Promise.all([loadServerTlsFlags(raw), loadClientTlsFlags(raw), loadNatsSecurityFlags(raw, natsUrl)]);
  const exportToken = tokenFromEnv();
  const auth = parseAuthFlag(raw.auth);
  return {
    server,
    client,
    nats,
    auth,
    authPublicKeyFile: typeof raw.authPublicKey === 'string' && raw.authPublicKey !== '' ? raw.authPublicKey : undefined,
    authAnonymousModels: parseAnonymousModelsFlag(raw.authAnonymousModels, auth),
    telemetry: {
      ...(server ? { metricsHttps: server.https } : {}),
      ...(client ? { exportTls: client.tls } : {}),
      // The service's own token, for a monitor that checks tokens on Export.
      ...(exportToken !== undefined ? { exportToken } : {}),
    },
  };
}

/** `--auth` (or INFERMESH_AUTH=1/true): whether the server requires tokens. */
export function parseAuthFlag(value: unknown): boolean {
  if (value === undefined || value === false || value === '') return false;
  if (value === true) return true;
  const text = String(value).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw new Error(`--auth takes no value (INFERMESH_AUTH: 1/true or 0/false), got '${String(value)}'`);
}

/**
 * `--auth-anonymous-models` (or INFERMESH_AUTH_ANONYMOUS_MODELS): comma-separated model patterns, checked
 * (INVALID_ARGUMENT naming the flag and the bad pattern); [] when absent or empty. Given without `--auth`
 * it is an error: without --auth no call needs a token, so the flag would silently mean nothing.
 */
export function parseAnonymousModelsFlag(value: unknown, auth: boolean): string[] {
  if (value === undefined || value === false) return [];
  const patterns = parseModelPatterns(splitModelPatterns(String(value)), ANONYMOUS_MODELS_FLAG);
  if (patterns.length > 0 && !auth) {
    throw new Error(`${ANONYMOUS_MODELS_FLAG} (INFERMESH_AUTH_ANONYMOUS_MODELS) needs --auth: without it no call needs a token`);
  }
  return patterns;
}

/** Why a call failed, said plainly when the cause is TLS (a CA that does not match, a missing client certificate, TLS against plaintext). */
export function describeTlsFailure(err: unknown, address: string): string | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (/unable to (get|verify)|self[- ]signed|certificate (verify|signature)|UNABLE_TO_VERIFY|DEPTH_ZERO|SELF_SIGNED|CERT_/i.test(message)) {
    return `TLS handshake with ${address} failed: the server's certificate is not signed by the CA given with --tls-ca (INFERMESH_TLS_CA); check that the file is the CA of that server (${message})`;
  }
  if (/alert (number )?(116|40)|certificate required|handshake failure|peer did not return a certificate/i.test(message)) {
    return `TLS handshake with ${address} failed: the server requires a client certificate (mTLS): give --tls-client-cert and --tls-client-key (INFERMESH_TLS_CLIENT_CERT/KEY) signed by its CA (${message})`;
  }
  if (/wrong version number|packet length too long|http_request|WRONG_VERSION/i.test(message)) {
    return `TLS handshake with ${address} failed: the server does not speak TLS here (plaintext port?), or speaks it where no --tls-ca was given (${message})`;
  }
  // grpc-js's words when the HTTP/2 session never came up on an open port: typically plaintext against a TLS server.
  if (/Last error: Failed to connect\b/.test(message)) {
    return `could not set up a connection to ${address}: if it serves TLS, give its CA with --tls-ca (INFERMESH_TLS_CA) (${message})`;
  }
  return undefined;
}

/** `err`, or when its cause is TLS an error of the same code whose message says so (see {@link describeTlsFailure}). */
export function explainTlsFailure(err: unknown, address: string): unknown {
  const plain = describeTlsFailure(err, address);
  if (plain === undefined) return err;
  const e = InfermeshError.from(err);
  return new InfermeshError(e.code, plain, { cause: err });
}

/** Calls `fn`, turning a TLS failure of its calls to `address` into a plain message (see {@link describeTlsFailure}). */
export async function withTlsExplained<T>(address: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw explainTlsFailure(err, address);
  }
}

/**
 * Adds the client TLS flags to every verb under `command` that calls a
 * service (one with `--server`, `--registry`, `--monitor` or `--inference`)
 * and has none yet, so every calling verb takes `--tls-ca` the same way.
 */
export function addClientTlsOptionsToCallers(command: Command): void {
  for (const sub of command.commands) {
    const names = new Set(sub.options.map((o) => o.attributeName()));
    if (!names.has('tlsCa') && ['server', 'registry', 'monitor', 'inference'].some((n) => names.has(n))) addClientTlsOptions(sub);
    addClientTlsOptionsToCallers(sub);
  }
}

/** Flag values as commander gives them, with booleans or numbers dropped (the TLS flags are paths). */
function strings(raw: object): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  return out;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
