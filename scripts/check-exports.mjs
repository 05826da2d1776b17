// Fails when a folder's index.ts exports a name that no file outside that folder imports
// (issue 11: "each index.ts exports what other folders use, nothing more"). Reads every
// import and re-export of the tree with the TypeScript compiler's parser and resolver, so
// `import type`, `export { x } from`, and namespace imports all count.
//
// Usage: node scripts/check-exports.mjs [--fix] [root]   (default: the repository root; --fix
// removes the unused names from the index files' `export { ... } from` lists)
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const args = process.argv.slice(2);
const fix = args.includes('--fix');
const root = resolve(args.find((a) => a !== '--fix') ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const TOP = ['cli', 'services', 'shared', 'bench', 'test'];
const SKIP = new Set(['node_modules', 'dist', 'generated']);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const files = TOP.flatMap((t) => {
  try {
    return walk(join(root, t), []);
  } catch {
    return [];
  }
});
const compilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, allowJs: false };
const host = ts.createCompilerHost(compilerOptions);

/** index.ts path → Map(exported name → spec text) */
const indexExports = new Map();
/** index.ts path → Set of names imported from outside its folder ('*' = all) */
const used = new Map();

function resolveSpec(spec, from) {
  if (!spec.startsWith('.')) return undefined;
  const r = ts.resolveModuleName(spec, from, compilerOptions, host).resolvedModule;
  return r?.resolvedFileName ? resolve(r.resolvedFileName) : undefined;
}

function markUsed(target, names) {
  const set = used.get(target) ?? new Set();
  for (const n of names) set.add(n);
  used.set(target, set);
}

for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const isIndex = file.endsWith(`${sep}index.ts`);
  for (const st of sf.statements) {
    // import ... from 'x'
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const target = resolveSpec(st.moduleSpecifier.text, file);
      if (!target || !target.endsWith(`${sep}index.ts`) || file.startsWith(dirname(target) + sep)) continue;
      const clause = st.importClause;
      const names = [];
      if (clause?.name) names.push('default');
      const nb = clause?.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) names.push('*');
      if (nb && ts.isNamedImports(nb)) for (const el of nb.elements) names.push((el.propertyName ?? el.name).text);
      if (!clause) names.push('*'); // side-effect import
      markUsed(target, names);
    }
    // export ... from 'x' (in an index.ts: its public surface; elsewhere: a use of the target)
    if (ts.isExportDeclaration(st) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
      const target = resolveSpec(st.moduleSpecifier.text, file);
      const names = st.exportClause && ts.isNamedExports(st.exportClause) ? st.exportClause.elements.map((el) => ({ exported: el.name.text, source: (el.propertyName ?? el.name).text })) : undefined;
      if (isIndex) {
        const m = indexExports.get(file) ?? new Map();
        if (names) for (const n of names) m.set(n.exported, st.getText(sf).slice(0, 80));
        indexExports.set(file, m);
      }
      if (target && target.endsWith(`${sep}index.ts`) && !file.startsWith(dirname(target) + sep)) markUsed(target, names ? names.map((n) => n.source) : ['*']);
    }
    // export const/function/class declared in an index.ts itself
    if (isIndex && !ts.isExportDeclaration(st) && ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      const m = indexExports.get(file) ?? new Map();
      const declName = st.name?.text ?? (ts.isVariableStatement(st) ? st.declarationList.declarations.map((d) => d.name.getText(sf)).join(',') : undefined);
      for (const n of (declName ?? '').split(',').filter(Boolean)) m.set(n, 'declared here');
      indexExports.set(file, m);
    }
  }
}

const problems = [];
for (const [index, names] of indexExports) {
  const u = used.get(index) ?? new Set();
  if (u.has('*')) continue;
  for (const name of names.keys()) if (!u.has(name)) problems.push(`${relative(root, index)}: exports '${name}', which no file outside ${relative(root, dirname(index))}/ imports`);
}
if (fix && problems.length > 0) {
  for (const [index, names] of indexExports) {
    const u = used.get(index) ?? new Set();
    if (u.has('*')) continue;
    const text = readFileSync(index, 'utf8');
    const sf = ts.createSourceFile(index, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
    const edits = [];
    for (const st of sf.statements) {
      if (!ts.isExportDeclaration(st) || !st.exportClause || !ts.isNamedExports(st.exportClause) || !st.moduleSpecifier) continue;
      const keep = st.exportClause.elements.filter((el) => u.has(el.name.text));
      if (keep.length === st.exportClause.elements.length) continue;
      const typeOnly = st.isTypeOnly ? 'type ' : '';
      const replacement = keep.length === 0 ? '' : `export ${typeOnly}{ ${keep.map((el) => el.getText(sf)).join(', ')} } from ${st.moduleSpecifier.getText(sf)};`;
      edits.push([st.getStart(sf), st.getEnd(), replacement]);
    }
    let out = text;
    for (const [start, end, rep] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + rep + out.slice(end).replace(rep === '' ? /^\n/ : /^/, '');
    if (edits.length > 0) writeFileSync(index, out);
    void names;
  }
  console.log('check-exports: unused names removed from the index files; run it again to check');
  process.exit(0);
}
if (problems.length > 0) {
  console.error(`check-exports: ${problems.length} export(s) used by no other folder (remove them from the index, or import them from outside):`);
  for (const p of problems.sort()) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`check-exports: ${indexExports.size} index files, every export is used outside its folder`);
