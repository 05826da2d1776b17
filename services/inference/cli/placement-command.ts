import { Option, type Command } from 'commander';
import { connectNats } from '../../../shared/nats/index.js';
import { addNatsClientOptions, loadNatsSecurityFlags } from '../../../shared/flags/index.js';
import { readPlacement } from '../mesh/index.js';

/**
 * `infermesh models placement [MODEL]`: where the models with `replicas: N`
 * live, read from the `infermesh-placement` bucket: one line per replica slot
 * (model, slot, node, address, since). Registered under `models` (the
 * registry's verbs), so call it after registerRegistryCommands.
 */
export function registerPlacementCommand(program: Command): void {
  const models = program.commands.find((c) => c.name() === 'models') ?? program.command('models').description('The model registry from the command line');
  addNatsClientOptions(models.command('placement'))
    .description('Where placed models (replicas: N in their serving config) live: the claims in the infermesh-placement bucket')
    .argument('[model]', 'one model (default: all)')
    .addOption(new Option('--nats <url>', 'NATS server with JetStream').env('NATS_URL').default('nats://127.0.0.1:4222'))
    .option('--json', 'print JSON instead of a table')
    .action(async (model: string | undefined, flags: { nats: string; json?: boolean }) => {
      const nc = await connectNats({ url: flags.nats, name: 'infermesh-cli', ...(await loadNatsSecurityFlags(flags, flags.nats)) });
      try {
        const rows = await readPlacement(nc, model);
        if (flags.json) {
          process.stdout.write(JSON.stringify(rows) + '\n');
          return;
        }
        if (rows.length === 0) {
          process.stdout.write(model ? `model '${model}' has no placed replicas (without replicas: N every node serves it)\n` : 'no placed models\n');
          return;
        }
        const table = [['MODEL', 'SLOT', 'NODE', 'ADDRESS', 'SINCE'], ...rows.map((r) => [r.model, String(r.slot), r.nodeId, r.grpcAddress, new Date(r.claimedAtMs).toISOString()])];
        const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
        for (const row of table) process.stdout.write(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
      } finally {
        await nc.close();
      }
    });
}
