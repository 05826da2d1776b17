import { describe, expect, it } from 'vitest';
import { parseTelemetryFlags } from './telemetry-flags.js';

describe('telemetry flags', () => {
  it('parses every flag, and leaves out what was not given (createTelemetry defaults apply)', () => {
    expect(parseTelemetryFlags({})).toEqual({});
    expect(parseTelemetryFlags({ otlpEndpoint: '10.0.0.5:4317', traceSampling: '0.01', metricsPort: '0', traceExportDelayMs: '100' })).toEqual({
      otlpEndpoint: '10.0.0.5:4317',
      samplingRatio: 0.01,
      metricsPort: 0,
      scheduledDelayMs: 100,
    });
    expect(parseTelemetryFlags({ otlpEndpoint: 'http://monitor:4317', traceSampling: 'off' })).toEqual({ otlpEndpoint: 'http://monitor:4317', samplingRatio: 'off' });
  });

  it('names each bad flag and what it expects', () => {
    expect(() => parseTelemetryFlags({ otlpEndpoint: 'monitor' })).toThrow(/--otlp-endpoint must be HOST:PORT/);
    expect(() => parseTelemetryFlags({ traceSampling: '2' })).toThrow(/--trace-sampling must be "off" or a number from 0 to 1, got '2'/);
    expect(() => parseTelemetryFlags({ metricsPort: '70000' })).toThrow(/--metrics-port must be a port number/);
    expect(() => parseTelemetryFlags({ traceExportDelayMs: '0' })).toThrow(/--trace-export-delay-ms must be a positive integer/);
  });
});
