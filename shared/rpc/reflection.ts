import { join } from 'node:path';
import type { Server } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { PROTO_LOADER_OPTIONS, protosDir } from '../proto/index.js';
import { addHealthService, HEALTH_SERVICE_NAME, type HealthService, type HealthServiceOptions } from './health.js';

/**
 * Adds gRPC server reflection (v1 and v1alpha) describing the services in
 * `protoFiles` (paths relative to protos/) and the health service, so that
 * `grpcurl host:port list` and `describe` work without `-proto` flags.
 */
export function addReflectionService(server: Pick<Server, 'addService'>, protoFiles: readonly string[]): void {
  const ours = loadSync(protoFiles.map((f) => join(protosDir(), f)), { ...PROTO_LOADER_OPTIONS, includeDirs: [protosDir()] });
  const health = loadSync(healthProtoPath, PROTO_LOADER_OPTIONS);
  const definition: PackageDefinition = { ...ours, ...health };
  new ReflectionService(definition).addToServer(server);
}

/** Options of {@link addStandardServices}. */
export interface StandardServicesOptions extends Omit<HealthServiceOptions, 'services'> {
  /** The proto files (relative to protos/) of the services the server hosts. */
  protoFiles: readonly string[];
  /** Their fully-qualified service names. */
  services: readonly string[];
}

/**
 * What every infermesh gRPC server carries besides its own API: the standard
 * health service and server reflection. Returns the health service, whose
 * status the process sets as it becomes ready and as it drains.
 */
export function addStandardServices(server: Pick<Server, 'addService'>, options: StandardServicesOptions): HealthService {
  const health = addHealthService(server, options);
  addReflectionService(server, options.protoFiles);
  return health;
}

export { HEALTH_SERVICE_NAME };
