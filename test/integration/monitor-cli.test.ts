import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createMonitorClient } from '../../shared/monitor-client/index.js';
import { createTelemetry, type Telemetry } from '../../shared/telemetry/index.js';
import { CLI, endpointOf, spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { seedFailedRequest, seedInferenceTrace, type SeededTrace } from './monitor-fixtures.js';

const run = promisify(execFile);

let dataDir: string;
let monitor: ServiceProcess;
let telemetry: Telemetry;
let seeded: SeededTrace;
let failedTraceId: string;

async function cli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'infermesh-monitor-cli-'));
  monitor = await spawnService(['monitor', '--grpc-port', '0', '--http-port', '0', '--data-dir', dataDir]);
  telemetry = await createTelemetry({ serviceName: 'inference', otlpEndpoint: endpointOf(monitor, 'grpc'), samplingRatio: 1, defaultMetrics: false });
  seeded = seedInferenceTrace(telemetry.tracer, telemetry.tracer);
  failedTraceId = seedFailedRequest(telemetry.tracer);
  await telemetry.forceFlush();
  // Wait until the monitor holds the spans (export is asynchronous), with a bounded deadline.
  const client = createMonitorClient(endpointOf(monitor, 'grpc'));
  const deadline = Date.now() + 15_000;
  while ((await client.searchTraces({ model: 'resnet50' })).traces.length < 2) {
    if (Date.now() > deadline) throw new Error('spans never reached the monitor:\n' + monitor.output());
    await new Promise((r) => setTimeout(r, 50));
  }
  client.close();
});

afterAll(async () => {
  await telemetry?.shutdown();
  expect(await monitor?.stop()).toBe(0);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('infermesh traces against a spawned monitor', () => {
  it('announces both endpoints and serves its own metrics', async () => {
    expect(endpointOf(monitor, 'grpc')).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(monitor.endpoints.http).toMatch(/^127\.0\.0\.1:\d+$/);
    const text = await (await fetch(`http://${monitor.endpoints.http}/metrics`)).text();
    expect(text).toMatch(/^infermesh_monitor_spans_received_total 8$/m);
    expect(text).toContain('infermesh_monitor_spans_rejected_total');
  });

  it('lists traces with filters', async () => {
    const all = await cli('traces', 'list', '--monitor', endpointOf(monitor, 'grpc'));
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^TRACE ID\s+STARTED \(UTC\)\s+DURATION\s+SPANS\s+ERRORS\s+ROOT$/m);
    for (const id of [seeded.traceId, seeded.otherTraceId, failedTraceId]) expect(all.stdout).toContain(id);

    const errors = await cli('traces', 'list', '--status', 'error', '--monitor', endpointOf(monitor, 'grpc'));
    expect(errors.stdout).toContain(failedTraceId);
    expect(errors.stdout).not.toContain(seeded.traceId);

    const batches = await cli('traces', 'list', '--operation', 'batch', '--model', 'resnet50', '--model-version', '2', '--min-duration-ms', '1', '--json', '--monitor', endpointOf(monitor, 'grpc'));
    expect((JSON.parse(batches.stdout) as Array<{ traceId: string }>).map((t) => t.traceId)).toEqual([seeded.traceId]);

    const slowest = await cli('traces', 'list', '--slowest', '--limit', '1', '--monitor', endpointOf(monitor, 'grpc'));
    expect(slowest.stdout.trim().split('\n')).toHaveLength(2);
    expect(slowest.stdout).toContain(seeded.traceId);
  });

  it('shows one trace as an indented timeline', async () => {
    const { stdout, code } = await cli('traces', 'show', seeded.traceId.toUpperCase(), '--monitor', endpointOf(monitor, 'grpc'));
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^trace ${seeded.traceId}: 5 spans, 1 service, 4\\.90ms`));
    const row = (name: string) => lines.find((l) => l.includes(`inference: ${name}`))!;
    expect(row('batch')).toMatch(/\+1\.90ms\s+2\.10ms\s+\|.*█.*\|\s{6}inference: batch/);
    expect(row('batch')).toContain(`links: inference.GRPCInferenceService/ModelInfer ${seeded.serverSpanIdA}`);
    expect(row('ort.run')).toMatch(/\+2\.10ms\s+1\.70ms\s+\|.*\|\s{8}inference: ort\.run/);
    expect(row('queue')).toMatch(/\+400µs\s+1\.50ms/);
  });

  it('explains bad input and unknown traces', async () => {
    const badFlag = await cli('traces', 'list', '--status', 'maybe', '--monitor', endpointOf(monitor, 'grpc'));
    expect(badFlag.code).toBe(1);
    expect(badFlag.stderr).toContain("--status must be ok or error, got 'maybe'");
    const badId = await cli('traces', 'show', 'xyz', '--monitor', endpointOf(monitor, 'grpc'));
    expect(badId.stderr).toMatch(/INVALID_ARGUMENT: trace_id must be 32 hex digits/);
    const unknown = await cli('traces', 'show', 'ab'.repeat(16), '--monitor', endpointOf(monitor, 'grpc'));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/NOT_FOUND: trace abab.* is not in the monitor/);
    const badPort = await cli('monitor', '--grpc-port', '70000');
    expect(badPort.code).toBe(1);
    expect(badPort.stderr).toContain("--grpc-port must be a whole number from 0 to 65535, got '70000'");
  });
});
