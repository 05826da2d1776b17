import { createNoopMeter, type Attributes, type Counter, type Meter, type MeterProvider } from '@opentelemetry/api';
import type { Logger } from '../logging/index.js';
import type { TelemetryMetrics } from './metrics.js';

/** The counter the SDK's BatchSpanProcessor reports every processed span on (OTel semconv). */
const PROCESSED_SPANS = 'otel.sdk.processor.span.processed';
const ERROR_TYPE = 'error.type';

/**
 * A MeterProvider for the BatchSpanProcessor's self-observability hook that
 * turns its span outcomes into Prometheus counters: spans dropped because the
 * queue was full, spans exported, spans lost to a failed export. It also logs
 * the first failure of a run of failed exports (the monitor is down) and the
 * recovery, never more, so a missing monitor does not flood the log.
 */
export function spanProcessorMeterProvider(metrics: TelemetryMetrics, logger: Logger): MeterProvider {
  const noop = createNoopMeter();
  let failing = false;
  const processed: Counter = {
    add(value: number, attributes?: Attributes) {
      const errorType = attributes?.[ERROR_TYPE];
      if (errorType === undefined) {
        metrics.spansExportedTotal.inc(value);
        if (failing) logger.info('span export recovered');
        failing = false;
      } else if (errorType === 'queue_full') {
        metrics.spansDroppedTotal.inc(value);
      } else {
        metrics.spansExportFailedTotal.inc(value);
        if (!failing) logger.warn('span export failed; spans are dropped until the collector answers', { errorType: String(errorType), spans: value });
        failing = true;
      }
    },
  };
  const meter: Meter = Object.assign(Object.create(noop) as Meter, {
    createCounter: (name: string, options?: Parameters<Meter['createCounter']>[1]) =>
      name === PROCESSED_SPANS ? processed : noop.createCounter(name, options),
  });
  return { getMeter: () => meter };
}
