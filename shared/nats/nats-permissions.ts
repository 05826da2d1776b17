// Who may publish and subscribe to what on the mesh's NATS: one role per kind of
// service, each with its own nkey (see nats-server-process.ts, which writes them
// into nats-server's `authorization` block). Anything not allowed is refused by
// the server with a permission violation.
//
// The subjects, by owner:
//   infermesh.node.heartbeat.<node>   core NATS; nodes publish, nodes (and the CLI's status view) read
//   infermesh.registry.>              JetStream REGISTRY; only the registry publishes
//   infermesh.predictions.>           JetStream PREDICTIONS; nodes publish, the monitor reads
//   infermesh.feedback.>              JetStream FEEDBACK; the CLI publishes, the monitor reads
//   infermesh.alerts.>                JetStream ALERTS; the monitor publishes, the CLI reads
//   infermesh.interactions            JetStream INTERACTIONS; clients and the recommender publish, the recommender reads
//   $KV.infermesh-placement.>         the placement bucket (stream KV_infermesh-placement); nodes only
//   $JS.API.>                         JetStream's API, allowed per stream (create/update/info, consumers); never delete or purge
//   _INBOX.>                          replies to requests (every JetStream call is one)

/** The kinds of NATS user of the mesh. */
export type NatsRole = 'node' | 'registry' | 'monitor' | 'recommender' | 'client';

/** The list of every role, e.g. to make one nkey each. */
export const NATS_ROLES: readonly NatsRole[] = ['node', 'registry', 'monitor', 'recommender', 'client'];

/** Publish and subscribe allow-lists of one user (nats-server's `permissions`). */
export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

const PLACEMENT_STREAM = 'KV_infermesh-placement';

/** Creating, updating and reading a stream's configuration, without delete or purge. */
function manageStream(stream: string): string[] {
  return [`$JS.API.STREAM.CREATE.${stream}`, `$JS.API.STREAM.UPDATE.${stream}`, `$JS.API.STREAM.INFO.${stream}`];
}

/** Consumers on a stream: create (ephemeral, durable, ordered), info, delete, pull, ack. */
function consume(stream: string): string[] {
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.>`,
    `$JS.API.CONSUMER.DELETE.${stream}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
    `$JS.ACK.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
}

const COMMON_PUBLISH = ['$JS.API.INFO', '$JS.API.STREAM.NAMES'];
const COMMON_SUBSCRIBE = ['_INBOX.>'];

/**
 * The permissions of `role`. With `nodeId`, a node may publish only its own
 * heartbeat subject (a per-node nkey); without, any node's (one shared node nkey;
 * signed heartbeats then tell nodes apart).
 */
export function natsPermissions(role: NatsRole, options: { nodeId?: string } = {}): NatsPermissions {
  const tables: Record<NatsRole, () => NatsPermissions> = {
    node: () => ({
      publish: [
        `infermesh.node.heartbeat.${options.nodeId ?? '*'}`,
        'infermesh.predictions.>',
        `$KV.infermesh-placement.>`,
        ...manageStream('REGISTRY'),
        ...manageStream('PREDICTIONS'),
        ...manageStream(PLACEMENT_STREAM),
        ...consume('REGISTRY'),
        ...consume(PLACEMENT_STREAM),
        `$JS.API.DIRECT.GET.${PLACEMENT_STREAM}`,
        `$JS.API.DIRECT.GET.${PLACEMENT_STREAM}.>`,
        `$JS.API.STREAM.MSG.GET.${PLACEMENT_STREAM}`,
      ],
      subscribe: ['infermesh.node.heartbeat.*'],
    }),
    registry: () => ({ publish: ['infermesh.registry.>', ...manageStream('REGISTRY')], subscribe: [] }),
    monitor: () => ({
      publish: ['infermesh.alerts.>', ...manageStream('PREDICTIONS'), ...manageStream('FEEDBACK'), ...manageStream('ALERTS'), ...consume('PREDICTIONS'), ...consume('FEEDBACK'), ...consume('REGISTRY')],
      subscribe: ['infermesh.registry.reference.set.*'],
    }),
    // REGISTRY: it follows its model's production alias (and token revocations) there.
    recommender: () => ({ publish: ['infermesh.interactions', ...manageStream('INTERACTIONS'), ...consume('INTERACTIONS'), ...consume('REGISTRY')], subscribe: [] }),
    client: () => ({
      // The placement bucket read-only (`models placement`): consumers and direct gets, no puts.
      publish: [
        'infermesh.feedback.>', 'infermesh.interactions', ...manageStream('FEEDBACK'), ...manageStream('ALERTS'), ...consume('ALERTS'), ...consume('REGISTRY'),
        ...consume(PLACEMENT_STREAM), `$JS.API.DIRECT.GET.${PLACEMENT_STREAM}`, `$JS.API.DIRECT.GET.${PLACEMENT_STREAM}.>`, `$JS.API.STREAM.MSG.GET.${PLACEMENT_STREAM}`,
      ],
      subscribe: ['infermesh.node.heartbeat.*'],
    }),
  };
  const p = tables[role]();
  return { publish: [...COMMON_PUBLISH, ...p.publish], subscribe: [...COMMON_SUBSCRIBE, ...p.subscribe] };
}
