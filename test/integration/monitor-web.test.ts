import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createMonitorClient } from '../../shared/monitor-client/index.js';
import { createTelemetry, type Telemetry } from '../../shared/telemetry/index.js';
import { startMonitor, type Monitor } from '../../services/monitor/index.js';
import { seedFailedRequest, seedInferenceTrace, seedRequests, type SeededTrace } from './monitor-fixtures.js';

const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

let monitor: Monitor;
let telemetry: Telemetry[] = [];
let browser: Browser;
let page: Page;
let seeded: SeededTrace;

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  monitor = await startMonitor({ grpcPort: 0, httpPort: 0 });
  const client = await createTelemetry({ serviceName: 'client', otlpEndpoint: monitor.grpcAddress, samplingRatio: 1, defaultMetrics: false });
  const inference = await createTelemetry({ serviceName: 'inference', otlpEndpoint: monitor.grpcAddress, samplingRatio: 1, defaultMetrics: false });
  telemetry = [client, inference];
  seedRequests(inference.tracer, 'ranker', '7', 120);
  seedRequests(inference.tracer, 'ocr-classifier', '1', 30);
  seedFailedRequest(inference.tracer, 'ocr-classifier');
  seeded = seedInferenceTrace(client.tracer, inference.tracer);
  await Promise.all(telemetry.map((t) => t.forceFlush()));
  const monitorClient = createMonitorClient(monitor.grpcAddress);
  const deadline = Date.now() + 15_000;
  while ((await monitorClient.searchTraces({ model: 'resnet50' })).traces.length < 2) {
    if (Date.now() > deadline) throw new Error('spans never reached the monitor');
    await new Promise((r) => setTimeout(r, 50));
  }
  monitorClient.close();

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('pageerror', (err) => {
    throw err;
  });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(telemetry.map((t) => t.shutdown()));
  await monitor?.close();
});

describe('the monitor web page in Chromium', () => {
  it('lists traces and narrows them with the filters', async () => {
    await page.goto(`http://${monitor.httpAddress}/`);
    await page.locator('tr.trace-row').first().waitFor();
    expect(await page.locator('tr.trace-row').count()).toBe(50);
    await page.screenshot({ path: join(RESULTS, 'monitor-traces.png') });

    await page.selectOption('#f-service', 'inference');
    await page.locator('#f-operation option[value="batch"]').waitFor({ state: 'attached' });
    await page.selectOption('#f-operation', 'batch');
    await page.fill('#f-model', 'resnet50');
    await page.fill('#f-version', '2');
    await page.click('#search-button');
    await expect.poll(() => page.locator('tr.trace-row').count()).toBe(1);
    expect(await page.locator('tr.trace-row').getAttribute('data-trace-id')).toBe(seeded.traceId);
    expect(page.url()).toContain('operation=batch');

    await page.selectOption('#f-operation', '');
    await page.fill('#f-model', '');
    await page.fill('#f-version', '');
    await page.selectOption('#f-status', 'error');
    await page.click('#search-button');
    await expect.poll(() => page.locator('tr.trace-row').count()).toBe(1);
    await expect.poll(() => page.locator('tr.trace-row .badge.error').textContent()).toBe('1 error');
  });

  it('opens a trace as a waterfall and follows the batch links both ways', async () => {
    await page.goto(`http://${monitor.httpAddress}/#/traces?model=resnet50&order=slowest`);
    await page.locator(`tr.trace-row[data-trace-id="${seeded.traceId}"]`).click();
    await page.locator('.wf-row').first().waitFor();
    const names = await page.locator('.wf-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-span-name')));
    expect(names).toEqual(['inference.GRPCInferenceService/ModelInfer', 'inference.GRPCInferenceService/ModelInfer', 'queue', 'batch', 'ort.run']);
    expect(await page.getByTestId('trace-id').textContent()).toBe(seeded.traceId);

    // The batch span lists the two requests it served.
    await page.locator(`.wf-row[data-span-id="${seeded.batchSpanId}"]`).click();
    await expect.poll(() => page.getByTestId('detail-name').textContent()).toBe('batch');
    expect(await page.getByTestId('span-link').count()).toBe(2);
    await page.screenshot({ path: join(RESULTS, 'monitor-trace-batch.png'), fullPage: true });

    // Request B lives in another trace: the link opens it, and B shows the batch that served it.
    await page.locator(`[data-testid="span-link"][data-span-id="${seeded.serverSpanIdB}"]`).click();
    await page.waitForURL(new RegExp(`#/trace/${seeded.otherTraceId}\\?span=${seeded.serverSpanIdB}$`));
    await expect.poll(() => page.getByTestId('trace-id').textContent()).toBe(seeded.otherTraceId);
    expect(await page.locator('.wf-row.selected').getAttribute('data-span-id')).toBe(seeded.serverSpanIdB);
    const servedBy = page.getByTestId('linked-from');
    expect(await servedBy.getAttribute('data-span-id')).toBe(seeded.batchSpanId);
    await page.screenshot({ path: join(RESULTS, 'monitor-trace-request.png'), fullPage: true });

    await servedBy.click();
    await expect.poll(() => page.getByTestId('trace-id').textContent()).toBe(seeded.traceId);
    expect(await page.locator('.wf-row.selected').getAttribute('data-span-id')).toBe(seeded.batchSpanId);
  });

  it('shows the per-model overview', async () => {
    await page.goto(`http://${monitor.httpAddress}/#/models`);
    await page.locator('tr.model-row[data-model="ranker"]').waitFor();
    const cells = async (model: string) => page.locator(`tr.model-row[data-model="${model}"] td`).allTextContents();
    const ranker = await cells('ranker');
    expect(ranker.slice(0, 3)).toEqual(['ranker', '7', '120']);
    expect(ranker[4]).toBe('0.0%');
    expect(ranker[5]).toBe('5.00 ms');
    expect(ranker[6]).toBe('10.0 ms');
    const ocr = await cells('ocr-classifier');
    expect(ocr[2]).toBe('31');
    expect(ocr[4]).toBe('3.2%');
    await page.screenshot({ path: join(RESULTS, 'monitor-models.png') });
  });
});
