export { NatsServerProcess, NatsServerMissingError, findNatsServer, natsServerConfig, type NatsServerOptions, type NatsClusterMembership, type NatsServerTls, type NatsUser } from './nats-server-process.js';
export { natsPermissions, NATS_ROLES, type NatsRole, type NatsPermissions } from './nats-permissions.js';
export { NatsCluster, type NatsClusterOptions, type NatsClusterMemberOptions } from './nats-cluster.js';
export { connectNats, readNkeySeed, DEFAULT_CONNECT_NATS_OPTIONS, type ConnectNatsOptions } from './connect.js';
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
export { addNatsReplicasOption, parseNatsReplicas, DEFAULT_NATS_REPLICAS } from './stream-replicas.js';
