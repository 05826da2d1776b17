export { generateSynthetic, type SynthData, type SynthOptions } from './synthetic-data.js';
