import { createEventCodec, REGISTRY_STREAM, REGISTRY_SUBJECT_PREFIX, REGISTRY_SUBJECTS, type EventCodec, type StreamSpec } from '../nats/index.js';
import type { RegistryEvent, RegistryEvent__Output } from '../generated/infermesh/events/v1/RegistryEvent.js';

// The stream's and subjects' names are shared/nats/subjects.ts's; re-exported
// because producer and consumers of registry events import them from here.
export { REGISTRY_STREAM, REGISTRY_SUBJECTS };

/** The kinds of registry event, as they appear in subjects (`infermesh.registry.<kind>.<model>`). */
export const REGISTRY_EVENT_KINDS = {
  modelCreated: 'model.created',
  modelUpdated: 'model.updated',
  versionCreated: 'version.created',
  versionDeleted: 'version.deleted',
  aliasChanged: 'alias.changed',
  referenceSet: 'reference.set',
} as const;

/** The name of the oneof member a RegistryEvent carries, e.g. `versionCreated`. */
export type RegistryEventCase = keyof typeof REGISTRY_EVENT_KINDS;

/**
 * The subject of an event: `infermesh.registry.<kind>.<model>`, e.g.
 * `infermesh.registry.version.created.resnet`. Model names never contain dots,
 * spaces or wildcards (the registry refuses them), so a model is one subject token.
 */
export function registryEventSubject(event: RegistryEventCase, model: string): string {
  return `${REGISTRY_SUBJECT_PREFIX}.${REGISTRY_EVENT_KINDS[event]}.${model}`;
}

/** The subject filter for every event of one model: `infermesh.registry.*.*.<model>`. */
export function registryModelFilter(model: string): string {
  return `${REGISTRY_SUBJECT_PREFIX}.*.*.${model}`;
}

/** The JetStream message id of an event: `<registryId>:<sequence>`, stable across resends. */
export function registryEventMessageId(registryId: string, sequence: number | string): string {
  return `${registryId}:${sequence}`;
}

let codec: EventCodec<RegistryEvent, RegistryEvent__Output> | undefined;

/** The protobuf codec of `infermesh.events.v1.RegistryEvent` (the payload of every REGISTRY message). */
export function registryEventCodec(): EventCodec<RegistryEvent, RegistryEvent__Output> {
  codec ??= createEventCodec<RegistryEvent, RegistryEvent__Output>('infermesh/events/v1/registry_events.proto', 'infermesh.events.v1.RegistryEvent');
  return codec;
}

/** Decodes a REGISTRY message's payload. */
export function decodeRegistryEvent(bytes: Uint8Array): RegistryEvent__Output {
  return registryEventCodec().decode(bytes);
}

/** Encodes a RegistryEvent (the registry's publisher uses this). */
export function encodeRegistryEvent(event: RegistryEvent): Uint8Array {
  return registryEventCodec().encode(event);
}

/**
 * The REGISTRY stream's configuration: every registry subject, file storage,
 * kept for ever, with a 10-minute duplicate window for `Nats-Msg-Id`.
 */
export const REGISTRY_STREAM_SPEC: StreamSpec = {
  name: REGISTRY_STREAM,
  subjects: [REGISTRY_SUBJECTS],
  storage: 'file',
  duplicateWindowMs: 10 * 60_000,
};
