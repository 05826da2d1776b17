// `infermesh up`: the whole mesh on one machine. NATS (started here unless one
// is named), then each service as a child process of this same CLI, in
// dependency order (the list in `meshChildren()`), all under one supervisor
// that restarts what exits.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { createInferenceClient, type InferenceClientOptions } from '../shared/client/index.js';
import { Code, InfermeshError } from '../shared/errors/index.js';
import { createLogger, type Logger } from '../shared/logging/index.js';
import { NatsServerProcess } from '../shared/nats/index.js';
import { freePort, isPortTaken } from '../shared/net/index.js';
import { formatAnnouncement } from '../shared/process/index.js';
import { createRegistryClient, PRODUCTION_ALIAS, type RegistryClientOptions } from '../shared/registry-client/index.js';
import { DEMO_MODEL_CONFIG, DEMO_MODEL_NAME, buildDemoMlp } from '../shared/demo/index.js';
import { MAX_TIMER_MS, parseHostOption, parseIntegerFlag, parseNatsFlag, parsePort, sharedOption } from '../shared/flags/index.js';
import { defineDefaults } from '../shared/options/index.js';
import { startChildService } from './child-service.js';
import { prepareUpSecurity, type UpSecurity } from './up-secure.js';
import { guardStdio, killGroupsOnExit, onStopSignalOrCrash } from './process-guard.js';
import { DEFAULT_RESTART_POLICY, formatStatusTable, Supervisor, type RestartPolicy, type ServiceStatus, type SupervisedService } from './supervisor.js';
import { describeUpStatus, processAlive, readUpStatus, upStatusPath, writeUpStatus, type UpStatusDocument } from './up-status.js';

/** Validated options of `infermesh up`. Ports: 0 = a free one; a taken default port is replaced by a free one. */
export interface UpOptions {
  /** Where every service keeps its data (default `.data/` in the cwd). */
  dataDir: string;
  host: string;
  /** An existing NATS server (with JetStream) to use; undefined = start one here. */
  natsUrl: string | undefined;
  natsPort: number;
  registryPort: number;
  /** Inference node gRPC port. */
  grpcPort: number;
  /** Start the monitor and send every service's spans to it. */
  monitor: boolean;
  monitorGrpcPort: number;
  monitorHttpPort: number;
  /** Start the recommender (it scores through the inference node). */
  recommender: boolean;
  recommenderPort: number;
  /** The node's REST port (Triton's 8000 by default). */
  httpPort: number;
  /** How long to wait for the demo model to serve. */
  readyTimeoutMs: number;
  /** TLS on every connection (mTLS between services), NATS nkeys, signed heartbeats, tokens on (`--secure`). Default off (plaintext). */
  secure: boolean;
}

/** The running mesh: the supervisor that keeps its children up, and where each listens. */
export interface Mesh {
  supervisor: Supervisor;
  /** Ports and addresses fixed before any child started: a restarted child comes back on the same ones. */
  endpoint(part: string, name: string): string;
  /** Stops every child, services first (reverse start order), NATS last. Idempotent. */
  close(): Promise<void>;
  /** Under `--secure`: the CA, certificates, NATS credentials and the admin token's file. */
  security?: UpSecurity;
}

