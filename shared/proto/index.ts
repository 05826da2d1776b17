export { PROTO_LOADER_OPTIONS, protosDir, loadProtos } from './load.js';
