import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_LOADER_OPTIONS, protosDir } from '../proto/index.js';

/**
 * Encodes and decodes one protobuf message type for NATS payloads (events are
 * protobuf, never ad-hoc JSON). Objects have the shape of the generated types
 * in shared/generated: `TIn` is the permissive input type, `TOut` the `__Output`
 * type that grpc-js would hand out (camelCase, 64-bit integers as strings, enums
 * as names, defaults filled in, oneofs named).
 */
export interface EventCodec<TIn, TOut> {
  /** The message's full name, e.g. `infermesh.events.v1.RegistryEvent`. */
  readonly typeName: string;
  encode(message: TIn): Uint8Array;
  /** Throws an Error naming the type when the bytes are not such a message. */
  decode(bytes: Uint8Array): TOut;
}

const roots = new Map<string, protobuf.Root>();

/** One protobufjs root per proto file (paths relative to protos/), imports resolved inside protos/. */
function rootFor(file: string): protobuf.Root {
  let root = roots.get(file);
  if (!root) {
    root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(protosDir(), target);
    root.loadSync(file, { keepCase: false });
    root.resolveAll();
    roots.set(file, root);
  }
  return root;
}

/**
 * A codec for message `typeName` declared in `protoFile` (relative to protos/),
 * e.g. `createEventCodec('infermesh/events/v1/registry_events.proto', 'infermesh.events.v1.RegistryEvent')`.
 */
export function createEventCodec<TIn extends object, TOut>(protoFile: string, typeName: string): EventCodec<TIn, TOut> {
  const type = rootFor(protoFile).lookupType(typeName);
  const toObjectOptions: protobuf.IConversionOptions = {
    longs: String,
    enums: String,
    defaults: PROTO_LOADER_OPTIONS.defaults ?? true,
    oneofs: PROTO_LOADER_OPTIONS.oneofs ?? true,
    arrays: true,
    objects: true,
  };
  return {
    typeName,
    encode: (message) => type.encode(type.fromObject(message)).finish(),
    decode: (bytes) => {
      try {
        return type.toObject(type.decode(bytes), toObjectOptions) as TOut;
      } catch (err) {
        throw new Error(`not a ${typeName}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
