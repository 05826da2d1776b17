export { startMonitor, type Monitor } from './monitor.js';
export { parseAlertRules } from './health/index.js';
