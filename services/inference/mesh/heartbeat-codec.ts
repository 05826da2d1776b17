import { createEventCodec, type EventCodec } from '../../../shared/nats/index.js';
import type { NodeHeartbeat, NodeHeartbeat__Output } from '../../../shared/generated/infermesh/events/v1/NodeHeartbeat.js';

export { HEARTBEAT_SUBJECT_PREFIX, HEARTBEAT_SUBJECTS, heartbeatSubject } from '../../../shared/nats/index.js';

let codec: EventCodec<NodeHeartbeat, NodeHeartbeat__Output> | undefined;

/** The protobuf codec of `infermesh.events.v1.NodeHeartbeat` (protos/infermesh/events/v1/heartbeat.proto). */
export function heartbeatCodec(): EventCodec<NodeHeartbeat, NodeHeartbeat__Output> {
  codec ??= createEventCodec<NodeHeartbeat, NodeHeartbeat__Output>('infermesh/events/v1/heartbeat.proto', 'infermesh.events.v1.NodeHeartbeat');
  return codec;
}
