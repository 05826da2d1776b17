// The span export worker (a worker_thread started by WorkerSpanProcessor):
// it receives batches of span records from the traced program's thread,
// encodes each as an OTLP ExportTraceServiceRequest and sends it over gRPC to
// the endpoint, one export at a time, without retries. When an export fails
// the endpoint counts as down: batches are dropped unsent (and reported lost)
// until a probe (an empty Export) every `probeIntervalMs` succeeds again.
import { parentPort, workerData } from 'node:worker_threads';
import { encodeExportRequest, GRPC_HEADER_BYTES, type ResourceRecord, type ScopeRecord } from './otlp-trace-encoder.js';
import { GrpcUnarySender, OTLP_TRACE_EXPORT_PATH } from './otlp-grpc-sender.js';
import { SpanRecordReader } from './span-records.js';
import type { ExportWorkerData, ToExportWorker, FromExportWorker } from './span-export-protocol.js';

const config = workerData as ExportWorkerData;
const port = parentPort!;
const sender = new GrpcUnarySender(config.endpoint, config.tls, config.token);
const resources = new Map<number, ResourceRecord>();
const scopes = new Map<number, ScopeRecord>();
const reader = new SpanRecordReader();
/** An empty ExportTraceServiceRequest, framed: the probe. */
const PROBE = Buffer.from([0, 0, 0, 0, 0]);

type Job = Extract<ToExportWorker, { kind: 'spans' | 'flush' }>;
const jobs: Job[] = [];
let running = false;
let up = true;
let probeTimer: NodeJS.Timeout | undefined;

const post = (message: FromExportWorker) => port.postMessage(message);

function startProbing(): void {
  probeTimer ??= setInterval(() => {
    sender.send(OTLP_TRACE_EXPORT_PATH, PROBE, config.exportTimeoutMs).then(
      () => {
        clearInterval(probeTimer);
        probeTimer = undefined;
        up = true;
        post({ kind: 'state', up: true });
      },
      () => {
        // Still down: the next probe comes at the next interval.
      },
    );
  }, config.probeIntervalMs);
}

async function run(job: Job): Promise<void> {
  if (job.kind === 'flush') {
    post({ kind: 'flushed', seq: job.seq });
    return;
  }
  for (const r of job.resources ?? []) resources.set(r.index, r.resource);
  for (const s of job.scopes ?? []) scopes.set(s.index, s.scope);
  const spans = job.batch.spans;
  let records;
  try {
    // Read even when the endpoint is down: the string table must stay whole.
    records = reader.read(job.batch);
  } catch (err) {
    post({ kind: 'result', seq: job.seq, spans, ok: false, reason: `unreadable span records: ${(err as Error).message}` });
    return;
  }
  if (!up) {
    post({ kind: 'result', seq: job.seq, spans, ok: false });
    return;
  }
  try {
    const body = encodeExportRequest(records, resources, scopes);
    if (body.byteLength - GRPC_HEADER_BYTES > config.maxRequestBytes) {
      post({ kind: 'result', seq: job.seq, spans, ok: false, reason: `export of ${body.byteLength} bytes exceeds ${config.maxRequestBytes}` });
      return;
    }
    await sender.send(OTLP_TRACE_EXPORT_PATH, body, config.exportTimeoutMs);
    post({ kind: 'result', seq: job.seq, spans, ok: true });
  } catch (err) {
    up = false;
    const reason = err instanceof Error ? err.message : String(err);
    post({ kind: 'result', seq: job.seq, spans, ok: false, reason });
    post({ kind: 'state', up: false, reason });
    startProbing();
  }
}

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (let job = jobs.shift(); job; job = jobs.shift()) await run(job);
  } finally {
    running = false;
  }
}

port.on('message', (message: ToExportWorker) => {
  if (message.kind === 'close') {
    clearInterval(probeTimer);
    sender.close();
    port.close();
    return;
  }
  jobs.push(message);
  void drain();
});
