import { createEventCodec, type EventCodec } from '../../../shared/nats/index.js';
import type { NodeHeartbeat, NodeHeartbeat__Output } from '../../../shared/generated/infermesh/events/v1/NodeHeartbeat.js';

/** Subject prefix of node heartbeats: `infermesh.node.heartbeat.<node>` (core NATS). */
export const HEARTBEAT_SUBJECT_PREFIX = 'infermesh.node.heartbeat';

/** The subject filter for every node's heartbeat. */
export const HEARTBEAT_SUBJECTS = `${HEARTBEAT_SUBJECT_PREFIX}.*`;

/** The heartbeat subject of one node. Node ids are one subject token (see {@link isValidNodeId}). */
export function heartbeatSubject(nodeId: string): string {
  return `${HEARTBEAT_SUBJECT_PREFIX}.${nodeId}`;
}

/** Node ids are 1-64 characters of `A-Z a-z 0-9 _ -`: one NATS subject token and a valid durable consumer name. */
export function isValidNodeId(nodeId: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(nodeId);
}

let codec: EventCodec<NodeHeartbeat, NodeHeartbeat__Output> | undefined;

/** The protobuf codec of `infermesh.events.v1.NodeHeartbeat` (protos/infermesh/events/v1/heartbeat.proto). */
export function heartbeatCodec(): EventCodec<NodeHeartbeat, NodeHeartbeat__Output> {
  codec ??= createEventCodec<NodeHeartbeat, NodeHeartbeat__Output>('infermesh/events/v1/heartbeat.proto', 'infermesh.events.v1.NodeHeartbeat');
  return codec;
}
