/** The demo model that `infermesh up` serves and `infermesh monitor demo-traffic` sends to: one contract for both. */
export { buildDemoMlp, DEMO_MODEL_NAME, DEMO_MODEL_CONFIG } from './demo-mlp.js';
