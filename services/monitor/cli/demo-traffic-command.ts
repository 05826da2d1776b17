import { Command, Option } from 'commander';
import { createInferenceClient } from '../../../shared/client/index.js';
import { createMonitorClient, DEFAULT_MONITOR_ADDRESS, type Feedback } from '../../../shared/monitor-client/index.js';
import { clientCredentialsOption } from '../../../shared/flags/index.js';
import { DEMO_MODEL_NAME } from '../../../shared/demo/index.js';
import { parseIntFlag, runCliAction } from './flags.js';

/** Options of {@link runDemoTraffic}, validated. */
export interface DemoTrafficOptions {
  server: string;
  monitor: string;
  model: string;
  ratePerSecond: number;
  /** 0: until Ctrl-C. */
  durationS: number;
  /** Index of the input column that drifts. */
  driftFeature: number;
  /** Seconds of reference traffic before the drift starts; the drift lasts driftForS (0: to the end). */
  driftAfterS: number;
  driftForS: number;
  /** Added to the drifting feature. */
  driftShift: number;
  /** Ground truth arrives this late. */
  feedbackDelayMs: number;
  /** Share of wrong labels before and during the drift. */
  errorRate: number;
  driftErrorRate: number;
}

function parseNumber(value: string, flag: string, min: number, max = Infinity): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new Error(`${flag} must be a number from ${min}${max === Infinity ? ' up' : ` to ${max}`}, got '${value}'`);
  return n;
}

/** A fixed LCG and Box-Muller: the demo's traffic is the same every run. */
function normals(seed: number) {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return { normal: () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()), uniform: u };
}

/**
 * Sends the demo model traffic (4 standard-normal features) at a steady rate;
 * after `driftAfterS` one feature shifts, and the labels sent as feedback
 * (`feedbackDelayMs` after each answer, through Monitor/SubmitFeedback) get
 * more wrong, so that the monitor's drift and accuracy figures move.
 */
export async function runDemoTraffic(o: DemoTrafficOptions, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  // TLS from the environment (INFERMESH_TLS_CA, ...) or the verb's --tls-* flags.
  const credentials = await clientCredentialsOption(o);
  const client = createInferenceClient(o.server, credentials);
  const monitor = createMonitorClient(o.monitor, credentials);
  const rng = normals(7);
  const pending: Array<{ dueMs: number; item: Feedback }> = [];
  const started = Date.now();
  let sent = 0;
  let failed = 0;
  let feedbackSent = 0;
  let lastLog = started;
  const drifting = (ms: number) => ms >= o.driftAfterS * 1000 && (o.driftForS === 0 || ms < (o.driftAfterS + o.driftForS) * 1000);
  const flushFeedback = async (all = false) => {
    const now = Date.now();
    const due = pending.filter((p) => all || p.dueMs <= now);
    if (due.length === 0) return;
    pending.splice(0, due.length);
    const res = await monitor.submitFeedback(due.map((d) => d.item)).catch((err: unknown) => {
      log(`feedback not sent: ${(err as Error).message}`);
      return undefined;
    });
    feedbackSent += res?.accepted ?? 0;
  };
  try {
    const intervalMs = 1000 / o.ratePerSecond;
    let next = Date.now();
    while (!signal.aborted && (o.durationS === 0 || Date.now() - started < o.durationS * 1000)) {
      const elapsed = Date.now() - started;
      const drift = drifting(elapsed);
      const x = Array.from({ length: 4 }, (_, f) => rng.normal() + (drift && f === o.driftFeature ? o.driftShift : 0));
      const wrong = rng.uniform() < (drift ? o.driftErrorRate : o.errorRate);
      const offset = 1 + Math.floor(rng.uniform() * 2);
      client
        .modelInfer({ modelName: o.model, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], rawInputContents: [Buffer.from(new Float32Array(x).buffer)] })
        .then((res) => {
          const raw = res.rawOutputContents[0]!;
          const p = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
          let best = 0;
          for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
          const requestId = res.id || res.parameters.request_id?.stringParam || '';
          const label = String(wrong ? (best + offset) % p.length : best);
          pending.push({ dueMs: Date.now() + o.feedbackDelayMs, item: { model: o.model, requestId, label } });
          sent++;
        })
        .catch(() => failed++);
      if (Date.now() - lastLog >= 5000) {
        lastLog = Date.now();
        log(`${Math.round(elapsed / 1000)}s: ${sent} answered, ${failed} failed, ${feedbackSent} labels sent; x[${o.driftFeature}] ${drift ? `shifted by ${o.driftShift}` : 'as in the reference'}`);
        await flushFeedback();
      } else if (pending.length > 0 && pending[0]!.dueMs <= Date.now()) {
        await flushFeedback();
      }
      next += intervalMs;
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await flushFeedback(true);
  } finally {
    client.close();
    monitor.close();
  }
}

