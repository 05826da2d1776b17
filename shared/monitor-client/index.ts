export { createMonitorClient, DEFAULT_MONITOR_ADDRESS, type MonitorClient, type MonitorClientOptions } from './monitor-client.js';
