export { generateSynthetic } from './synthetic-data.js';
