import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { Model__Output } from '../../../shared/generated/infermesh/registry/v1/Model.js';
import type { ModelVersion__Output } from '../../../shared/generated/infermesh/registry/v1/ModelVersion.js';
import { parseIntegerText, UINT32_MAX } from '../../../shared/numbers/index.js';
import { createRegistryClient, PRODUCTION_ALIAS, type ReferenceProfile, type RegistryClient } from '../../../shared/registry-client/index.js';
import { clientCredentialsOption, parseRegistryFlag, sharedOption, withTlsExplained } from '../../../shared/flags/index.js';
import { runVerb, usage, UsageError, usageExitCodes } from './cli-errors.js';
import { diffServingConfigs } from './config-diff.js';

interface RegistryFlag {
  registry?: string;
}

/** `infermesh models push|list|show|promote|unalias|delete`: the registry from the command line. */
export function modelsCommand(): Command {
  const models = usageExitCodes(new Command('models').description('Push, list, show, promote, unalias and delete model versions in the registry.'));
  const registryOption = () => sharedOption('registry');

  models
    .command('push')
    .description('Upload an ONNX file as a new version (the model is created when new).')
    .argument('<file>', 'the ONNX file')
    .requiredOption('--name <model>', 'model name')
    .option('--alias <alias>', 'point this alias at the new version (production, staging, canary, ...)')
    .option('--weight <percent>', 'the alias weight, 0-100 (required for canary)')
    .option('--config <file>', "the serving config (the inference node's config.json); default: the previous version's (the alias's, else the latest), and the push says so")
    .option('--description <text>', 'what this version is')
    .option('--label <key=value>', 'a label on the version (repeatable)', collect, [])
    .option('--version <n>', 'use this version number instead of the next one')
    .option('--run-id <id>', 'lineage: the training run that produced it')
    .option('--dataset <name>', 'lineage: the dataset it was trained on')
    .option('--metric <name=value>', 'lineage: a metric of the run (repeatable)', collect, [])
    .addOption(registryOption())
    .action((file: string, flags: RegistryFlag & PushFlags) =>
      withClient('models push', flags, async (client) => {
        const config = flags.config === undefined ? undefined : await readFile(flags.config, 'utf8').catch((err: Error) => {
          throw new UsageError(`--config: cannot read ${flags.config}: ${err.message}`);
        });
        const metrics = Object.fromEntries(Object.entries(pairs(flags.metric, '--metric')).map(([k, v]) => [k, number(v, `--metric ${k}`)]));
        const aliasWeight = flags.weight === undefined ? undefined : integer(flags.weight, '--weight', 0, 100);
        const version = flags.version === undefined ? undefined : integer(flags.version, '--version', 1, UINT32_MAX);
        // No silent replacement: without --config the version inherits the serving config of the one it follows.
        const previous = await previousVersion(client, flags.name, flags.alias);
        const notes: string[] = [];
        if (previous && config === undefined) {
          notes.push(`config: inherited from version ${previous.version} (no --config given): ${previous.configJson || '{}'}`);
        } else if (previous && config !== undefined) {
          // Text that is not JSON is the registry's to refuse (INVALID_ARGUMENT); there is no difference to show.
          const diff = (() => {
            try {
              return diffServingConfigs(previous.configJson, config);
            } catch {
              return [];
            }
          })();
          notes.push(diff.length === 0 ? `config: same as version ${previous.version}` : `config: changed from version ${previous.version}:`, ...diff.map((l) => `  ${l}`));
        }
        const v = await client.pushVersion(flags.name, file, {
          alias: flags.alias,
          aliasWeight,
          config: config ?? previous?.configJson,
          description: flags.description,
          labels: pairs(flags.label, '--label'),
          version,
          lineage: { trainingRunId: flags.runId ?? '', dataset: flags.dataset ?? '', metrics },
          ...(flags.referenceProfile ? { reference: flags.referenceProfile } : {}),
        });
        const alias = flags.alias ? `, ${flags.alias} -> ${v.version}` : '';
        process.stdout.write(`pushed ${v.model} version ${v.version} (sha256 ${v.sha256}, ${v.sizeBytes} bytes${alias})\n`);
        const ref = flags.referenceProfile;
        if (ref) process.stdout.write(`reference: ${ref.features?.length ?? 0} features, ${ref.rows} of ${ref.totalRows} rows, stored with version ${v.version}\n`);
        for (const line of notes) process.stdout.write(line + '\n');
      }),
    );

  models
    .command('list')
    .description('List models, with their latest version and aliases.')
    .option('--prefix <text>', 'only names starting with this')
    .option('--tag <tag>', 'only models with this tag')
    .option('--label <key=value>', 'only models with this label (repeatable)', collect, [])
    .option('--json', 'one JSON object per line')
    .addOption(registryOption())
    .action((flags: RegistryFlag & { prefix?: string; tag?: string; label: string[]; json?: boolean }) =>
      withClient('models list', flags, async (client) => {
        const rows: Model__Output[] = [];
        for await (const m of client.listAllModels({ namePrefix: flags.prefix ?? '', tag: flags.tag ?? '', labels: pairs(flags.label, '--label') })) rows.push(m);
        if (flags.json) {
          for (const m of rows) process.stdout.write(JSON.stringify(m) + '\n');
          return;
        }
        printTable(
          ['NAME', 'LATEST', 'ALIASES', 'TAGS', 'DESCRIPTION'],
          rows.map((m) => [m.name, String(m.latestVersion), aliasesOf(m), m.tags.join(','), m.description]),
        );
      }),
    );

  models
    .command('show')
    .description('Show a model: versions, aliases, signature of the latest version.')
    .argument('<model>')
    .option('--json', 'the model as JSON')
    .addOption(registryOption())
    .action((name: string, flags: RegistryFlag & { json?: boolean }) =>
      withClient('models show', flags, async (client) => {
        const m = await client.getModel(name);
        if (flags.json) {
          process.stdout.write(JSON.stringify(m, null, 2) + '\n');
          return;
        }
        const out: string[] = [`model: ${m.name}`];
        if (m.description) out.push(`description: ${m.description}`);
        if (m.tags.length) out.push(`tags: ${m.tags.join(', ')}`);
        for (const [k, v] of Object.entries(m.labels)) out.push(`label: ${k}=${v}`);
        out.push(`aliases: ${aliasesOf(m) || '(none)'}`);
        process.stdout.write(out.join('\n') + '\n\n');
        printTable(
          ['VERSION', 'SHA256', 'BYTES', 'CREATED', 'INPUTS', 'OUTPUTS', 'DESCRIPTION'],
          m.versions.map((v) => [
            String(v.version),
            v.sha256.slice(0, 12),
            v.sizeBytes,
            new Date(Number(v.createdAtUnixMs)).toISOString(),
            (v.signature?.inputs ?? []).map((t) => `${t.name}:${t.datatype}[${t.shape.join(',')}]`).join(' '),
            (v.signature?.outputs ?? []).map((t) => `${t.name}:${t.datatype}[${t.shape.join(',')}]`).join(' '),
            v.description,
          ]),
        );
      }),
    );

  models
    .command('promote')
    .description('Point an alias (default production) at a version, atomically.')
    .argument('<model>')
    .argument('<version>')
    .option('--alias <alias>', 'the alias to move', PRODUCTION_ALIAS)
    .option('--weight <percent>', 'percent of traffic, 0-100 (required for canary)')
    .addOption(registryOption())
    .action((name: string, version: string, flags: RegistryFlag & { alias: string; weight?: string }) =>
      withClient('models promote', flags, async (client) => {
        const weight = flags.weight === undefined ? undefined : integer(flags.weight, '--weight', 0, 100);
        const a = await client.setAlias(name, flags.alias, integer(version, 'VERSION', 1, UINT32_MAX), weight);
        process.stdout.write(`${a.model}: ${a.name} -> ${a.version} (weight ${a.weight})\n`);
      }),
    );

  models
    .command('unalias')
    .description('Remove an alias (e.g. end a canary); its version stays and can then be deleted.')
    .argument('<model>')
    .argument('<alias>')
    .addOption(registryOption())
    .action((name: string, alias: string, flags: RegistryFlag) =>
      withClient('models unalias', flags, async (client) => {
        await client.deleteAlias(name, alias);
        process.stdout.write(`${name}: ${alias} removed\n`);
      }),
    );

  models
    .command('delete')
    .description('Delete a version (refused while an alias points at it).')
    .argument('<model>')
    .argument('<version>')
    .addOption(registryOption())
    .action((name: string, version: string, flags: RegistryFlag) =>
      withClient('models delete', flags, async (client) => {
        await client.deleteVersion(name, integer(version, 'VERSION', 1, UINT32_MAX));
        process.stdout.write(`deleted ${name} version ${version}\n`);
      }),
    );

  return models;
}