/** `infermesh demo-traffic`: drifting traffic and delayed feedback for the demo model (see README: Model health). */
export function demoTrafficCommand(): Command {
  return new Command('demo-traffic')
    .description('Send the demo model traffic with a feature that drifts and labels that arrive late (for `infermesh up`: watch the monitor\'s Health page)')
    .addOption(new Option('--server <host:port>', 'an inference node').env('INFERMESH_SERVER').default('127.0.0.1:8001'))
    .addOption(new Option('--monitor <host:port>', "the monitor's gRPC address (feedback)").env('INFERMESH_MONITOR').default(DEFAULT_MONITOR_ADDRESS))
    .option('--model <name>', 'the model (4 FP32 features in, class scores out)', DEMO_MODEL_NAME)
    .option('--rate <n>', 'requests per second', '50')
    .option('--duration-s <s>', 'stop after this long (0: until Ctrl-C)', '0')
    .option('--drift-feature <i>', 'the input column that drifts', '2')
    .option('--drift-after-s <s>', 'seconds of reference traffic before the drift', '30')
    .option('--drift-for-s <s>', 'how long the drift lasts (0: to the end)', '60')
    .option('--drift-shift <x>', 'added to the drifting feature', '2.5')
    .option('--feedback-delay-ms <ms>', 'labels arrive this long after each answer', '3000')
    .option('--error-rate <p>', 'share of wrong labels before the drift', '0.1')
    .option('--drift-error-rate <p>', 'share of wrong labels during the drift', '0.45')
    .action((flags: Record<string, string>) =>
      runCliAction('demo-traffic', async () => {
        const options: DemoTrafficOptions = {
          server: flags.server!,
          monitor: flags.monitor!,
          model: flags.model!,
          ratePerSecond: parseNumber(flags.rate!, '--rate', 0.1, 10_000),
          durationS: parseNumber(flags.durationS!, '--duration-s', 0),
          driftFeature: parseIntFlag(flags.driftFeature!, '--drift-feature', 0, 3),
          driftAfterS: parseNumber(flags.driftAfterS!, '--drift-after-s', 0),
          driftForS: parseNumber(flags.driftForS!, '--drift-for-s', 0),
          driftShift: parseNumber(flags.driftShift!, '--drift-shift', -1000, 1000),
          feedbackDelayMs: parseIntFlag(flags.feedbackDelayMs!, '--feedback-delay-ms', 0),
          errorRate: parseNumber(flags.errorRate!, '--error-rate', 0, 1),
          driftErrorRate: parseNumber(flags.driftErrorRate!, '--drift-error-rate', 0, 1),
        };
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        process.once('SIGTERM', () => controller.abort());
        process.stderr.write(`demo traffic to ${options.server} (${options.model}), feedback to ${options.monitor}; Ctrl-C stops\n`);
        await runDemoTraffic(options, controller.signal, (line) => process.stdout.write(line + '\n'));
      }),
    );
}
