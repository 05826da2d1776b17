import { Option, type Command } from 'commander';

/** Copies of each stream (and key-value bucket) the mesh creates: 1 on one NATS server. */
export const DEFAULT_NATS_REPLICAS = 1;
/** JetStream's own limit on replicas. */
const MAX_NATS_REPLICAS = 5;

/** Adds `--nats-replicas <n>` (env INFERMESH_NATS_REPLICAS, default 1) to a service command. */
export function addNatsReplicasOption<C extends Command>(command: C): C {
  command.addOption(
    new Option('--nats-replicas <n>', 'copies of the JetStream streams and buckets this service creates (3 on a three-server NATS cluster)')
      .env('INFERMESH_NATS_REPLICAS')
      .default(String(DEFAULT_NATS_REPLICAS)),
  );
  return command;
}

/** Validates `--nats-replicas`: a whole number 1..5. */
export function parseNatsReplicas(value: unknown, flag = '--nats-replicas'): number {
  const n = Number(value ?? DEFAULT_NATS_REPLICAS);
  if (!Number.isInteger(n) || n < 1 || n > MAX_NATS_REPLICAS || String(value ?? '1').trim() === '') {
    throw new Error(`${flag} must be a whole number 1-${MAX_NATS_REPLICAS} (JetStream's limit), got '${String(value)}'`);
  }
  return n;
}
