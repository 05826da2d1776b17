import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

/**
 * Options every infermesh service and client loads its protos with. They must
 * match the flags in scripts/gen-proto-types.mjs so that the generated types
 * describe the objects grpc-js hands out: camelCase fields, 64-bit integers as
 * strings, enums as their names, defaults filled in, oneofs named.
 */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cachedDir: string | undefined;

/** The repository's `protos/` folder, found from this file whether it runs from source or from dist/. */
export function protosDir(): string {
  if (cachedDir) return cachedDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'protos');
    if (existsSync(join(candidate, 'inference', 'grpc_service.proto'))) return (cachedDir = candidate);
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the protos/ folder above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/**
 * Loads proto files (paths relative to protos/) into a grpc-js package object.
 * Callers cast the result to the generated `ProtoGrpcType` of that file.
 */
export function loadProtos(files: readonly string[]): GrpcObject {
  const definition = loadSync(files.map((f) => join(protosDir(), f)), { ...PROTO_LOADER_OPTIONS, includeDirs: [protosDir()] });
  return loadPackageDefinition(definition);
}