/** One child of the mesh: the CLI verb and flags it runs with, and whether it is on the data plane. */
export interface MeshChild {
  name: string;
  plane: 'data' | 'control';
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** Every port of the mesh, chosen once: defaults unless taken, 0 = free. */

interface MeshPorts {
  nats: number;
  monitorGrpc: number;
  monitorHttp: number;
  registry: number;
  grpc: number;
  /** The node's REST front door (Open Inference Protocol over HTTP). */
  http: number;
  recommender: number;
}

/**
 * The children of the mesh, in start order, with their flags. Ports are fixed
 * here (not picked by the children), so that every address is known up front
 * and a child the supervisor restarts comes back where the others expect it.
 */
export function meshChildren(options: UpOptions, ports: MeshPorts, natsServerUrl: string, security?: UpSecurity): MeshChild[] {
  const at = (port: number) => `${options.host}:${port}`;
  const natsUrl = security ? security.natsClientUrl(natsServerUrl) : natsServerUrl;
  // Each child's TLS, mTLS, NATS nkey and --auth (under --secure).
  const secured = (service: Parameters<UpSecurity['childArgs']>[0]) => security?.childArgs(service) ?? [];
  const securedEnv = (service: Parameters<UpSecurity['childEnv']>[0], base: NodeJS.ProcessEnv) => (security ? { ...base, ...security.childEnv(service) } : base);
  const env: NodeJS.ProcessEnv = {
    NATS_URL: natsUrl,
    // Each service serves Prometheus /metrics on a free port (metrics= on its line).
    INFERMESH_METRICS_PORT: '0',
    // Every service sends its spans to the monitor; without one, none are recorded.
    // The demo traces every request (production default: 1%, parent-based); INFERMESH_TRACE_SAMPLING overrides.
    ...(options.monitor
      ? { OTEL_EXPORTER_OTLP_ENDPOINT: `${security ? 'https' : 'http'}://${at(ports.monitorGrpc)}`, INFERMESH_TRACE_SAMPLING: process.env.INFERMESH_TRACE_SAMPLING ?? '1' }
      : { INFERMESH_TRACE_SAMPLING: 'off' }),
  };
  const data = (name: string) => join(options.dataDir, name);
  const children: MeshChild[] = [];
  if (options.monitor) {
    children.push({
      name: 'monitor',
      plane: 'control',
      args: ['monitor', '--host', options.host, '--grpc-port', String(ports.monitorGrpc), '--http-port', String(ports.monitorHttp), '--data-dir', data('monitor'),
        // Prediction records, feedback and alerts (model health); reference data given at registration from the registry.
        '--nats', natsUrl, '--registry', at(ports.registry), ...secured('monitor')],
      env: securedEnv('monitor', {}),
    });
  }
  children.push(
    {
      name: 'registry',
      plane: 'control',
      args: ['registry', '--host', options.host, '--grpc-port', String(ports.registry), '--data-dir', data('registry'), '--nats', natsUrl, ...secured('registry')],
      env: securedEnv('registry', env),
    },
    {
      name: 'inference',
      plane: 'data',
      args: ['inference', '--host', options.host, '--grpc-port', String(ports.grpc), '--http-port', String(ports.http), '--registry', at(ports.registry), '--nats', natsUrl, '--data-dir', data('inference'), ...secured('node')],
      env: securedEnv('node', env),
    },
  );
  if (options.recommender) {
    // After the registry and an inference node: it registers its models in the one and scores through the other.
    children.push({
      name: 'recommender',
      plane: 'control',
      args: [
        'recommender', '--host', options.host, '--grpc-port', String(ports.recommender), '--registry', at(ports.registry),
        '--nats', natsUrl, '--inference', at(ports.grpc), '--data-dir', data('recommender'), ...secured('recommender'),
      ],
      env: securedEnv('recommender', env),
    });
  }
  return children;
}

/** How `up` is wired to the outside: its supervisor, and where output goes. */
export interface UpDeps {
  logger: Logger;
  supervisor: Supervisor;
  /** Child log lines (default process.stderr). */
  writeLog?: (text: string) => void;
}

/**
 * Starts the mesh under `supervisor`: NATS (unless one is named), monitor,
 * registry, one inference node, the recommender; registers the demo model as
 * `production` (unless the registry already has it) and waits until the node
 * serves it. From then on the supervisor restarts what exits. When a step of
 * the start fails, what started is stopped and the error thrown.
 */
export async function up(options: UpOptions, deps: UpDeps): Promise<Mesh> {
  const { logger, supervisor } = deps;
  const endpoints: Record<string, Record<string, string>> = {};
  const mesh: Mesh = {
    supervisor,
    close: () => supervisor.close(),
    endpoint: (part, name) => {
      const value = endpoints[part]?.[name];
      if (value === undefined) throw new Error(`no ${name} endpoint of ${part}`);
      return value;
    },
  };
  try {
    const ports: MeshPorts = {
      nats: options.natsUrl ? 0 : await portOrFree(options.natsPort, options.host),
      monitorGrpc: options.monitor ? await portOrFree(options.monitorGrpcPort, options.host) : 0,
      monitorHttp: options.monitor ? await portOrFree(options.monitorHttpPort, options.host) : 0,
      registry: await portOrFree(options.registryPort, options.host),
      grpc: await portOrFree(options.grpcPort, options.host),
      // REST on Triton's HTTP port, or a free one when taken.
      http: await portOrFree(options.httpPort, options.host),
      recommender: options.recommender ? await portOrFree(options.recommenderPort, options.host) : 0,
    };
    const security = options.secure
      ? await prepareUpSecurity({ dataDir: options.dataDir, registryDataDir: join(options.dataDir, 'registry'), nodeDataDir: join(options.dataDir, 'inference'), host: options.host })
      : undefined;
    if (security) mesh.security = security;
    const natsUrl = options.natsUrl ?? (endpoints.nats = await supervisor.add(natsService(options, ports.nats, security, logger))).nats!;
    for (const child of meshChildren(options, ports, natsUrl, security)) {
      // The registry issues the node's identity: it runs by now (it starts before the node).
      if (security && child.name === 'inference') await security.ensureNodeIdentity(mesh.endpoint('registry', 'grpc'));
      endpoints[child.name] = await supervisor.add({
        name: child.name,
        plane: child.plane,
        start: () => startChildService({ name: child.name, args: child.args, env: child.env, logger, ...(deps.writeLog ? { writeLog: deps.writeLog } : {}) }),
      });
    }
    const clientOptions = security?.client ?? {};
    await registerDemoModel(mesh.endpoint('registry', 'grpc'), logger, clientOptions);
    await waitUntilServed(mesh.endpoint('inference', 'grpc'), DEMO_MODEL_NAME, options.readyTimeoutMs, clientOptions);
  } catch (err) {
    await supervisor.close();
    throw err;
  }
  return mesh;
}

/** nats-server with JetStream under `<data-dir>/nats`, in its own process group, supervised like every child (restarted on the same port and data). */
function natsService(options: UpOptions, port: number, security: UpSecurity | undefined, logger: Logger): SupervisedService {
  // Under --secure: nats-server's tls block (mTLS) and one nkey user per role (one per node) with its subject permissions.
  const nats = new NatsServerProcess({ dataDir: join(options.dataDir, 'nats'), host: options.host, port, ownProcessGroup: true, ...(security ? security.mesh.nats.server : {}) });
  return {
    name: 'nats',
    plane: 'control',
    start: async () => {
      await nats.start();
      // A node key added or deleted (`infermesh nodes nats-key`) is applied at once: nats-server reloads its users.
      const unwatch = security?.watchNatsUsers((users) => nats.reload({ users }), (err) => logger.warn('NATS users not reloaded', { err }));
      void nats.exited.then(() => unwatch?.());
      return { pid: nats.pid!, endpoints: { nats: nats.url }, exited: nats.exited, stop: () => nats.stop() };
    },
  };
}

/** `port`, or a free one when it is 0 or taken (another NATS or node may already run on the default). */
async function portOrFree(port: number, host: string): Promise<number> {
  return port === 0 || (await isPortTaken(port, host)) ? freePort(host) : port;
}

const DEMO_READY_POLL_MS = 200;

/** Pushes the demo model as `production` unless the registry already has a production version of it. */
async function registerDemoModel(registryAddress: string, logger: Logger, clientOptions: RegistryClientOptions): Promise<void> {
  const registry = createRegistryClient(registryAddress, clientOptions);
  try {
    const existing = await registry.getModel(DEMO_MODEL_NAME).catch((err: unknown) => {
      if (err instanceof InfermeshError && err.code === Code.NOT_FOUND) return undefined;
      throw err;
    });
    if (existing?.aliases.some((a) => a.name === PRODUCTION_ALIAS && a.version > 0)) return;
    const v = await registry.pushVersion(DEMO_MODEL_NAME, buildDemoMlp(), {
      alias: PRODUCTION_ALIAS,
      config: DEMO_MODEL_CONFIG,
      description: 'demo MLP: x FP32 [batch,4] -> probabilities FP32 [batch,3]',
    });
    logger.info('registered the demo model', { model: DEMO_MODEL_NAME, version: v.version });
  } finally {
    registry.close();
  }
}

/** Polls ModelReady until the node serves `model` (its production version), or fails after `timeoutMs`. */
async function waitUntilServed(address: string, model: string, timeoutMs: number, clientOptions: InferenceClientOptions): Promise<void> {
  const client = createInferenceClient(address, { ...clientOptions, timeoutMs: 2000 });
  try {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        if (await client.modelReady(model)) return;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, DEMO_READY_POLL_MS));
    }
    throw new Error(`the inference node at ${address} did not serve '${model}' within ${timeoutMs} ms${last ? `: ${last}` : ''}`);
  } finally {
    client.close();
  }
}

