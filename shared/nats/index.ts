export { NatsServerProcess, type NatsServerTls, type NatsUser } from './nats-server-process.js';
export { natsPermissions, NATS_ROLES, type NatsRole } from './nats-permissions.js';
export { NatsCluster } from './nats-cluster.js';
export { connectNats, readNkeySeed, type ConnectNatsOptions } from './connect.js';
export { ensureStream, isStreamNotFound, type StreamSpec } from './jetstream-stream.js';
export {
  REGISTRY_STREAM,
  REGISTRY_SUBJECT_PREFIX,
  REGISTRY_SUBJECTS,
  HEARTBEAT_SUBJECT_PREFIX,
  HEARTBEAT_SUBJECTS,
  heartbeatSubject,
  PLACEMENT_BUCKET,
  PREDICTIONS_STREAM,
  PREDICTIONS_SUBJECT_PREFIX,
  FEEDBACK_STREAM,
  FEEDBACK_SUBJECT_PREFIX,
  ALERTS_STREAM,
  ALERTS_SUBJECT_PREFIX,
  INTERACTIONS_STREAM,
  INTERACTIONS_SUBJECT,
  subjectToken,
} from './subjects.js';
export { createEventCodec, type EventCodec } from './event-codec.js';
export { addNatsReplicasOption, parseNatsReplicas } from './stream-replicas.js';
