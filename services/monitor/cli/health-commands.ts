import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { parse as parseCsv } from 'csv-parse/sync';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connectNats } from '../../../shared/nats/index.js';
import { addNatsClientOptions, clientCredentialsOption, loadNatsSecurityFlags, parseRegistryFlag, sharedOption } from '../../../shared/flags/index.js';
import { ALERTS_STREAM, ALERTS_STREAM_SPEC, alertCodec, createMonitorClient, DEFAULT_MONITOR_ADDRESS, type Alert__Output, type Feedback } from '../../../shared/monitor-client/index.js';
import { ensureStream } from '../../../shared/nats/index.js';
import { parseIntFlag, runCliAction } from './flags.js';
import { renderAlert, renderHealth } from './health-render.js';
import { demoTrafficCommand } from './demo-traffic-command.js';
import { readReferenceFile, type ReferenceData } from './reference-file.js';
import { readOnnxSignature } from '../../../shared/onnx/index.js';
import { createRegistryClient, toReferenceProfile, type ReferenceProfile } from '../../../shared/registry-client/index.js';
import { UINT32_MAX } from '../../../shared/numbers/index.js';

const monitorOption = () => new Option('--monitor <host:port>', "the monitor's gRPC address").env('INFERMESH_MONITOR').default(DEFAULT_MONITOR_ADDRESS);

/** Items per SubmitFeedback call. */
const FEEDBACK_CHUNK = 1000;

/**
 * Reads a feedback file: CSV rows `id,label` (a header row whose second column
 * is `label` or `value` is skipped). Throws naming the line of a bad row.
 */
