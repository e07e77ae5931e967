// sharp's AVIF encoder for bench/avif_eval.py, timed inside one node process.
//
//   node sharp_avif.js encode OUTDIR EFFORT Q[,Q...] RUNS INPUT.png...
//     encodes already-resized pixels (decoded to raw before timing, like avif-eval does);
//     prints `sharp-e<EFFORT>,<EFFORT>,<Q>,1,<stem>,<ms>,<cpu_ms>,<bytes>`: wall and process CPU
//     time, each the median of RUNS.
//   node sharp_avif.js render OUTDIR EFFORT Q RUNS INPUT.jpg...
//     the whole render, as sharp users write it: sharp(input).resize({width: 512}).avif(...)
//
// libvips runs on one thread (sharp.concurrency(1)), as in bench/sharp.js; outputs are
// OUTDIR/q<Q>/<stem>.avif.
'use strict';
const fs = require('fs');
const path = require('path');
const sharp = require('sharp');

const [mode, outDir, effortArg, qArg, runsArg, ...inputs] = process.argv.slice(2);
if (!['encode', 'render'].includes(mode) || inputs.length === 0) {
  console.error('usage: node sharp_avif.js encode|render OUTDIR EFFORT Q[,Q...] RUNS INPUT...');
  process.exit(2);
}
sharp.concurrency(1);
const effort = Number(effortArg);
const runs = Number(runsArg);
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  for (const input of inputs) {
    const stem = path.basename(input, path.extname(input));
    const raw = mode === 'encode'
      ? await sharp(input).raw().toBuffer({ resolveWithObject: true })
      : null;
    for (const q of qArg.split(',').map(Number)) {
      const times = [];
      const cpuTimes = [];
      let out;
      for (let i = 0; i < runs; i++) {
        const t = process.hrtime.bigint();
        const c = process.cpuUsage();
        const img = raw
          ? sharp(raw.data, { raw: raw.info })
          : sharp(input).resize({ width: 512 });
        out = await img.avif({ quality: q, effort }).toBuffer();
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
        const dc = process.cpuUsage(c);
        cpuTimes.push((dc.user + dc.system) / 1000);
      }
      const dir = path.join(outDir, `q${q}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${stem}.avif`), out);
      console.log(`sharp-e${effort},${effort},${q},1,${stem},${median(times).toFixed(1)},${median(cpuTimes).toFixed(1)},${out.length}`);
    }
  }
}

main().catch((e) => {
  console.error(`sharp_avif.js: ${e.message}`);
  process.exit(1);
});
