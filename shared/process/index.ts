export { announce, formatAnnouncement, parseAnnouncement } from './announce.js';
export { onShutdownSignal } from './shutdown.js';
