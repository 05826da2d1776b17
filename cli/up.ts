// `infermesh up`: the whole mesh on one machine. NATS (started here unless one
// is named), then each service as a child process of this same CLI, in
// dependency order; each later service adds one step to `up()`.
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { createInferenceClient } from '../shared/client/index.js';
import { Code, InfermeshError } from '../shared/errors/index.js';
import { createLogger, type Logger } from '../shared/logging/index.js';
import { NatsServerProcess } from '../shared/nats/index.js';
import { freePort, isPortTaken } from '../shared/net/index.js';
import { announce, onShutdownSignal } from '../shared/process/index.js';
import { createRegistryClient } from '../shared/registry-client/index.js';
import { DEMO_MODEL_CONFIG, DEMO_MODEL_NAME, buildDemoMlp } from '../services/inference/index.js';
import { parsePort } from '../services/inference/cli/index.js';
import { startChildService, type ChildService } from './child-service.js';

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
  /** How long to wait for the demo model to serve. */
  readyTimeoutMs: number;
}

/** One running part of the mesh: its name, endpoints and how to stop it. */
export interface MeshPart {
  name: string;
  endpoints: Record<string, string>;
  /** Child process id, when it is one. */
  pid?: number;
  close(): Promise<void>;
}

/** The running mesh; `close()` stops the parts in reverse start order (services first, NATS last). */
export interface Mesh {
  parts: MeshPart[];
  endpoint(part: string, name: string): string;
  close(): Promise<void>;
}

const DEMO_READY_POLL_MS = 200;

/**
 * Starts the mesh: NATS, monitor, registry, one inference node, the recommender; registers the
 * demo model as `production` (unless the registry already has it) and waits
 * until the node serves it. Stops what started when a step fails.
 * `onUnexpectedExit` is called when a service dies later. Started parts are
 * pushed onto `parts` as they come up, so that a signal during start-up can
 * stop them with {@link stopParts}.
 */
export async function up(options: UpOptions, logger: Logger, onUnexpectedExit: (part: string) => void, parts: MeshPart[] = []): Promise<Mesh> {
  const close = () => stopParts(parts, logger);
  const mesh: Mesh = {
    parts,
    close,
    endpoint: (part, name) => {
      const value = parts.find((p) => p.name === part)?.endpoints[name];
      if (value === undefined) throw new Error(`no ${name} endpoint of ${part}`);
      return value;
    },
  };
  const child = async (name: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const service: ChildService = await startChildService({
      name,
      args,
      env,
      logger,
      onUnexpectedExit: (code, signal) => {
        logger.error('service exited unexpectedly', { service: name, code, signal });
        onUnexpectedExit(name);
      },
    });
    parts.push({ name, endpoints: service.endpoints, pid: service.pid, close: () => service.stop() });
    return service;
  };

  try {
    const natsUrl = options.natsUrl ?? (await startNats(options, parts));
    const env: NodeJS.ProcessEnv = { NATS_URL: natsUrl };
    if (options.monitor) {
      const monitor = await child('monitor', [
        'monitor',
        '--host', options.host,
        '--grpc-port', String(await portOrFree(options.monitorGrpcPort, options.host)),
        '--http-port', String(await portOrFree(options.monitorHttpPort, options.host)),
        '--data-dir', join(options.dataDir, 'monitor'),
      ]);
      // Every later service sends its spans to this monitor.
      env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://${monitor.endpoints.grpc}`;
    } else {
      // Nothing listens for spans: record none rather than fail exports all day.
      env.INFERMESH_TRACE_SAMPLING = 'off';
    }
    // Each service serves Prometheus /metrics on a free port (metrics= on its line below).
    env.INFERMESH_METRICS_PORT = '0';
    const registry = await child(
      'registry',
      ['registry', '--host', options.host, '--grpc-port', String(await portOrFree(options.registryPort, options.host)), '--data-dir', join(options.dataDir, 'registry'), '--nats', natsUrl],
      env,
    );
    const registryAddress = registry.endpoints.grpc!;
    const inference = await child(
      'inference',
      [
        'inference',
        '--host', options.host,
        '--grpc-port', String(await portOrFree(options.grpcPort, options.host)),
        // REST (Open Inference Protocol over HTTP) on Triton's port, or a free one when taken.
        '--http-port', String(await portOrFree(8000, options.host)),
        '--registry', registryAddress,
        '--nats', natsUrl,
        '--data-dir', join(options.dataDir, 'inference'),
      ],
      env,
    );
    if (options.recommender) {
      // After the registry and an inference node: it registers its models in the
      // one and scores through the other.
      await child(
        'recommender',
        [
          'recommender',
          '--host', options.host,
          '--grpc-port', String(await portOrFree(options.recommenderPort, options.host)),
          '--registry', registryAddress,
          '--nats', natsUrl,
          '--inference', inference.endpoints.grpc!,
          '--data-dir', join(options.dataDir, 'recommender'),
        ],
        env,
      );
    }
    await registerDemoModel(registryAddress, logger);
    await waitUntilServed(inference.endpoints.grpc!, DEMO_MODEL_NAME, options.readyTimeoutMs);
  } catch (err) {
    await close();
    throw err;
  }
  return mesh;
}

