// Time per request of the edge function, in Node: node [--jitless] edge/bench.mjs [requests per round]
//
// Runs the deployed code (template.yaml's copy, loaded by edge/test/runtime.mjs) in Node's own
// realm, with the key value store in memory, calling the handler on a fresh event each time,
// and prints the median of 7 rounds per case; the first row is an empty handler, the cost of
// the loop itself. (The tests run the code in a node:vm context, whose global lookups are slow
// enough to blur these figures.) This is V8, not CloudFront's runtime: with its JIT the figures
// rank the cases and show where the time goes; --jitless (V8's interpreter alone) is nearer to
// a runtime that doesn't compile. Neither predicts CloudFront's compute utilisation: the
// CloudFront console's Test tab, or `aws cloudfront test-function`, reports that.
import { edgeVectors, load, ring, vectors } from './test/runtime.mjs';

const PER_ROUND = Number(process.argv[2] || 20000);
const ROUNDS = 7;
const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
const byName = (list, name) => list.find((v) => v.name === name);

const on = load({ check: true, keys: ring, realm: 'node' });
const off = load({ check: false, keys: ring, realm: 'node' });
const empty = load({ code: 'async function handler(event) {\n  return event.request;\n}\n', realm: 'node' });
const cases = [
  ['empty handler (the loop alone)', empty, byName(vectors.valid, 'box-cover').path, 'pass'],
  ['valid path, check on', on, byName(vectors.valid, 'box-cover').path, 'pass'],
  ['valid path, everything, check on', on, byName(vectors.valid, 'everything').path, 'pass'],
  ['valid encoded source, check on', on, byName(vectors.valid, 'encoded-cjk-emoji').path, 'pass'],
  ['forged path (403), check on', on, byName(vectors.invalid, 'tampered-signature').path, 403],
  ['malformed path (400), check on', on, byName(vectors.invalid, 'leading-zero').path, 400],
  ['auto path, check on', on, byName(edgeVectors.auto, 'auto-width').path, 'pass'],
  ['auto path, check off', off, byName(edgeVectors.auto, 'auto-width').path, 'pass'],
  ['plain path, check off', off, byName(vectors.valid, 'box-cover').path, 'pass'],
];

async function round(f, path) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < PER_ROUND; i++) await f.handler(f.event(path, CHROME));
  return Number(process.hrtime.bigint() - start) / 1000 / PER_ROUND;
}

console.log(`node ${process.version}${process.execArgv.includes('--jitless') ? ' --jitless' : ''}, ${PER_ROUND} requests a round, median of ${ROUNDS} rounds`);
for (const [name, f, path, expect] of cases) {
  const out = await f.handler(f.event(path, CHROME));
  const got = out.statusCode || 'pass';
  if (got !== expect) throw new Error(`${name}: expected ${expect}, got ${got}`);
  await round(f, path); // warm-up
  const times = [];
  for (let r = 0; r < ROUNDS; r++) times.push(await round(f, path));
  times.sort((a, b) => a - b);
  console.log(`${name.padEnd(34)} ${times[ROUNDS >> 1].toFixed(1).padStart(6)} µs/request`);
}
