export {
  parseModelConfig,
  checkConfigAgainstSignature,
  DEFAULT_MODEL_CONFIG,
  DEFAULT_RECORDS_CONFIG,
  MAX_MODEL_REPLICAS,
  type ModelConfig,
  type RecordsConfig,
  type InstanceGroupConfig,
  type WarmupSample,
  type WarmupInput,
} from './model-config.js';
