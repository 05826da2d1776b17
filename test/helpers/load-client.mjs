// A bounded load of ModelInfer calls through the failover client, run as its
// own process (the multi-host test starts it inside a network namespace):
//   node test/helpers/load-client.mjs ADDR[,ADDR...] MODEL[,MODEL...] CONCURRENCY TIMEOUT_MS
// Each model gets CONCURRENCY callers, one call at a time each. Prints one
// JSON line per finished call: { t (finished), s (sent), model, ok, code, message, address };
// stops when stdin closes or says `stop`.
import { createInterface } from 'node:readline';
import { createFailoverInferenceClient } from '../../dist/shared/client/index.js';

const [addresses, models, concurrency, timeoutMs] = process.argv.slice(2);
const client = createFailoverInferenceClient(addresses.split(','), { timeoutMs: Number(timeoutMs) });
let stopping = false;
createInterface({ input: process.stdin }).on('line', (l) => l.trim() === 'stop' && (stopping = true)).on('close', () => (stopping = true));

async function caller(model) {
  while (!stopping) {
    const address = client.address;
    const s = Date.now();
    try {
      await client.infer({ modelName: model, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });
      process.stdout.write(JSON.stringify({ t: Date.now(), s, model, ok: true, address }) + '\n');
    } catch (err) {
      process.stdout.write(JSON.stringify({ t: Date.now(), s, model, ok: false, code: err.code, message: String(err.message).slice(0, 200), address }) + '\n');
      await new Promise((r) => setTimeout(r, 20)); // a failing node answers at once: do not spin
    }
  }
}

await Promise.all(models.split(',').flatMap((m) => Array.from({ length: Number(concurrency) }, () => caller(m))));
client.close();