/** What `up` prints once everything serves: where each part listens, and what to try. */
function usage(mesh: Mesh, options: UpOptions): string {
  const grpc = mesh.endpoint('inference', 'grpc');
  const registry = mesh.endpoint('registry', 'grpc');
  const monitorHttp = options.monitor ? mesh.endpoint('monitor', 'http') : undefined;
  const recommender = options.recommender ? mesh.endpoint('recommender', 'grpc') : undefined;
  const security = mesh.security;
  const web = security ? 'https' : 'http';
  const body = `{"model_name":"${DEMO_MODEL_NAME}","inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"contents":{"fp32_contents":[0.1,0.2,0.3,0.4]}}]}`;
  const client = security?.mesh.client('client');
  const curlTls = client ? `--cacert ${client.caFile} ` : '';
  const curlAuth = security ? `-H "authorization: Bearer $INFERMESH_TOKEN" ` : '';
  return [
    `infermesh mesh on this machine (data under ${options.dataDir}):`,
    formatStatusTable(mesh.supervisor.status()),
    ...(security && client
      ? [
          `--secure: TLS everywhere (CA ${security.mesh.caFile}), mTLS between services, NATS over TLS with an nkey per service, signed heartbeats, tokens required.`,
          `  admin token (scope admin, mode 0600): ${security.adminTokenFile}`,
          '  In the shell that calls the mesh:',
          `  export INFERMESH_TLS_CA=${client.caFile}`,
          `  export INFERMESH_TLS_CLIENT_CERT=${client.certFile} INFERMESH_TLS_CLIENT_KEY=${client.keyFile}   # the registry, monitor and recommender require a client certificate`,
          `  export INFERMESH_TOKEN=$(cat ${security.adminTokenFile})`,
        ]
      : []),
    `'${DEMO_MODEL_NAME}' (x: FP32 [batch,4] -> probabilities: FP32 [batch,3]) is production in the registry and served at ${grpc}. Try:`,
    `  npx infermesh models list --registry ${registry}`,
    `  npx infermesh infer ${DEMO_MODEL_NAME} --input x='[[0.1,0.2,0.3,0.4]]' --server ${grpc}${client ? ` --tls-ca ${client.caFile}` : ''}`,
    `  npx infermesh models push model.onnx --name ${DEMO_MODEL_NAME} --alias production --registry ${registry}   # the node swaps it in`,
    `  npx infermesh models promote ${DEMO_MODEL_NAME} 2 --alias canary --weight 20 --registry ${registry}`,
    `  curl -s ${curlTls}${curlAuth}${web}://${mesh.endpoint('inference', 'http')}/v2/models/${DEMO_MODEL_NAME}/infer -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[[0.1,0.2,0.3,0.4]]}]}'`,
    client
      ? `  grpcurl -cacert ${client.caFile} -H "authorization: Bearer $INFERMESH_TOKEN" -import-path protos -proto inference/grpc_service.proto -d '${body}' ${grpc} inference.GRPCInferenceService/ModelInfer`
      : `  grpcurl -plaintext -import-path protos -proto inference/grpc_service.proto -d '${body}' ${grpc} inference.GRPCInferenceService/ModelInfer`,
    ...(recommender
      ? [`  npx infermesh recommender train --server ${recommender}   # once interactions have arrived (RecordInteractions)`]
      : []),
    ...(monitorHttp
      ? [
          client
            ? `  traces: ${web}://${monitorHttp}/ (mTLS: curl ${curlTls}--cert ${client.certFile} --key ${client.keyFile} ${web}://${monitorHttp}/api/traces; or npx infermesh traces show TRACE_ID)`
            : `  traces: http://${monitorHttp}/   (the demo traces every request, production defaults to 1%; every service sends its spans there; or npx infermesh traces show TRACE_ID with the trace_id infer prints)`,
        ]
      : []),
    `  npx infermesh up status --data-dir ${options.dataDir}   # from another terminal: what runs, restarts`,
    'A service that exits is restarted (its restarts show in the table); Ctrl-C stops everything.',
    '',
  ].join('\n');
}