interface PushFlags {
  name: string;
  alias?: string;
  weight?: string;
  config?: string;
  description?: string;
  label: string[];
  version?: string;
  runId?: string;
  dataset?: string;
  metric: string[];
  /** Set by `--reference FILE` (read and checked before the action; see services/monitor/cli/health-commands.ts). */
  referenceProfile?: ReferenceProfile;
}

/**
 * The version a push follows, whose serving config it inherits or is compared
 * with: the one `alias` points at when the push moves an alias that exists,
 * else the model's latest version; undefined for a new model or one without versions.
 */
async function previousVersion(client: RegistryClient, model: string, alias: string | undefined): Promise<ModelVersion__Output | undefined> {
  let m: Model__Output;
  try {
    m = await client.getModel(model);
  } catch (err) {
    if (err instanceof InfermeshError && err.code === Code.NOT_FOUND) return undefined;
    throw err;
  }
  const aliased = alias ? m.aliases.find((a) => a.name === alias)?.version : undefined;
  return (aliased !== undefined ? m.versions.find((v) => v.version === aliased) : undefined) ?? m.versions[m.versions.length - 1];
}

/** Runs a verb with a client of `--registry`, closing it afterwards. */
function withClient(verb: string, flags: RegistryFlag, fn: (client: RegistryClient) => Promise<void>): Promise<void> {
  return runVerb(verb, async () => {
    const address = usage(() => parseRegistryFlag(flags.registry));
    const client = createRegistryClient(address, await clientCredentialsOption(flags));
    try {
      await withTlsExplained(address, () => fn(client));
    } finally {
      client.close();
    }
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function pairs(values: string[], flag: string): Record<string, string> {
  return Object.fromEntries(
    values.map((kv) => {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new UsageError(`${flag} must be key=value, got '${kv}'`);
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  );
}

/** A decimal integer within [min, max] (a version is a uint32 on the wire, which would wrap silently); a UsageError names the flag and the range. */
export function integer(value: string, what: string, min: number, max: number): number {
  try {
    return parseIntegerText(value, what, min, max);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function number(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || value.trim() === '') throw new UsageError(`${what} must be a number, got '${value}'`);
  return n;
}

function aliasesOf(m: Model__Output): string {
  return m.aliases.map((a) => (a.weight === 100 ? `${a.name}=${a.version}` : `${a.name}=${a.version}@${a.weight}%`)).join(' ');
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) process.stdout.write(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n');
}
