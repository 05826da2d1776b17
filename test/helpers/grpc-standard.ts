// Clients of the standard gRPC services every infermesh server carries: the
// health service (grpc.health.v1) and server reflection (grpc.reflection.v1),
// built from the protos their packages ship, the way a third-party tool
// (grpc_health_probe, grpcurl, Kubernetes' gRPC probe) would call them.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { credentials, loadPackageDefinition, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

const require = createRequire(import.meta.url);
const reflectionProto = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');
const OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

type Ctor<M extends string> = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client & Record<M, (...args: unknown[]) => unknown>;
const health = (loadPackageDefinition(loadSync(healthProtoPath, OPTIONS)) as unknown as { grpc: { health: { v1: { Health: Ctor<'Check' | 'Watch'> } } } }).grpc.health.v1.Health;
const reflection = (loadPackageDefinition(loadSync(reflectionProto, OPTIONS)) as unknown as { grpc: { reflection: { v1: { ServerReflection: Ctor<'ServerReflectionInfo'> } } } }).grpc.reflection.v1
  .ServerReflection;

/** grpc.health.v1.Health/Check: resolves with the status name, rejects with the gRPC error. */
export function healthCheck(address: string, service = '', timeoutMs = 5000): Promise<string> {
  const client = new health(address, credentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    client.Check({ service }, { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, res: { status: string }) => (err ? reject(err) : resolve(res.status)));
  }).finally(() => client.close());
}

/** An open Watch: every status received so far, and how the stream ended. */
export interface HealthWatch {
  readonly statuses: string[];
  /** Resolves when the stream ends: null for OK, the error otherwise. */
  readonly ended: Promise<ServiceError | null>;
  /** Resolves once `status` has been received (at once if it was). */
  until(status: string, timeoutMs?: number): Promise<void>;
  cancel(): void;
}

/** grpc.health.v1.Health/Watch. */
export function healthWatch(address: string, service = ''): HealthWatch {
  const client = new health(address, credentials.createInsecure());
  const call = client.Watch({ service }) as ClientReadableStream<{ status: string }>;
  const statuses: string[] = [];
  const waiters: Array<{ status: string; resolve(): void }> = [];
  call.on('data', (m: { status: string }) => {
    statuses.push(m.status);
    for (const w of waiters.filter((w) => w.status === m.status)) w.resolve();
  });
  const ended = new Promise<ServiceError | null>((resolve) => {
    call.on('error', (err: ServiceError) => resolve(err));
    call.on('end', () => resolve(null));
  }).finally(() => client.close());
  return {
    statuses,
    ended,
    until(status, timeoutMs = 30_000) {
      if (statuses.includes(status)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${status} within ${timeoutMs} ms; got ${JSON.stringify(statuses)}`)), timeoutMs);
        waiters.push({ status, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    cancel: () => call.cancel(),
  };
}

interface ReflectionResponse {
  message_response: string;
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

/** One request on a grpc.reflection.v1 ServerReflectionInfo stream. */
function reflect(address: string, request: Record<string, string>): Promise<ReflectionResponse> {
  const client = new reflection(address, credentials.createInsecure());
  const call = client.ServerReflectionInfo({ deadline: Date.now() + 5000 }) as NodeJS.ReadWriteStream & { end(): void };
  return new Promise<ReflectionResponse>((resolve, reject) => {
    call.on('data', (r: ReflectionResponse) => resolve(r));
    call.on('error', reject);
    call.write(request as never);
    call.end();
  }).finally(() => client.close());
}

/** The services `grpcurl ADDRESS list` would print, sorted. */
export async function listServices(address: string): Promise<string[]> {
  const r = await reflect(address, { list_services: '' });
  if (!r.list_services_response) throw new Error(`list_services answered ${r.message_response}: ${JSON.stringify(r.error_response)}`);
  return r.list_services_response.service.map((s) => s.name).sort();
}

/** How many file descriptors describe `symbol` (what `grpcurl describe SYMBOL` reads); rejects when reflection does not know it. */
export async function describeSymbol(address: string, symbol: string): Promise<number> {
  const r = await reflect(address, { file_containing_symbol: symbol });
  if (!r.file_descriptor_response) throw new Error(`file_containing_symbol ${symbol}: ${JSON.stringify(r.error_response)}`);
  return r.file_descriptor_response.file_descriptor_proto.length;
}
