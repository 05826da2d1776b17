/** Mesh mode of the inference node: registry follower, heartbeats, peer table, forwarding. */
export { createMesh, type Mesh, type MeshOptions } from './mesh.js';
export { HEARTBEAT_SUBJECTS, heartbeatSubject, heartbeatCodec } from './heartbeat-codec.js';
export { createPeerTable, type Peer } from './peer-table.js';
export { createPeerForwarder, FORWARDED_BY_HEADER, type PeerForwarder } from './peer-forwarder.js';
export { resolveNodeId } from './node-id.js';
export {
  HEARTBEAT_SIGNATURE_HEADER,
  createHeartbeatVerifier,
  loadHeartbeatTrust,
  readNodeIdentity,
  resolveNodeKey,
  signHeartbeat,
  writeNodeIdentity,
  type HeartbeatTrust,
} from './node-identity.js';
export { readPlacement } from './placement.js';
