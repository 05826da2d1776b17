/**
 * Span and attribute names shared by every instrumented infermesh process and
 * by the monitor, which indexes and aggregates on them. Change them here only.
 */

/** The model a span served (inference server spans, queue, batch, ort.run, forward). */
export const ATTR_MODEL_NAME = 'infermesh.model.name';
/** The model version a span served, as a decimal string (e.g. `"3"`). */
export const ATTR_MODEL_VERSION = 'infermesh.model.version';
/** Number of requests one executed batch served (on `batch` and `ort.run` spans). */
export const ATTR_BATCH_SIZE = 'infermesh.batch.size';
/** The device a session runs on: `cpu`, `cuda:0`, ... */
export const ATTR_DEVICE = 'infermesh.device';
/** The index of the session instance (among the version's instances) that ran a batch (on `batch` and `ort.run`). */
export const ATTR_INSTANCE = 'infermesh.instance';
/** The inference node's id (on server and forward spans). */
export const ATTR_NODE_ID = 'infermesh.node.id';
/** The peer node a request was forwarded to (on `forward` spans). */
export const ATTR_FORWARD_PEER = 'infermesh.forward.peer';
/** The request's priority level in the batching queue (on `queue` spans). */
export const ATTR_QUEUE_PRIORITY = 'infermesh.queue.priority';

/** OpenTelemetry RPC semantic convention attributes (gRPC). */
export const ATTR_RPC_SYSTEM = 'rpc.system';
export const ATTR_RPC_SERVICE = 'rpc.service';
export const ATTR_RPC_METHOD = 'rpc.method';
export const ATTR_RPC_GRPC_STATUS_CODE = 'rpc.grpc.status_code';
/** OpenTelemetry messaging attributes (NATS publish/consume spans). */
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION = 'messaging.destination.name';

/** Names of the inference path's internal spans (DESIGN.md, "Telemetry"). */
export const SPAN_NAMES = {
  /** Time a request waits in its model's batching queue. */
  queue: 'queue',
  /** One executed batch; links to every request span it served. */
  batch: 'batch',
  /** One ONNX Runtime `session.run`, child of its `batch`. */
  ortRun: 'ort.run',
  /** A request hopping to a peer node that holds the model. */
  forward: 'forward',
} as const;
