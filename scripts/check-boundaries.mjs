#!/usr/bin/env node
// The service-boundary check (issue 11, item 2): each service owns its folder,
// and what two services both need lives in shared/.
//
//   - a file under services/X/ may import services/X/ and shared/, never services/Y/ (Y != X);
//   - a file under shared/ may import shared/ only, never services/, cli/ or bench/.
//
// cli/, bench/ and test/ are entry points and may import any service. Only
// relative specifiers can cross a folder here (the project has no path aliases),
// so each is resolved against the importing file. Type-only imports count: they
// put the other service's module in the type graph all the same.
//
// Imports are read with TypeScript's scanner (typescript is a dev dependency
// already); nothing else is needed.
//
// Usage: node scripts/check-boundaries.mjs [root]   (root defaults to this repository)
// Prints one line per violation, `file:line: imports 'specifier' (path): why`, and exits 1;
// exits 0 when there is none.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];
/** Folders never scanned: dependencies, build output, generated code. */
const SKIPPED = new Set(['node_modules', 'dist', 'generated', '.git']);

/**
 * Module specifiers of one source file, with their 1-based line, as TypeScript's
 * own scanner finds them (comments and strings are not imports): `import`/`export
 * ... from`, `import type`, side-effect imports, `import()` in code and in types,
 * `require()` and `import x = require()`.
 */
export function importSpecifiers(text) {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles.map(({ fileName, pos }) => ({ specifier: fileName, line: lineAt(text, pos) }));
}

function lineAt(text, offset) {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** `services/<name>`, `shared`, `cli`, `bench`, `test`, ... for a repository-relative posix path. */
function areaOf(path) {
  const [top, second] = path.split('/');
  if (top === 'services' && second !== undefined && path.includes('/', 'services/'.length)) return `services/${second}`;
  return top;
}

/** Why `from` may not import `to` (both repository-relative posix paths), or undefined when it may. */
export function boundaryViolation(from, to) {
  const fromArea = areaOf(from);
  const toArea = areaOf(to);
  if (fromArea.startsWith('services/') && toArea.startsWith('services/') && toArea !== fromArea) {
    return `${fromArea} may not import another service's folder (${toArea}); move what both need into shared/`;
  }
  if (fromArea === 'shared' && (toArea.startsWith('services') || toArea === 'cli' || toArea === 'bench')) {
    return `shared/ may not import ${toArea}/; shared code depends on shared code only`;
  }
  return undefined;
}

function* sourceFiles(root, dir) {
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) yield* sourceFiles(root, path);
    else if (entry.isFile() && SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext)) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** Every boundary violation under `root`'s services/ and shared/, in file order. */
export function checkBoundaries(root) {
  const violations = [];
  for (const top of ['services', 'shared']) {
    let files;
    try {
      files = [...sourceFiles(root, top)];
    } catch (err) {
      if (err.code === 'ENOENT') continue;
      throw err;
    }
    for (const file of files.sort()) {
      for (const { specifier, line } of importSpecifiers(readFileSync(join(root, file), 'utf8'))) {
        if (!specifier.startsWith('.')) continue;
        const target = posix.normalize(posix.join(posix.dirname(file), specifier));
        if (target.startsWith('../')) continue; // outside the repository: not ours to judge
        const why = boundaryViolation(file, target);
        if (why) violations.push({ file, line, specifier, target, why });
      }
    }
  }
  return violations;
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const root = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..');
  const violations = checkBoundaries(root);
  for (const v of violations) {
    process.stderr.write(`${v.file}:${v.line}: imports '${v.specifier}' (${v.target}): ${v.why}\n`);
  }
  if (violations.length > 0) {
    process.stderr.write(`check-boundaries: ${violations.length} import(s) cross a service boundary (rules: docs in scripts/check-boundaries.mjs)\n`);
    process.exit(1);
  }
  process.stdout.write(`check-boundaries: no import crosses a service boundary (${relative(process.cwd(), root).split(sep).join('/') || '.'})\n`);
}
