// Measures what prediction records cost in inference throughput: two
// `infermesh serve` nodes on one NATS server, serving the demo MLP, one with
// records off (records.sampleRate 0) and one at the default rate (1%),
// loaded in turns with the same streaming load (ModelStreamInfer, 4 streams x
// 16 requests in flight). Prints requests/s of each and their ratio.
// Usage: npm run build && node scripts/measure-records-cost.mjs [rounds=4] [windowMs=5000]
// Not the bench harness (bench/ has its own case for this; see README, Model health).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { NatsServerProcess } from '../dist/shared/nats/index.js';
import { createInferenceClient } from '../dist/shared/client/index.js';
import { buildDemoMlp } from '../dist/services/inference/index.js';

const rounds = Number(process.argv[2] ?? 4);
const windowMs = Number(process.argv[3] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'records-cost-'));
const nats = new NatsServerProcess({ dataDir: join(dir, 'nats') });
await nats.start();

function repo(name, records) {
  const root = join(dir, name);
  mkdirSync(join(root, 'mlp', '1'), { recursive: true });
  writeFileSync(join(root, 'mlp', '1', 'model.onnx'), buildDemoMlp());
  writeFileSync(join(root, 'mlp', 'config.json'), JSON.stringify({ maxBatchSize: 32, maxQueueDelayUs: 500, ...(records ? { records } : {}) }));
  return root;
}

function serve(root) {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--model-repository', root, '--grpc-port', '0', '--nats', nats.url, '--trace-sampling', 'off'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = /grpc=(\S+)/.exec(line);
      if (m) resolve({ child, address: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
}

// A second records-off node measures the noise itself (an A/A pair): a difference
// between the two off nodes is the machine, not the records.
const nodes = { off: await serve(repo('off', { sampleRate: 0 })), default: await serve(repo('default')), 'off-b': await serve(repo('off-b', { sampleRate: 0 })) };
const x = Buffer.from(new Float32Array([0.1, 0.2, 0.3, 0.4]).buffer);

async function load(address, ms) {
  const client = createInferenceClient(address);
  const streams = Array.from({ length: 4 }, () => client.stream());
  let done = 0;
  let id = 0;
  const until = Date.now() + ms;
  await Promise.all(
    streams.flatMap((s) =>
      Array.from({ length: 16 }, async () => {
        while (Date.now() < until) {
          await s.infer({ modelName: 'mlp', id: String(id++), inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], rawInputContents: [x] });
          done++;
        }
      }),
    ),
  );
  for (const s of streams) s.end();
  client.close();
  return (done * 1000) / ms;
}

const totals = { off: 0, default: 0, 'off-b': 0 };
const names = Object.keys(nodes);
for (const name of Object.keys(nodes)) await load(nodes[name].address, 2000); // warm-up
for (let r = 0; r < rounds; r++) {
  // Rotate the order so that drift in the machine's load hits every node alike.
  const order = names.map((_, i) => names[(i + r) % names.length]);
  for (const name of order) {
    const rps = await load(nodes[name].address, windowMs);
    totals[name] += rps;
    console.log(`round ${r + 1} ${name.padEnd(7)} ${rps.toFixed(0)} req/s`);
  }
}
const off = totals.off / rounds;
const def = totals.default / rounds;
const offB = totals['off-b'] / rounds;
console.log(`records off: ${off.toFixed(0)} req/s (second off node: ${offB.toFixed(0)}, A/A ratio ${(offB / off).toFixed(3)}); records at the default rate (1%): ${def.toFixed(0)} req/s; default / mean(off) = ${(def / ((off + offB) / 2)).toFixed(3)}`);
for (const n of Object.values(nodes)) n.child.kill('SIGTERM');
await nats.stop();
rmSync(dir, { recursive: true, force: true });
