export { defineDefaults, resolveOptions } from './resolve-options.js';
