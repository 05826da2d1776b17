/** Mesh mode of the inference node: registry follower, heartbeats, peer table, forwarding. */
export { createMesh, type Mesh, type MeshOptions } from './mesh.js';
export { createRegistryFollower, DEFAULT_REGISTRY_FOLLOWER_OPTIONS, type RegistryFollower, type RegistryFollowerOptions } from './registry-follower.js';
export { createHeartbeatPublisher, DEFAULT_HEARTBEAT_INTERVAL_MS, type HeartbeatPublisher, type HeartbeatPublisherOptions } from './heartbeat-publisher.js';
export { HEARTBEAT_SUBJECT_PREFIX, HEARTBEAT_SUBJECTS, heartbeatSubject, heartbeatCodec, isValidNodeId } from './heartbeat-codec.js';
export { createPeerTable, DEFAULT_PEER_TABLE_OPTIONS, type Peer, type PeerTable, type PeerTableOptions } from './peer-table.js';
export { createPeerForwarder, FORWARDED_BY_HEADER, isForwarded, type PeerForwarder, type PeerForwarderOptions } from './peer-forwarder.js';
export { createMeshMissHandler, type MeshMissHandlerOptions } from './mesh-miss-handler.js';
export { createArtifactCache, type ArtifactCache, type ArtifactCacheOptions, type ArtifactRef } from './artifact-cache.js';
export { resolveNodeId } from './node-id.js';
export {
  HEARTBEAT_SIGNATURE_HEADER,
  HEARTBEAT_REJECTIONS,
  createHeartbeatVerifier,
  generateEd25519,
  issueNodeIdentity,
  issueNodeIdentityFile,
  loadHeartbeatTrust,
  readEd25519PublicKey,
  resolveNodeKey,
  signHeartbeat,
  type HeartbeatRejection,
  type HeartbeatSigner,
  type HeartbeatTrust,
  type HeartbeatTrustFiles,
  type HeartbeatVerifier,
  type HeartbeatVerifierOptions,
} from './node-identity.js';
export { createPlacement, readPlacement, placementClaimCodec, DEFAULT_PLACEMENT_OPTIONS, type Placement, type PlacementOptions, type PlacementRow } from './placement.js';
export { PlacementBucket, type BucketEntry } from './placement-bucket.js';
export { isSafeToRetry } from './retry-safety.js';