/** Defaults of {@link UpOptions}: the well-known ports (each replaced by a free one when taken). */
export const DEFAULT_UP_OPTIONS = defineDefaults({
  dataDir: '.data',
  host: '127.0.0.1',
  natsPort: 4222,
  registryPort: 50051,
  grpcPort: 8001,
  monitor: true,
  monitorGrpcPort: 4317,
  monitorHttpPort: 16686,
  recommender: true,
  recommenderPort: 50061,
  // The node's REST port: Triton's.
  httpPort: 8000,
  readyTimeoutMs: 120_000,
  secure: false,
});

/** Parses `up`'s flags; an Error names the bad flag and the range. */
export function parseUpOptions(raw: Record<string, string | boolean | undefined>): UpOptions {
  const d = DEFAULT_UP_OPTIONS;
  return {
    dataDir: resolve(String(raw.dataDir ?? d.dataDir)),
    host: parseHostOption(raw.host, d.host),
    natsUrl: parseNatsFlag(raw.nats, { optional: true }),
    natsPort: parsePort(raw.natsPort ?? d.natsPort, '--nats-port'),
    registryPort: parsePort(raw.registryPort ?? d.registryPort, '--registry-port'),
    grpcPort: parsePort(raw.grpcPort ?? d.grpcPort, '--grpc-port'),
    monitor: raw.monitor !== false,
    monitorGrpcPort: parsePort(raw.monitorGrpcPort ?? d.monitorGrpcPort, '--monitor-grpc-port'),
    monitorHttpPort: parsePort(raw.monitorHttpPort ?? d.monitorHttpPort, '--monitor-http-port'),
    recommender: raw.recommender !== false,
    recommenderPort: parsePort(raw.recommenderPort ?? d.recommenderPort, '--recommender-port'),
    httpPort: parsePort(raw.httpPort ?? d.httpPort, '--http-port'),
    readyTimeoutMs: parseIntegerFlag(raw.readyTimeoutMs ?? d.readyTimeoutMs, '--ready-timeout-ms', 1, MAX_TIMER_MS),
    secure: raw.secure === true,
  };
}

