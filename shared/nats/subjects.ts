/**
 * Every NATS subject, JetStream stream and key-value bucket the mesh uses, in
 * one place: producers and consumers import their names from here (DESIGN.md,
 * the contracts). Stream specs (retention, limits) stay beside their codecs;
 * only the names that two processes must agree on live here.
 *
 * Model names are one subject token: the registry refuses dots, spaces and
 * wildcards, and {@link subjectToken} escapes them where a name arrives unchecked.
 */

/** The JetStream stream of registry events (file storage, kept for ever). */
export const REGISTRY_STREAM = 'REGISTRY';
/** Prefix of every registry event subject: `infermesh.registry.<kind>.<model>`. */
export const REGISTRY_SUBJECT_PREFIX = 'infermesh.registry';
/** The subjects of {@link REGISTRY_STREAM}. */
export const REGISTRY_SUBJECTS = `${REGISTRY_SUBJECT_PREFIX}.>`;

/** Prefix of node heartbeats (core NATS, not a stream): `infermesh.node.heartbeat.<node>`. */
export const HEARTBEAT_SUBJECT_PREFIX = 'infermesh.node.heartbeat';
/** What the peer table subscribes to: every node's heartbeat. */
export const HEARTBEAT_SUBJECTS = `${HEARTBEAT_SUBJECT_PREFIX}.*`;
/** The heartbeat subject of one node. */
export function heartbeatSubject(nodeId: string): string {
  return `${HEARTBEAT_SUBJECT_PREFIX}.${nodeId}`;
}

/** The JetStream key-value bucket of placement claims (models with `replicas: N`). */
export const PLACEMENT_BUCKET = 'infermesh-placement';

/** The stream of prediction records, from the inference nodes to the monitor. */
export const PREDICTIONS_STREAM = 'PREDICTIONS';
/** Prefix of prediction records: `infermesh.predictions.<model>`. */
export const PREDICTIONS_SUBJECT_PREFIX = 'infermesh.predictions';
/** The stream of ground-truth labels, from anyone to the monitor. */
export const FEEDBACK_STREAM = 'FEEDBACK';
/** Prefix of feedback: `infermesh.feedback.<model>`. */
export const FEEDBACK_SUBJECT_PREFIX = 'infermesh.feedback';
/** The stream of alerts the monitor raises. */
export const ALERTS_STREAM = 'ALERTS';
/** Prefix of alerts: `infermesh.alerts.<kind>`. */
export const ALERTS_SUBJECT_PREFIX = 'infermesh.alerts';

/** The stream of interaction events the recommender learns from. */
export const INTERACTIONS_STREAM = 'INTERACTIONS';
/** The one subject every interaction is published on. */
export const INTERACTIONS_SUBJECT = 'infermesh.interactions';

/** A name as one NATS subject token: `.`, `*`, `>` and whitespace become `_`. */
export function subjectToken(name: string): string {
  return name.replace(/[.*>\s]/g, '_') || '_';
}
