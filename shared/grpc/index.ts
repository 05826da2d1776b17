export { widenHttp2Windows, DEFAULT_HTTP2_WINDOW_BYTES } from './http2-window.js';
export { shutdownGrpcServer } from './shutdown.js';
export { addHealthService, DEFAULT_HEALTH_SERVICE_OPTIONS, HEALTH_SERVICE_NAME, type HealthService, type HealthServiceOptions, type ServingStatus } from './health.js';
export { addReflectionService, addStandardServices, type StandardServicesOptions } from './reflection.js';
