export { defineDefaults, resolveOptions, type Resolved } from './resolve-options.js';