/** Registers `infermesh up` and `infermesh up status`. */
export function registerUpCommand(program: Command): void {
  const d = DEFAULT_UP_OPTIONS;
  const dataDirOption = () => sharedOption('dataDir', { description: 'where services keep their data', default: d.dataDir });
  const command = program
    .command('up')
    .description('Run the whole mesh on this machine (NATS, monitor, registry, an inference node, the recommender) with a demo model, restart what fails, and print where each service listens')
    .addOption(dataDirOption())
    // No environment mirror for --host and --grpc-port here: INFERMESH_HOST/INFERMESH_GRPC_PORT set for a node must not move the whole mesh.
    .addOption(new Option('--host <host>', 'interface every service listens on').default(d.host))
    .addOption(sharedOption('nats', { description: 'use this NATS server (JetStream on) instead of starting one' }))
    .addOption(new Option('--nats-port <port>', 'port of the NATS server started here (a free one when taken)').default(String(d.natsPort)))
    .addOption(new Option('--registry-port <port>', 'registry gRPC port (a free one when taken)').default(String(d.registryPort)))
    .addOption(new Option('--grpc-port <port>', 'inference node gRPC port (a free one when taken)').default(String(d.grpcPort)))
    .addOption(new Option('--monitor-grpc-port <port>', 'monitor OTLP/gRPC and API port (a free one when taken)').default(String(d.monitorGrpcPort)))
    .addOption(new Option('--monitor-http-port <port>', 'monitor web page port (a free one when taken)').default(String(d.monitorHttpPort)))
    .option('--no-monitor', 'do not start the monitor')
    .addOption(new Option('--recommender-port <port>', 'recommender gRPC port (a free one when taken)').default(String(d.recommenderPort)))
    .addOption(new Option('--http-port <port>', "inference node REST port (a free one when taken; 0 = a free one)").default(String(d.httpPort)))
    .option('--no-recommender', 'do not start the recommender')
    .option('--secure', 'TLS on every connection (a local CA and certificates under <data-dir>/secure), mTLS between services, NATS nkeys and TLS, signed heartbeats, tokens on; writes an admin token and prints where')
    .addOption(new Option('--ready-timeout-ms <ms>', 'how long to wait for the demo model to serve').default(String(d.readyTimeoutMs)))
    .addOption(new Option('--max-restarts <n>', 'restarts of one service allowed within --restart-window-ms before it is given up').default(String(DEFAULT_RESTART_POLICY.maxRestarts)))
    .addOption(new Option('--restart-window-ms <ms>', 'the window of the restart budget').default(String(DEFAULT_RESTART_POLICY.budgetWindowMs)))
    .addOption(new Option('--restart-backoff-ms <ms>', 'pause before the first restart of a service (doubles per consecutive failure)').default(String(DEFAULT_RESTART_POLICY.initialBackoffMs)))
    .action(async (raw: Record<string, string | boolean | undefined>) => {
      const options = parseUpOptions(raw);
      const policy: Partial<RestartPolicy> & { initialBackoffMs: number } = {
        maxRestarts: parseIntegerFlag(raw.maxRestarts, '--max-restarts', 0, 1000),
        budgetWindowMs: parseIntegerFlag(raw.restartWindowMs, '--restart-window-ms', 1, MAX_TIMER_MS),
        initialBackoffMs: parseIntegerFlag(raw.restartBackoffMs, '--restart-backoff-ms', 1, MAX_TIMER_MS),
      };
      policy.maxBackoffMs = Math.max(DEFAULT_RESTART_POLICY.maxBackoffMs, policy.initialBackoffMs);
      await runUp(options, policy);
    });
  command
    .command('status')
    .description('Show what a running `infermesh up` supervises (state, pid, restarts, endpoints), from its status file in the data dir')
    .addOption(dataDirOption())
    .action((raw: { dataDir: string }, cmd: Command) => {
      // `--data-dir` given before `status` belongs to `up`.
      const dataDir = resolve(raw.dataDir !== d.dataDir ? raw.dataDir : String(cmd.parent?.opts().dataDir ?? raw.dataDir));
      const { text, running } = describeUpStatus(readUpStatus(dataDir), dataDir, processAlive);
      process.stdout.write(text);
      if (!running) process.exitCode = 3;
    });
}

