import { loadServiceAuth } from '../../../shared/flags/index.js';
import { tokenFromEnv } from '../../../shared/auth/index.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { createLogger } from '../../../shared/logging/index.js';
import { announce } from '../../../shared/process/index.js';
import { createTelemetry } from '../../../shared/telemetry/index.js';
import {
  addServiceSecurityOptions,
  addSharedOptions,
  addTelemetryOptions,
  loadServiceSecurity,
  parseDataDirFlag,
  parseGrpcPortFlag,
  parseHostOption,
  parseNatsFlag,
  parsePositiveInt,
  parseRegistryFlag,
  parseTelemetryFlags,
  type TelemetryFlagOptions,
} from '../../../shared/flags/index.js';
import { startNodeProcess } from './start-node.js';
import { loadHeartbeatTrust, resolveNodeId } from '../mesh/index.js';
import { addNatsReplicasOption, parseNatsReplicas } from '../../../shared/nats/index.js';
import { addNodeLimitOptions, parseInstancesFlag, parseNodeLimitFlags, type NodeLimitFlags } from './flags.js';
import { readRecordHashKey } from '../records/index.js';
import { addHttpOptions, httpNodeOptions, parseHttpFlags, type HttpFlags } from './http-flags.js';

/** Options of `infermesh inference`, validated. */
export interface InferenceOptions {
  host: string;
  grpcPort: number;
  registryAddress: string;
  natsUrl: string;
  /** undefined: a fresh temporary folder (and a new node id) per start. */
  dataDir: string | undefined;
  nodeId: string | undefined;
  memoryBudgetBytes: number;
  heartbeatIntervalMs: number;
  drainTimeoutMs: number;
  modelRepository: string | undefined;
  /** --max-request-bytes, --max-queued-request-bytes, --model-control. */
  limits: NodeLimitFlags;
  /** --nats-replicas: copies of the streams and buckets the node creates. */
  natsReplicas: number;
  /** --instances: devices of registry versions whose config names none. */
  defaultInstances: Array<{ device: string; count: number }> | undefined;
  /** --otlp-endpoint, --trace-sampling, --metrics-port, --trace-export-delay-ms. */
  telemetry: TelemetryFlagOptions;
  /** --http-port, --http-max-body-bytes, --http-request-timeout-ms. */
  http: HttpFlags;
}

/** Parses and validates `infermesh inference` flags (one message per bad value). */
export function parseInferenceOptions(raw: Record<string, unknown>): InferenceOptions {
  const budget = Number(raw.memoryBudgetBytes ?? 0);
  if (!Number.isSafeInteger(budget) || budget < 0) throw new Error(`--memory-budget-bytes must be a whole number >= 0 (0 = no limit), got '${String(raw.memoryBudgetBytes)}'`);
  return {
    host: parseHostOption(raw.host),
    grpcPort: parseGrpcPortFlag(raw.grpcPort),
    registryAddress: parseRegistryFlag(raw.registry),
    natsUrl: parseNatsFlag(raw.nats),
    dataDir: parseDataDirFlag(raw.dataDir, { optional: true }),
    nodeId: typeof raw.nodeId === 'string' && raw.nodeId !== '' ? raw.nodeId : undefined,
    memoryBudgetBytes: budget,
    heartbeatIntervalMs: parsePositiveInt(raw.heartbeatIntervalMs, '--heartbeat-interval-ms'),
    drainTimeoutMs: parsePositiveInt(raw.drainTimeoutMs, '--drain-timeout-ms'),
    modelRepository: typeof raw.modelRepository === 'string' && raw.modelRepository !== '' ? resolve(raw.modelRepository) : undefined,
    limits: parseNodeLimitFlags(raw),
    defaultInstances: parseInstancesFlag(raw.instances),
    natsReplicas: parseNatsReplicas(raw.natsReplicas),
    telemetry: parseTelemetryFlags(raw),
    http: parseHttpFlags(raw),
  };
}

