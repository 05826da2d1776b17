import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { NatsConnection } from '@nats-io/nats-core';
import { startNats } from '../helpers/nats.js';
import { connectNats } from '../../shared/nats/index.js';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { createMonitorClient } from '../../shared/monitor-client/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { createTelemetry, type Telemetry } from '../../shared/telemetry/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { parseAlertRules, startMonitor, type Monitor } from '../../services/monitor/index.js';
import { TEST_RULES, sendTraffic, storedRecords, waitFor, writeHealthRepository } from './health-fixtures.js';

const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

let nats: Awaited<ReturnType<typeof startNats>>;
let ncs: NatsConnection[] = [];
let monitor: Monitor;
let node: InferenceNode;
let telemetry: Telemetry;
let client: InferenceClient;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  nats = await startNats();
  ncs = [await connectNats({ url: nats.url }), await connectNats({ url: nats.url })];
  monitor = await startMonitor({ grpcPort: 0, httpPort: 0, nc: ncs[0], health: { referenceRecords: 150, windowRecords: 150, evaluateIntervalMs: 3_600_000, rules: parseAlertRules(TEST_RULES) } });
  telemetry = await createTelemetry({ serviceName: 'inference', otlpEndpoint: monitor.grpcAddress, samplingRatio: 1, defaultMetrics: false });
  node = await startInferenceNode({
    repositoryDir: await writeHealthRepository(),
    logger: silentLogger,
    telemetry: { tracer: telemetry.tracer, metrics: telemetry.metrics.inference },
    records: { nc: ncs[1]! },
  });
  client = createInferenceClient(node.grpcAddress);

  // v1: reference, then a shift in x[1] with feedback (80% right) at every step; v2 alongside, all right.
  let total = 0;
  const steps = [0, 0, 0, 2.5, 2.5];
  for (const [i, shift] of steps.entries()) {
    const v1 = await sendTraffic(client, i === 0 ? 150 : 75, { seed: 10 + i, version: '1', shift, feature: 1 });
    const v2 = await sendTraffic(client, i === 0 ? 150 : 75, { seed: 20 + i, version: '2' });
    total += v1.length;
    await waitFor('records', () => storedRecords(monitor, 'mlp', '1') >= total && storedRecords(monitor, 'mlp', '2') >= total);
    const mc = createMonitorClient(monitor.grpcAddress);
    await mc.submitFeedback([
      ...v1.map((s, j) => ({ model: 'mlp', requestId: s.id, label: String(j % 5 === 0 ? (s.predicted + 1) % 3 : s.predicted) })),
      ...v2.map((s) => ({ model: 'mlp', requestId: s.id, label: String(s.predicted) })),
    ]);
    mc.close();
    await monitor.health.evaluate();
    await new Promise((r) => setTimeout(r, 5)); // distinct history timestamps
  }
  await telemetry.forceFlush();

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 1400 } });
  page.on('pageerror', (err) => {
    throw err;
  });
});

afterAll(async () => {
  await browser?.close();
  client?.close();
  await node?.close();
  await telemetry?.shutdown();
  await monitor?.close();
  for (const nc of ncs) await nc.drain();
  await nats?.close();
});

describe('the model-health view in Chromium', () => {
  it('plots drift per feature and accuracy per version, lists the drift alert, and links records to traces', async () => {
    await page.goto(`http://${monitor.httpAddress}/#/health?model=mlp`);
    await page.locator('svg[data-chart="drift-1"] path.series').first().waitFor();
    expect(await page.locator('svg[data-chart="drift-1"] path.series').count()).toBe(4);
    expect(await page.locator('svg[data-chart="drift-1"] line.threshold').count()).toBe(1);
    // The x[1] line ends above the threshold: its last point is drawn higher (smaller y) than the others'.
    const lastY = async (name: string) => {
      const d = (await page.locator(`svg[data-chart="drift-1"] path[data-series="${name}"]`).getAttribute('d'))!;
      return Number(d.split(',').pop());
    };
    expect(await lastY('x[1]')).toBeLessThan(await lastY('x[0]'));
    expect(await page.locator('svg[data-chart="accuracy"] path.series').count()).toBe(2);
    expect(await page.locator('svg[data-chart="accuracy"] path[data-series="v1"] ~ circle').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#health-alerts li.firing[data-rule="feature_drift"]').getAttribute('data-subject')).toBe('x[1]');
    expect(await page.locator('.version-card[data-version="1"] tr.drifting[data-feature="x[1]"]').count()).toBe(1);
    expect(await page.locator('.version-card[data-version="2"] tr.drifting').count()).toBe(0);
    expect(await page.locator('.version-card[data-version="2"] [data-testid="quality"]').textContent()).toContain('accuracy 1.000');
    expect(await page.locator('.version-card[data-version="1"] [data-testid="quality"]').textContent()).toContain('accuracy 0.8');
    await page.screenshot({ path: join(RESULTS, 'monitor-health.png'), fullPage: true });

    // A point of the drift plot opens the sample records near it, each linked to its trace.
    await page.locator('svg[data-chart="drift-1"] circle.point').last().click();
    await page.locator('#health-records tr.record-row').first().waitFor();
    const link = page.locator('#health-records a.trace-link').first();
    const href = (await link.getAttribute('href'))!;
    expect(href).toMatch(/^#\/trace\/[0-9a-f]{32}$/);
    await page.screenshot({ path: join(RESULTS, 'monitor-health-records.png'), fullPage: true });
    await link.click();
    await page.locator('#wf-rows .wf-row').first().waitFor();
    expect(await page.locator('#view-trace').isHidden()).toBe(false);
  });
});
