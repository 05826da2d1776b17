export { openRegistryStore } from './open-store.js';
export type { AliasRecord, ModelRecord, NewReference, NewVersion, OutboxEvent, ReferenceRecord, RegistryStore, RegistrySnapshot, TokenRecord, VersionRecord, WriteContext } from './types.js';
