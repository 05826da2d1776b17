export { freePort, isPortTaken } from './free-port.js';