export function parseFeedbackCsv(text: string, model: string, byTrace = false): Array<Feedback & { line: number }> {
  const records = parseCsv(text, { relax_column_count: true, skip_empty_lines: true, trim: true, info: true }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  if (records.length > 0 && ['label', 'value'].includes((records[0]!.record[1] ?? '').toLowerCase())) records.shift();
  return records.map(({ record: row, info }) => {
    if (row.length !== 2 || !row[0] || !row[1]) throw new Error(`feedback line ${info.lines}: expected 'id,label', got '${row.join(',')}'`);
    const item = byTrace ? { model, traceId: row[0], label: row[1] } : { model, requestId: row[0], label: row[1] };
    return { ...item, line: info.lines };
  });
}

/** `infermesh models health MODEL`: drift and quality per version, as the monitor's web page shows them. */
function healthCommand(): Command {
  return new Command('health')
    .description('Print drift (PSI, KS / chi-squared with p-values) per feature and output, and quality from feedback, per version of MODEL')
    .argument('<model>')
    .option('--model-version <v>', 'one version only')
    .option('--json', 'print the GetModelHealth response as JSON')
    .addOption(monitorOption())
    .action((model: string, flags: { modelVersion?: string; json?: boolean; monitor: string }) =>
      runCliAction('models health', async () => {
        const client = createMonitorClient(flags.monitor, await clientCredentialsOption(flags));
        try {
          const health = await client.modelHealth(model, flags.modelVersion ? { version: flags.modelVersion } : {});
          const alerts = await client.listAlerts({ model, firingOnly: true });
          process.stdout.write(flags.json ? JSON.stringify({ ...health, alerts }, null, 2) + '\n' : renderHealth(health, alerts));
        } finally {
          client.close();
        }
      }),
    );
}

function alertsCommand(): Command {
  const alerts = new Command('alerts').description('Model health alerts: drift, quality, errors, latency');
  alerts
    .command('list')
    .description('List alerts the monitor holds, newest first')
    .option('--model <name>', 'one model only')
    .option('--firing', 'firing alerts only')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON')
    .addOption(monitorOption())
    .action((flags: { model?: string; firing?: boolean; limit: string; json?: boolean; monitor: string }) =>
      runCliAction('alerts list', async () => {
        const client = createMonitorClient(flags.monitor, await clientCredentialsOption(flags));
        try {
          const list = await client.listAlerts({ model: flags.model ?? '', firingOnly: flags.firing ?? false, limit: parseIntFlag(flags.limit, '--limit', 1, 1000) });
          if (flags.json) process.stdout.write(JSON.stringify(list, null, 2) + '\n');
          else process.stdout.write(list.length === 0 ? 'no alerts\n' : list.map(renderAlert).join('\n') + '\n');
        } finally {
          client.close();
        }
      }),
    );
  addNatsClientOptions(alerts.command('watch'))
    .description('Print alerts as they fire and resolve (from the ALERTS stream), until Ctrl-C')
    .addOption(new Option('--nats <url>', 'NATS with JetStream').env('NATS_URL').default('nats://127.0.0.1:4222'))
    .option('--model <name>', 'one model only')
    .option('--json', 'one JSON object per line')
    .option('--since-start', 'replay every alert the stream holds first')
    .action((flags: { nats: string; model?: string; json?: boolean; sinceStart?: boolean }) =>
      runCliAction('alerts watch', async () => {
        const nc = await connectNats({ url: flags.nats, name: 'infermesh-alerts-watch', ...(await loadNatsSecurityFlags(flags, flags.nats)) });
        await ensureStream(nc, ALERTS_STREAM_SPEC);
        const consumer = await jetstream(nc).consumers.get(ALERTS_STREAM, { deliver_policy: flags.sinceStart ? DeliverPolicy.All : DeliverPolicy.New });
        const messages = await consumer.consume();
        const stop = () => {
          messages.stop();
          void nc.drain();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        process.stderr.write(`watching ${ALERTS_STREAM} on ${flags.nats}\n`);
        for await (const m of messages) {
          let alert: Alert__Output;
          try {
            alert = alertCodec.decode(m.data);
          } catch {
            process.stderr.write(`skipping a message on ${m.subject} that is not an infermesh.events.v1.Alert\n`);
            continue;
          }
          if (flags.model && alert.model !== flags.model) continue;
          process.stdout.write((flags.json ? JSON.stringify(alert) : renderAlert(alert)) + '\n');
        }
      }),
    );
  return alerts;
}

/** `infermesh feedback FILE --model M`: ground truth (CSV id,label rows) for past predictions. */
function feedbackCommand(): Command {
  return new Command('feedback')
    .description('Send ground truth for past predictions: a CSV file of id,label rows (the request id each response carried, or --by-trace)')
    .argument('<file>', 'CSV: id,label per line (a header "id,label" is skipped); - reads stdin')
    .requiredOption('--model <name>', 'the model the predictions came from')
    .option('--by-trace', 'the ids are trace ids')
    .addOption(monitorOption())
    .action((file: string, flags: { model: string; byTrace?: boolean; monitor: string }) =>
      runCliAction('feedback', async () => {
        const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
        const items = parseFeedbackCsv(text, flags.model, flags.byTrace);
        const client = createMonitorClient(flags.monitor, await clientCredentialsOption(flags));
        let accepted = 0;
        const errors: string[] = [];
        try {
          for (let start = 0; start < items.length; start += FEEDBACK_CHUNK) {
            const chunk = items.slice(start, start + FEEDBACK_CHUNK);
            const res = await client.submitFeedback(chunk.map(({ line: _line, ...item }) => item));
            accepted += res.accepted;
            for (const r of res.results) if (r.code !== 'OK') errors.push(`line ${chunk[r.index]?.line ?? '?'}: ${r.code}: ${r.error}`);
          }
        } finally {
          client.close();
        }
        process.stdout.write(`${accepted} accepted, ${errors.length} rejected\n`);
        for (const e of errors.slice(0, 20)) process.stdout.write(`  ${e}\n`);
        if (errors.length > 20) process.stdout.write(`  ... and ${errors.length - 20} more\n`);
        if (errors.length > 0) process.exitCode = 1;
      }),
    );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `infermesh models reference MODEL VERSION FILE`: reference data (.npy or .csv) for a version's input features. */
function referenceCommand(): Command {
  return new Command('reference')
    .description("Store a version's reference data (.npy or .csv, one row per sample) in the registry: monitors measure its input drift against it instead of its first records")
    .argument('<model>')
    .argument('<version>')
    .argument('<file>', '.npy (rows x columns) or .csv (a header of feature names like x[0],x[1] is optional)')
    .option('--input <name>', 'the model input the columns belong to (features are named <input>[<column>])')
    .addOption(sharedOption('registry', { description: 'the registry that stores it (the default destination)' }))
    .addOption(new Option('--monitor <host:port>', 'send it straight to this monitor (only there, unless --registry is given too)').env('INFERMESH_MONITOR'))
    .action((model: string, version: string, file: string, flags: { input?: string; registry?: string; monitor?: string }) =>
      runCliAction('models reference', async () => {
        const data = await readReferenceFile(file, flags.input);
        if (flags.registry || !flags.monitor) {
          const number = parseIntFlag(version, 'VERSION', 1, UINT32_MAX);
          await storeReference(model, number, toReferenceProfile(data.input, data.features, data.rows), flags.registry ?? '');
        }
        if (flags.monitor) await sendReference(model, version, data, flags.monitor);
      }),
    );
}

async function storeReference(model: string, version: number, profile: ReferenceProfile, registryAddress: string): Promise<void> {
  const registry = createRegistryClient(parseRegistryFlag(registryAddress), await clientCredentialsOption({}));
  try {
    const info = await registry.setReference(model, version, profile);
    process.stdout.write(`reference of ${model} version ${version}: ${info.features} features, ${info.rows} of ${info.totalRows} rows, stored in the registry at ${registryAddress}\n`);
  } finally {
    registry.close();
  }
}

async function sendReference(model: string, version: string, data: ReferenceData, monitorAddress: string): Promise<void> {
  const client = createMonitorClient(monitorAddress, await clientCredentialsOption({}));
  try {
    const features = await client.setReference({ model, version, features: data.features, rows: data.rows });
    process.stdout.write(`reference of ${model} version ${version}: ${features} features from ${data.rows} rows, sent to the monitor at ${monitorAddress}\n`);
  } finally {
    client.close();
  }
}

/**
 * `models push --reference FILE`: the file is read and checked before the
 * push (a bad file stops it, nothing is uploaded); its profile goes to the
 * registry in the upload's metadata, stored with the version in the same
 * commit. With `--monitor`, it is also sent straight to that monitor.
 */
function addReferenceToPush(models: Command): void {
  const push = models.commands.find((c) => c.name() === 'push');
  if (!push) return;
  push
    .option('--reference <file>', 'reference data (.npy or .csv) for model health, stored with the version: drift of the inputs is measured against it')
    .option('--reference-input <name>', "the model input the reference columns belong to (default: the ONNX file's first input)")
    .addOption(new Option('--monitor <host:port>', 'also send the reference straight to this monitor'));
  let pending: ReferenceData | undefined;
  push.hook('preAction', async (cmd) => {
    const o = cmd.opts<{ reference?: string; referenceInput?: string }>();
    if (!o.reference) return;
    const input = o.referenceInput ?? readOnnxSignature(await readFile(cmd.args[0]!)).inputs[0]?.name;
    pending = await readReferenceFile(o.reference, input);
    cmd.setOptionValue('referenceProfile', toReferenceProfile(pending.input, pending.features, pending.rows));
  });
  push.hook('postAction', async (cmd) => {
    const o = cmd.opts<{ name: string; version?: string; registry?: string; monitor?: string }>();
    if (!pending || !o.monitor || process.exitCode) return;
    await runCliAction('models push --reference', async () => {
      const registry = createRegistryClient(o.registry ?? '', await clientCredentialsOption(o));
      try {
        const v = await registry.getVersion(o.name, o.version ? { version: Number(o.version) } : {});
        await sendReference(o.name, String(v.version), pending!, o.monitor!);
      } finally {
        registry.close();
      }
    });
  });
}

/**
 * Registers `infermesh models health` (under the registry's `models` verb, made
 * here when absent), `infermesh alerts list|watch`, `infermesh feedback` and
 * `infermesh demo-traffic`.
 * Call after the registry's commands.
 */
export function registerHealthCommands(program: Command): void {
  let models = program.commands.find((c) => c.name() === 'models');
  if (!models) models = program.command('models').description('Models');
  models.addCommand(healthCommand());
  models.addCommand(referenceCommand());
  addReferenceToPush(models);
  program.addCommand(alertsCommand());
  program.addCommand(feedbackCommand());
  program.addCommand(demoTrafficCommand());
}
