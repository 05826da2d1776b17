export { widenHttp2Windows, DEFAULT_HTTP2_WINDOW_BYTES } from './http2-window.js';
export { shutdownGrpcServer } from './shutdown.js';
