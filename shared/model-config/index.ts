export { parseModelConfig, checkConfigAgainstSignature, MAX_MODEL_REPLICAS, type ModelConfig, type RecordsConfig, type InstanceGroupConfig } from './model-config.js';
