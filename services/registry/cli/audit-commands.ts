import { Command, type Command as CommandType } from 'commander';
import { EXIT, UsageError, usageExitCodes } from './cli-errors.js';
import { isoTime, parseTimeMs, registryAddressOption, table, withGovernanceClient } from './governance-cli.js';
import { parseIntegerText, UINT32_MAX } from '../../../shared/numbers/index.js';

/** Most entries `audit list` prints by default. */
const DEFAULT_LIST_LIMIT = 100;
/** Entries per ListAudit page. */
const PAGE = 1000;

/** `infermesh audit list|verify`: the registry's hash-chained audit log. */
export function auditCommand(): Command {
  const audit = usageExitCodes(new Command('audit').description('Show and verify the audit log of every change the registry made.'));

  audit
    .command('list')
    .description('Audit entries, oldest first: sequence, time, who, from where, what.')
    .option('--model <model>', 'only entries about this model')
    .option('--from <sequence>', 'start at this entry', '1')
    .option('--limit <n>', `print at most this many entries (default ${DEFAULT_LIST_LIMIT})`)
    .addOption(registryAddressOption())
    .action((flags: { registry?: string; model?: string; from: string; limit?: string }) =>
      withGovernanceClient('audit list', flags, async (client) => {
        let next = integer(flags.from, '--from', 1, Number.MAX_SAFE_INTEGER);
        const limit = flags.limit === undefined ? DEFAULT_LIST_LIMIT : integer(flags.limit, '--limit', 1, UINT32_MAX);
        const rows: string[][] = [];
        while (next > 0 && rows.length < limit) {
          const page = await client.listAudit({ model: flags.model ?? '', fromSequence: next, limit: Math.min(PAGE, limit - rows.length) });
          for (const e of page.entries) rows.push([String(e.sequence), isoTime(e.atUnixMs), e.subject, e.address || '-', e.action, e.model || '-', e.detailsJson]);
          next = Number(page.nextSequence);
        }
        process.stdout.write(table(['SEQ', 'TIME', 'SUBJECT', 'ADDRESS', 'ACTION', 'MODEL', 'DETAILS'], rows));
      }),
    );

  audit
    .command('verify')
    .description('Walk the hash chain; exit 1 naming the first entry that was edited or removed.')
    .addOption(registryAddressOption())
    .action((flags: { registry?: string }) =>
      withGovernanceClient('audit verify', flags, async (client) => {
        const r = await client.verifyAudit();
        if (r.ok) {
          process.stdout.write(`audit log intact: ${r.entries} entries\n`);
          return;
        }
        process.stdout.write(`audit log BROKEN at entry ${r.firstBadSequence}: ${r.reason}\n`);
        process.exitCode = EXIT.error;
      }),
    );
  return audit;
}

/** Adds `history MODEL --at T` to the `models` command: which version each alias pointed at, at T. */
export function addModelsHistoryCommand(models: CommandType): void {
  models
    .command('history')
    .description('Which version each alias (production, canary, ...) of a model pointed at, at a time, from the audit log.')
    .argument('<model>', 'the model')
    .option('--at <time>', "'now', an ISO 8601 time (2026-06-01T12:00:00Z) or ms since the epoch", 'now')
    .addOption(registryAddressOption())
    .action((model: string, flags: { registry?: string; at: string }) =>
      withGovernanceClient('models history', flags, async (client) => {
        const atMs = parseTimeMs(flags.at, '--at');
        const h = await client.modelHistory(model, atMs);
        process.stdout.write(`${h.model} at ${isoTime(h.atUnixMs)}:\n`);
        if (h.aliases.length === 0) process.stdout.write('  no aliases\n');
        for (const a of h.aliases) {
          process.stdout.write(`  ${a.alias}: version ${a.version} (weight ${a.weight}), set ${isoTime(a.setAtUnixMs)} by ${a.setBy} (audit entry ${a.auditSequence})\n`);
        }
      }),
    );
}

function integer(value: string, what: string, min: number, max: number): number {
  try {
    return parseIntegerText(value, what, min, max);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
