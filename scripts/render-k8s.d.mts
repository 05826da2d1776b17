/** Types of scripts/render-k8s.mjs for the TypeScript tests that import it. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [key: string]: unknown };
export function readYamlDocuments(path: string): K8sObject[];
export function strategicMerge<T>(base: T, patch: unknown): T;
export function renderKustomization(dir: string): K8sObject[];
export function renderToYaml(dir: string): string;