/**
 * The `up` process: guards stdio, installs the exit hook and the signal
 * handlers before the first child starts, starts the mesh, then keeps the
 * table (stdout) and the status file up to date as services change state.
 */
async function runUp(options: UpOptions, policy: Partial<RestartPolicy>): Promise<void> {
  const stdio = guardStdio();
  const logger = createLogger({ fields: { service: 'up' }, write: (line) => stdio.err(line + '\n') });
  let phase: UpStatusDocument['phase'] = 'starting';
  mkdirSync(options.dataDir, { recursive: true });
  const report = (services: ServiceStatus[]) => {
    try {
      writeUpStatus(options.dataDir, { pid: process.pid, phase, services });
    } catch (err) {
      logger.warn('could not write the status file', { err });
    }
  };
  const supervisor: Supervisor = new Supervisor({
    logger,
    policy,
    onChange: (services) => {
      report(services);
      if (phase === 'ready') stdio.out(formatStatusTable(services));
    },
    onFatal: (service, reason) => {
      logger.error('the data plane is down for good; stopping the mesh', { service, reason });
      void stop().finally(() => process.exit(1));
    },
  });
  const stop = async () => {
    phase = 'stopping';
    await supervisor.close();
    phase = 'stopped';
    report(supervisor.status());
  };
  // Whatever ends this process, nothing it started outlives it.
  killGroupsOnExit(() => supervisor.pids());
  onStopSignalOrCrash(stop, logger);
  const mesh = await up(options, { logger, supervisor, writeLog: stdio.err });
  phase = 'ready';
  report(supervisor.status());
  stdio.out(usage(mesh, options));
  stdio.out(
    formatAnnouncement('up', {
      grpc: mesh.endpoint('inference', 'grpc'),
      http: mesh.endpoint('inference', 'http'),
      registry: mesh.endpoint('registry', 'grpc'),
      nats: options.natsUrl ?? mesh.endpoint('nats', 'nats'),
      ...(options.monitor ? { monitor: mesh.endpoint('monitor', 'grpc'), 'monitor-http': mesh.endpoint('monitor', 'http') } : {}),
      ...(options.recommender ? { recommender: mesh.endpoint('recommender', 'grpc') } : {}),
      ...(mesh.security ? { 'tls-ca': mesh.security.mesh.caFile, 'admin-token': mesh.security.adminTokenFile } : {}),
      status: upStatusPath(options.dataDir),
    }) + '\n',
  );
}