/** Registers `infermesh inference`: an inference node in mesh mode. */
export function registerInferenceCommand(program: Command): void {
  const command = program
    .command('inference')
    .description('Run an inference node in the mesh: serve what the registry aliases, follow its changes, beat on NATS, forward to peers');
  addSharedOptions(command, {
    grpcPort: { default: 8001 },
    host: { description: 'interface to listen on (and the address peers dial)', default: '127.0.0.1' },
    registry: {},
    nats: { default: 'nats://127.0.0.1:4222' },
    dataDir: { description: 'artifact cache and node id (default: a temporary folder, new id each start)' },
  })
    .addOption(new Option('--node-id <id>', 'node id (default: kept in <data-dir>/node-id)').env('INFERMESH_NODE_ID'))
    .addOption(new Option('--memory-budget-bytes <n>', 'bytes of models to hold; least recently used on-demand versions are evicted (0 = no limit)').env('INFERMESH_MEMORY_BUDGET_BYTES').default('0'))
    .addOption(new Option('--model-repository <dir>', 'also serve a Triton-style model repository'))
    .addOption(new Option('--heartbeat-interval-ms <ms>', 'heartbeat period').default('1000'))
    .addOption(new Option('--instances <devices>', 'devices of models whose config names none: cpu, cuda:0, cuda:0x2,cuda:1 (default: cpu)').env('INFERMESH_INSTANCES'))
    .addOption(new Option('--drain-timeout-ms <ms>', 'on SIGTERM/SIGINT, how long calls in flight may take to finish').default('10000'))
    .addOption(new Option('--record-hash-key-file <file>', 'key of the HMAC for inputs a records.redact rule hashes (or INFERMESH_RECORD_HASH_KEY)'))
    .addOption(new Option('--node-identity <file>', "this node's identity issued by the registry (infermesh nodes identity; signs its heartbeats; the node key is <data-dir>/node-key.pem)").env('INFERMESH_NODE_IDENTITY'))
    .addOption(new Option('--heartbeat-issuer-key <file>', "PEM public key of the identity issuer (the registry's public key): with it, only peers' heartbeats signed under an identity it issued are trusted").env('INFERMESH_HEARTBEAT_ISSUER_KEY'));
  addServiceSecurityOptions(addNatsReplicasOption(addTelemetryOptions(addHttpOptions(addNodeLimitOptions(command)))), { anonymousInference: true }).action(async (raw: Record<string, unknown>) => {
    const options = parseInferenceOptions(raw);
    const security = await loadServiceSecurity(raw, options.natsUrl);
    const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'infermesh-inference-')));
    const nodeId = await resolveNodeId(dataDir, options.nodeId);
    const heartbeatTrust = await loadHeartbeatTrust({ dataDir, ...optionalFile('identityFile', raw.nodeIdentity), ...optionalFile('issuerPublicKeyFile', raw.heartbeatIssuerKey) });
    const logger = createLogger({ fields: { service: 'inference', node: nodeId } });
    const auth = await loadServiceAuth('inference', security, { address: options.registryAddress, ...(security.client ? { credentials: security.client.grpc } : {}) });
    // The node's own token (INFERMESH_TOKEN) for its registry calls, whether or not it checks tokens itself.
    const ownToken = tokenFromEnv();
    const telemetry = await createTelemetry({ serviceName: 'inference', ...options.telemetry, ...security.telemetry, logger, resourceAttributes: { 'service.instance.id': nodeId } });
    const mesh = {
      natsUrl: options.natsUrl,
      registryAddress: options.registryAddress,
      dataDir,
      nodeId,
      memoryBudgetBytes: options.memoryBudgetBytes,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      ...(options.defaultInstances ? { defaultInstances: options.defaultInstances } : {}),
      natsReplicas: options.natsReplicas,
      natsSecurity: security.nats,
      heartbeatTrust,
      ...(security.client ? { clientCredentials: security.client.grpc } : {}),
      ...(ownToken !== undefined ? { registryToken: ownToken } : {}),
    };
    const hashKey = await readRecordHashKey(typeof raw.recordHashKeyFile === 'string' ? resolve(raw.recordHashKeyFile) : undefined, process.env.INFERMESH_RECORD_HASH_KEY);
    const node = await startNodeProcess(
      {
        host: options.host,
        grpcPort: options.grpcPort,
        ...httpNodeOptions(options.http),
        logger,
        mesh,
        ...(security.server ? { credentials: security.server.grpc, https: security.server.https } : {}),
        ...(auth ? { auth } : {}),
        ...options.limits,
        ...(hashKey ? { records: { hashKey } } : {}),
        ...(options.modelRepository ? { repositoryDir: options.modelRepository } : {}),
      },
      telemetry,
      options.drainTimeoutMs,
    );
    announce('inference', { grpc: node.grpcAddress, ...(node.httpAddress ? { http: node.httpAddress } : {}), node: nodeId, ...(telemetry.metricsAddress ? { metrics: telemetry.metricsAddress } : {}) });
  });
}

/** `{ [key]: absolute path }` when a file flag was given, else `{}`. */
function optionalFile<K extends string>(key: K, value: unknown): Partial<Record<K, string>> {
  return typeof value === 'string' && value.trim() !== '' ? ({ [key]: resolve(value) } as Partial<Record<K, string>>) : {};
}
