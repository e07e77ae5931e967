// sharp peer for bench/run: node sharp.js FORMAT[:QUALITY] OUTDIR INPUT...
// One process, inputs rendered one after another, libvips on one thread.
// FORMAT is jpg, webp or png; QUALITY (jpg and webp, 1-100) defaults to 80;
// outputs are OUTDIR/<stem>.<format>, 512 px wide.
'use strict';
const path = require('path');
const sharp = require('sharp');

const [spec, outDir, ...inputs] = process.argv.slice(2);
const [format, q = '80'] = (spec || '').split(':');
const quality = Number(q);
if (!format || !Number.isInteger(quality) || quality < 1 || quality > 100 || !outDir
    || inputs.length === 0) {
  console.error('usage: node sharp.js jpg|webp|png[:QUALITY] OUTDIR INPUT...');
  process.exit(2);
}
sharp.concurrency(1);

async function main() {
  for (const input of inputs) {
    const stem = path.basename(input, path.extname(input));
    let img = sharp(input).resize({ width: 512 });
    if (format === 'jpg') img = img.jpeg({ quality });
    else if (format === 'webp') img = img.webp({ quality });
    else if (format === 'png') img = img.png();
    else throw new Error(`unknown format ${format}`);
    await img.toFile(path.join(outDir, `${stem}.${format}`));
  }
}

main().catch((e) => {
  console.error(`sharp.js: ${e.message}`);
  process.exit(1);
});
