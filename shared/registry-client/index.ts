export { createRegistryClient, hashFile, type RegistryClient, type RegistryCallOptions, type RegistryClientOptions } from './registry-client.js';
export { PRODUCTION_ALIAS, CANARY_ALIAS, SERVED_ALIASES } from './aliases.js';
export { REGISTRY_STREAM, REGISTRY_STREAM_SPEC, registryEventSubject, registryEventMessageId, decodeRegistryEvent, encodeRegistryEvent, type RegistryEventCase } from './registry-events.js';
export { createRegistryEventFollower, type FollowedRegistryEvent, type RegistryEventFollower } from './registry-event-follower.js';
export { referenceColumns, toReferenceProfile, type ReferenceColumn, type ReferenceProfile } from './reference-profile.js';
