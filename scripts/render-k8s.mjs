#!/usr/bin/env node
// Renders a kustomization the way `kubectl kustomize DIR` does, for the subset
// of kustomize that deploy/k8s uses: resources (files and folders), namespace,
// labels (metadata only), images (newName/newTag) and patches (strategic merge
// by kind and name; lists of named objects merge by name, other lists are
// replaced). Any other field is an error, not silently ignored. CI uses it
// because no kustomize binary can be had from the registries here; an operator
// with kubectl uses `kubectl apply -k` instead.
//
//   node scripts/render-k8s.mjs deploy/k8s/overlays/cpu > infermesh.yaml
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'patches']);
/** Kinds without a namespace (the ones deploy/k8s might hold). */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass', 'PriorityClass']);

/** Parses every YAML document of a file; empty documents are skipped. */
export function readYamlDocuments(path) {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  return docs.map((d, i) => {
    if (d.errors.length > 0) throw new Error(`${path}: document ${i + 1}: ${d.errors[0].message}`);
    return d.toJS();
  }).filter((o) => o !== null && o !== undefined);
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Strategic merge of `patch` into `base` (both plain JSON values); returns the merged value. */
export function strategicMerge(base, patch) {
  if (isObject(base) && isObject(patch)) {
    const out = { ...base };
    for (const [key, value] of Object.entries(patch)) out[key] = key in base ? strategicMerge(base[key], value) : value;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && patch.every((p) => isObject(p) && typeof p.name === 'string') && base.every((b) => isObject(b) && typeof b.name === 'string')) {
    const out = base.map((b) => {
      const p = patch.find((q) => q.name === b.name);
      return p ? strategicMerge(b, p) : b;
    });
    for (const p of patch) if (!base.some((b) => b.name === p.name)) out.push(p);
    return out;
  }
  return patch;
}

function podSpecs(obj) {
  const spec = obj.spec?.template?.spec ?? obj.spec?.jobTemplate?.spec?.template?.spec;
  return spec ? [spec] : [];
}

function applyImages(objects, images) {
  for (const obj of objects) {
    for (const spec of podSpecs(obj)) {
      for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
        const name = c.image.replace(/[@:][^/]*$/, '');
        const rule = images.find((i) => i.name === name);
        if (!rule) continue;
        c.image = `${rule.newName ?? name}${rule.newTag ? `:${rule.newTag}` : ''}${rule.digest ? `@${rule.digest}` : ''}`;
      }
    }
  }
}

/** Renders the kustomization in `dir`: the list of objects `kubectl kustomize dir` would print. */
export function renderKustomization(dir) {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new Error(`${dir}: no kustomization.yaml`);
  const [k] = readYamlDocuments(file);
  for (const key of Object.keys(k)) if (!SUPPORTED.has(key)) throw new Error(`${file}: field '${key}' is not supported by scripts/render-k8s.mjs (supported: ${[...SUPPORTED].join(', ')})`);
  const objects = [];
  for (const entry of k.resources ?? []) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new Error(`${file}: resource '${entry}' does not exist`);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readYamlDocuments(path)));
  }
  for (const patch of k.patches ?? []) {
    if (!patch.path) throw new Error(`${file}: only patches with a path are supported`);
    for (const p of readYamlDocuments(resolve(dir, patch.path))) {
      const i = objects.findIndex((o) => o.kind === p.kind && o.metadata?.name === p.metadata?.name);
      if (i < 0) throw new Error(`${file}: patch ${patch.path} targets ${p.kind}/${p.metadata?.name}, which no resource defines`);
      objects[i] = strategicMerge(objects[i], p);
    }
  }
  if (k.images) applyImages(objects, k.images);
  for (const obj of objects) {
    obj.metadata ??= {};
    for (const { pairs } of k.labels ?? []) obj.metadata.labels = { ...obj.metadata.labels, ...pairs };
    if (k.namespace && !CLUSTER_SCOPED.has(obj.kind)) obj.metadata.namespace = k.namespace;
  }
  const seen = new Set();
  for (const obj of objects) {
    const id = `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    if (seen.has(id)) throw new Error(`${file}: ${id} is defined twice`);
    seen.add(id);
  }
  return objects;
}

/** The rendered objects as one multi-document YAML stream. */
export function renderToYaml(dir) {
  return renderKustomization(dir).map((o) => stringify(o)).join('---\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  if (process.argv.length !== 3) {
    process.stderr.write('usage: node scripts/render-k8s.mjs KUSTOMIZATION_DIR\n');
    process.exit(2);
  }
  process.stdout.write(renderToYaml(process.argv[2]));
}
