// The child process that checks one uploaded ONNX file for the registry (see
// inspectOnnxFile): `node onnx-check-main.js FILE`. It prints one JSON line,
// `{"signature":...}` or `{"invalid":"why"}`, and exits 0; anything else is a
// crash of the check. Loading a large model costs this process, not the registry.
import { readFile } from 'node:fs/promises';
import { InfermeshError } from '../../../shared/errors/index.js';
import { inspectOnnxModel } from './validate-onnx.js';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: onnx-check-main.js FILE\n');
  process.exit(2);
}
try {
  const signature = await inspectOnnxModel(await readFile(path));
  process.stdout.write(JSON.stringify({ signature }) + '\n');
} catch (err) {
  if (!(err instanceof InfermeshError)) throw err;
  process.stdout.write(JSON.stringify({ invalid: err.message }) + '\n');
}