const stopping = new WeakMap<MeshPart[], Promise<void>>();

/** Stops the parts in reverse start order (services first, NATS last). Idempotent per list. */
export function stopParts(parts: MeshPart[], logger: Logger): Promise<void> {
  let done = stopping.get(parts);
  if (!done) {
    done = (async () => {
      for (const p of [...parts].reverse()) {
        await p.close().catch((err: unknown) => logger.error('stopping a service failed', { service: p.name, err }));
      }
    })();
    stopping.set(parts, done);
  }
  return done;
}

/** Starts nats-server with JetStream under `<data-dir>/nats`, on `natsPort` unless taken (then a free port). */
async function startNats(options: UpOptions, parts: MeshPart[]): Promise<string> {
  const nats = new NatsServerProcess({ dataDir: join(options.dataDir, 'nats'), host: options.host, port: await portOrFree(options.natsPort, options.host), ownProcessGroup: true });
  await nats.start();
  parts.push({ name: 'nats', endpoints: { nats: nats.url }, close: () => nats.stop() });
  return nats.url;
}

/** `port`, or a free one when it is 0 or taken (another NATS or node may already run on the default). */
async function portOrFree(port: number, host: string): Promise<number> {
  return port === 0 || (await isPortTaken(port, host)) ? freePort(host) : port;
}

/** Pushes the demo model as `production` unless the registry already has a production version of it. */
async function registerDemoModel(registryAddress: string, logger: Logger): Promise<void> {
  const registry = createRegistryClient(registryAddress);
  try {
    const existing = await registry.getModel(DEMO_MODEL_NAME).catch((err: unknown) => {
      if (err instanceof InfermeshError && err.code === Code.NOT_FOUND) return undefined;
      throw err;
    });
    if (existing?.aliases.some((a) => a.name === 'production' && a.version > 0)) return;
    const v = await registry.pushVersion(DEMO_MODEL_NAME, buildDemoMlp(), {
      alias: 'production',
      config: DEMO_MODEL_CONFIG,
      description: 'demo MLP: x FP32 [batch,4] -> probabilities FP32 [batch,3]',
    });
    logger.info('registered the demo model', { model: DEMO_MODEL_NAME, version: v.version });
  } finally {
    registry.close();
  }
}

