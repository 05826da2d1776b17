export {
  createRegistryClient,
  hashFile,
  type RegistryClient,
  type RegistryClientOptions,
  type RegistryCallOptions,
  type PushVersionOptions,
  type DownloadOptions,
  type WatchOptions,
} from './registry-client.js';
export { PRODUCTION_ALIAS, CANARY_ALIAS, SERVED_ALIASES } from './aliases.js';
export {
  REGISTRY_STREAM,
  REGISTRY_SUBJECTS,
  REGISTRY_STREAM_SPEC,
  REGISTRY_EVENT_KINDS,
  registryEventSubject,
  registryModelFilter,
  registryEventMessageId,
  registryEventCodec,
  decodeRegistryEvent,
  encodeRegistryEvent,
  type RegistryEventCase,
} from './registry-events.js';
export {
  createRegistryEventFollower,
  DEFAULT_REGISTRY_EVENT_FOLLOWER_OPTIONS,
  type FollowedRegistryEvent,
  type RegistryEventFollower,
  type RegistryEventFollowerOptions,
} from './registry-event-follower.js';
export {
  REFERENCE_LIMITS,
  decodeReferenceProfile,
  encodeReferenceProfile,
  referenceColumns,
  toReferenceProfile,
  type ReferenceColumn,
  type ReferenceProfile,
  type ReferenceProfile__Output,
} from './reference-profile.js';
