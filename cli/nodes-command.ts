// `infermesh nodes identity`: asks the registry to issue a node's identity (the
// statement its heartbeats carry, signed with the registry's key) for the node
// key in its data directory, and writes it where `--node-identity` reads it.
// `infermesh nodes nats-key`: another node's own NATS nkey for `up --secure`.
import { createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { Command } from 'commander';
import { decodeNodeIdentity, nodeIdProblem } from '../shared/auth/index.js';
import { resolveNodeKey, writeNodeIdentity } from '../services/inference/mesh/index.js';
import { UsageError, usageExitCodes } from '../services/registry/cli/cli-errors.js';
import type { GovernanceClient } from '../services/registry/cli/governance-client.js';
import { TOKEN_ENV, isoTime, parseDurationMs, registryAddressOption, withGovernanceClient } from '../services/registry/cli/governance-cli.js';
import { ensureNodeNatsKey } from './node-nats-key.js';

/** The identity file's name in a node's data directory (what `up --secure` passes as `--node-identity`). */
export const NODE_IDENTITY_FILE = 'node-identity.json';

interface IdentityFlags {
  nodeId: string;
  dataDir: string;
  out?: string;
  validFor?: string;
  registry?: string;
}

/** Options of {@link requestNodeIdentity}. */
export interface NodeIdentityRequestOptions {
  nodeId: string;
  /** The node's data dir: its key is `<dataDir>/node-key.pem` (made when missing). */
  dataDir: string;
  /** Where the identity goes. Default `<dataDir>/node-identity.json`. */
  out?: string;
  /** 0 or absent: the registry's default (30 days). */
  validForMs?: number;
}

/** Reads (or makes) the node key, has the registry issue its identity, and writes the identity file; resolves with the file and expiry. */
export async function requestNodeIdentity(client: GovernanceClient, options: NodeIdentityRequestOptions): Promise<{ file: string; expiresUnixMs: number }> {
  const nodeKey = await resolveNodeKey(options.dataDir);
  const nodePublicKeyPem = createPublicKey(nodeKey).export({ type: 'spki', format: 'pem' }).toString();
  const res = await client.issueNodeIdentity({ nodeId: options.nodeId, nodePublicKeyPem, validForMs: options.validForMs ?? 0 });
  const file = options.out ?? join(options.dataDir, NODE_IDENTITY_FILE);
  await writeNodeIdentity(file, decodeNodeIdentity(res.identity));
  return { file, expiresUnixMs: Number(res.expiresUnixMs) };
}

/** `infermesh nodes identity`: a node identity issued by the registry. */
export function nodesCommand(): Command {
  const nodes = usageExitCodes(new Command('nodes').description('Inference nodes: identities issued by the registry (signed heartbeats), and their own NATS nkeys under up --secure.'));
  nodes
    .command('identity')
    .description(`Have the registry issue this node's identity (needs an admin token in ${TOKEN_ENV}) for the node key in --data-dir, and write it for --node-identity.`)
    .requiredOption('--node-id <id>', 'the node id (1-64 of letters, digits, _ and -)')
    .requiredOption('--data-dir <dir>', "the node's data directory: its key is <dir>/node-key.pem (made when missing)")
    .option('--out <file>', `where to write the identity (default <data-dir>/${NODE_IDENTITY_FILE})`)
    .option('--valid-for <duration>', 'how long it is good for: 12h, 30d, ... (default 30d, at most 366d)')
    .addOption(registryAddressOption())
    .action((flags: IdentityFlags) =>
      withGovernanceClient('nodes identity', flags, async (client) => {
        const badId = nodeIdProblem(flags.nodeId);
        if (badId) throw new UsageError(`--node-id: ${badId}`);
        const { file, expiresUnixMs } = await requestNodeIdentity(client, {
          nodeId: flags.nodeId,
          dataDir: flags.dataDir,
          ...(flags.out ? { out: flags.out } : {}),
          ...(flags.validFor ? { validForMs: parseDurationMs(flags.validFor, '--valid-for') } : {}),
        });
        process.stdout.write(`wrote the identity of node ${flags.nodeId} to ${file} (issued by the registry, expires ${isoTime(expiresUnixMs)})\n`);
      }),
    );
  nodes
    .command('nats-key')
    .description("Make another node's own NATS nkey for `infermesh up --secure` (<data-dir>/secure/nats/nodes/<id>.nk, mode 0600; kept when it exists), for the node's --nats-nkey.")
    .requiredOption('--node-id <id>', 'the node id (1-64 of letters, digits, _ and -)')
    .option('--data-dir <dir>', 'the data directory of `infermesh up --secure`', '.data')
    .action(async (flags: { nodeId: string; dataDir: string }) => {
      const badId = nodeIdProblem(flags.nodeId);
      if (badId) throw new UsageError(`--node-id: ${badId}`);
      const { seedFile, made } = await ensureNodeNatsKey(join(flags.dataDir, 'secure'), flags.nodeId);
      process.stdout.write(
        `${made ? 'wrote' : 'kept'} the NATS nkey of node ${flags.nodeId} in ${seedFile}; ` +
          "a running `infermesh up --secure` accepts it at once (its nats-server reloads its users); delete the file to revoke this node alone\n",
      );
    });
  return nodes;
}

/** Adds `nodes` to the program. */
export function registerNodesCommand(program: Command): void {
  program.addCommand(nodesCommand());
}