/** Polls ModelReady until the node serves `model` (its production version), or fails after `timeoutMs`. */
async function waitUntilServed(address: string, model: string, timeoutMs: number): Promise<void> {
  const client = createInferenceClient(address, { timeoutMs: 2000 });
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
  const rows = mesh.parts.map((p) => `  ${p.name.padEnd(11)} ${Object.entries(p.endpoints).map(([k, v]) => `${k}=${v}`).join(' ')}${p.pid ? `  (pid ${p.pid})` : ''}`);
  const monitorHttp = mesh.parts.find((p) => p.name === 'monitor')?.endpoints.http;
  const recommender = mesh.parts.find((p) => p.name === 'recommender')?.endpoints.grpc;
  const body = `{"model_name":"${DEMO_MODEL_NAME}","inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"contents":{"fp32_contents":[0.1,0.2,0.3,0.4]}}]}`;
  return [
    `infermesh mesh on this machine (data under ${options.dataDir}):`,
    ...rows,
    '',
    `'${DEMO_MODEL_NAME}' (x: FP32 [batch,4] -> probabilities: FP32 [batch,3]) is production in the registry and served at ${grpc}. Try:`,
    `  npx infermesh models list --registry ${registry}`,
    `  npx infermesh infer ${DEMO_MODEL_NAME} --input x='[[0.1,0.2,0.3,0.4]]' --server ${grpc}`,
    `  npx infermesh models push model.onnx --name ${DEMO_MODEL_NAME} --alias production --registry ${registry}   # the node swaps it in`,
    `  npx infermesh models promote ${DEMO_MODEL_NAME} 2 --alias canary --weight 20 --registry ${registry}`,
    `  curl -s http://${mesh.endpoint('inference', 'http')}/v2/models/${DEMO_MODEL_NAME}/infer -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[[0.1,0.2,0.3,0.4]]}]}'`,
    `  grpcurl -plaintext -import-path protos -proto inference/grpc_service.proto -d '${body}' ${grpc} inference.GRPCInferenceService/ModelInfer`,
    ...(recommender
      ? [`  npx infermesh recommender train --server ${recommender}   # once interactions have arrived (RecordInteractions)`]
      : []),
    ...(monitorHttp
      ? [`  traces: http://${monitorHttp}/   (every service sends its spans there; or npx infermesh traces show TRACE_ID with the trace_id infer prints)`]
      : []),
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

/** Registers `infermesh up`. */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('Run the whole mesh on this machine (NATS, monitor, registry, an inference node, the recommender) with a demo model, and print where each service listens')
    .addOption(new Option('--data-dir <dir>', 'where services keep their data').env('INFERMESH_DATA_DIR').default('.data'))
    .addOption(new Option('--host <host>', 'interface every service listens on').default('127.0.0.1'))
    .addOption(new Option('--nats <url>', 'use this NATS server (JetStream on) instead of starting one').env('NATS_URL'))
    .addOption(new Option('--nats-port <port>', 'port of the NATS server started here (a free one when taken)').default('4222'))
    .addOption(new Option('--registry-port <port>', 'registry gRPC port (a free one when taken)').default('50051'))
    .addOption(new Option('--grpc-port <port>', 'inference node gRPC port (a free one when taken)').default('8001'))
    .addOption(new Option('--monitor-grpc-port <port>', 'monitor OTLP/gRPC and API port (a free one when taken)').default('4317'))
    .addOption(new Option('--monitor-http-port <port>', 'monitor web page port (a free one when taken)').default('16686'))
    .option('--no-monitor', 'do not start the monitor')
    .addOption(new Option('--recommender-port <port>', 'recommender gRPC port (a free one when taken)').default('50061'))
    .option('--no-recommender', 'do not start the recommender')
    .addOption(new Option('--ready-timeout-ms <ms>', 'how long to wait for the demo model to serve').default('120000'))
    .action(async (raw: Record<string, string | boolean | undefined>) => {
      const readyTimeoutMs = Number(raw.readyTimeoutMs);
      if (!Number.isInteger(readyTimeoutMs) || readyTimeoutMs < 1) throw new Error(`--ready-timeout-ms must be a positive integer, got '${String(raw.readyTimeoutMs)}'`);
      const natsUrl = typeof raw.nats === 'string' && raw.nats !== '' ? raw.nats : undefined;
      if (natsUrl !== undefined && !/^(nats|tls):\/\/\S+$/.test(natsUrl)) throw new Error(`--nats must be a nats://host:port URL, got '${natsUrl}'`);
      const options: UpOptions = {
        dataDir: resolve(String(raw.dataDir)),
        host: String(raw.host),
        natsUrl,
        natsPort: parsePort(raw.natsPort, '--nats-port'),
        registryPort: parsePort(raw.registryPort, '--registry-port'),
        grpcPort: parsePort(raw.grpcPort, '--grpc-port'),
        monitor: raw.monitor !== false,
        monitorGrpcPort: parsePort(raw.monitorGrpcPort, '--monitor-grpc-port'),
        monitorHttpPort: parsePort(raw.monitorHttpPort, '--monitor-http-port'),
        recommender: raw.recommender !== false,
        recommenderPort: parsePort(raw.recommenderPort, '--recommender-port'),
        readyTimeoutMs,
      };
      const logger = createLogger({ fields: { service: 'up' } });
      const parts: MeshPart[] = [];
      // Ctrl-C, also during start-up: stop what runs, children first, then NATS.
      onShutdownSignal(() => stopParts(parts, logger), logger);
      const failed = () => {
        // A service died: stop the rest and exit non-zero.
        void stopParts(parts, logger).finally(() => process.exit(1));
      };
      const mesh = await up(options, logger, failed, parts);
      process.stdout.write(usage(mesh, options));
      announce('up', {
        grpc: mesh.endpoint('inference', 'grpc'),
        http: mesh.endpoint('inference', 'http'),
        registry: mesh.endpoint('registry', 'grpc'),
        nats: natsUrl ?? mesh.endpoint('nats', 'nats'),
        ...(options.monitor ? { monitor: mesh.endpoint('monitor', 'grpc'), 'monitor-http': mesh.endpoint('monitor', 'http') } : {}),
        ...(options.recommender ? { recommender: mesh.endpoint('recommender', 'grpc') } : {}),
      });
    });
}
