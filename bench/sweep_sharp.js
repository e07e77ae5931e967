// sharp peer for the quality sweep of bench/run: node sweep_sharp.js FORMAT QUALITY OUTDIR INPUT...
// The same pipeline as sharp.js (one process, inputs one after another, libvips on one
// thread, resize({width: 512})) with the encoder quality as an argument. FORMAT is jpg or
// webp; outputs are OUTDIR/<stem>.<format>.
'use strict';
const path = require('path');
const sharp = require('sharp');

const [format, q, outDir, ...inputs] = process.argv.slice(2);
const quality = Number(q);
if (!format || !Number.isInteger(quality) || quality < 1 || quality > 100 || !outDir
    || inputs.length === 0) {
  console.error('usage: node sweep_sharp.js jpg|webp QUALITY OUTDIR INPUT...');
  process.exit(2);
}
sharp.concurrency(1);

async function main() {
  for (const input of inputs) {
    const stem = path.basename(input, path.extname(input));
    let img = sharp(input).resize({ width: 512 });
    if (format === 'jpg') img = img.jpeg({ quality });
    else if (format === 'webp') img = img.webp({ quality });
    else throw new Error(`unknown format ${format}`);
    await img.toFile(path.join(outDir, `${stem}.${format}`));
  }
}

main().catch((e) => {
  console.error(`sweep_sharp.js: ${e.message}`);
  process.exit(1);
});
