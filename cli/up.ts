// `infermesh up`: the whole mesh on one machine. Today it is one inference node
// serving a demo model; each later service adds one `start*` step to `up()`.
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createLogger, type Logger } from '../shared/logging/index.js';
import { isPortTaken } from '../shared/net/index.js';
import { announce, onShutdownSignal } from '../shared/process/index.js';
import { DEMO_MODEL_NAME, startInferenceNode, writeDemoRepository } from '../services/inference/index.js';
import { parsePort } from '../services/inference/cli/index.js';

/** Validated options of `infermesh up`. */
export interface UpOptions {
  /** Where every service keeps its data (default `.data/` in the cwd). */
  dataDir: string;
  /** Inference node gRPC port (default 8001; a free port when 8001 is taken). */
  grpcPort: number;
  host: string;
}

/** One started service: its name, endpoints (as announced) and how to stop it. */
export interface StartedService {
  name: string;
  endpoints: Record<string, string>;
  close(): Promise<void>;
}

/** The running mesh; `close()` stops the services in reverse start order. */
export interface Mesh {
  services: StartedService[];
  close(): Promise<void>;
}

/** Starts the mesh's services in order; stops what started if a later one fails. */
export async function up(options: UpOptions, logger: Logger): Promise<Mesh> {
  const services: StartedService[] = [];
  const close = async () => {
    for (const s of [...services].reverse()) await s.close();
  };
  try {
    services.push(await startDemoInference(options, logger));
  } catch (err) {
    await close();
    throw err;
  }
  return { services, close };
}

async function startDemoInference(options: UpOptions, logger: Logger): Promise<StartedService> {
  const repositoryDir = join(options.dataDir, 'models');
  await writeDemoRepository(repositoryDir);
  const port = options.grpcPort !== 0 && (await isPortTaken(options.grpcPort, options.host)) ? 0 : options.grpcPort;
  const node = await startInferenceNode({ repositoryDir, host: options.host, grpcPort: port, logger: logger.child({ service: 'inference' }) });
  return { name: 'inference', endpoints: { grpc: node.grpcAddress }, close: () => node.close() };
}

/** Registers `infermesh up`. */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('Run the mesh on this machine with a demo model, and print where each service listens')
    .option('--data-dir <dir>', 'where services keep their data', process.env.INFERMESH_DATA_DIR ?? '.data')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--grpc-port <port>', 'inference node gRPC port (a free one when taken; 0 = always a free one)', '8001')
    .action(async (raw: { dataDir: string; host: string; grpcPort: string }) => {
      const options: UpOptions = { dataDir: resolve(raw.dataDir), host: raw.host, grpcPort: parsePort(raw.grpcPort, '--grpc-port') };
      const logger = createLogger({ fields: { service: 'up' } });
      const mesh = await up(options, logger);
      onShutdownSignal(() => mesh.close(), logger);
      for (const s of mesh.services) announce(s.name, s.endpoints);
      const grpc = mesh.services.find((s) => s.name === 'inference')!.endpoints.grpc!;
      const inputs = '{"x":{"datatype":"FP32","shape":[1,4],"data":[0.1,0.2,0.3,0.4]}}';
      const body = `{"model_name":"${DEMO_MODEL_NAME}","inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"contents":{"fp32_contents":[0.1,0.2,0.3,0.4]}}]}`;
      process.stdout.write(
        [
          '',
          `Serving model '${DEMO_MODEL_NAME}' (x: FP32 [batch,4] -> probabilities: FP32 [batch,3]) at ${grpc}. Try:`,
          `  npx infermesh infer --server ${grpc} --model ${DEMO_MODEL_NAME} --inputs '${inputs}'`,
          `  grpcurl -plaintext -import-path protos -proto inference/grpc_service.proto -d '${body}' ${grpc} inference.GRPCInferenceService/ModelInfer`,
          'Ctrl-C stops everything.',
          '',
        ].join('\n'),
      );
    });
}
