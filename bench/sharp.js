// sharp peer for bench/run: node sharp.js FORMAT OUTDIR INPUT...
// One process, inputs rendered one after another, libvips on one thread.
// FORMAT is jpg, webp or png; outputs are OUTDIR/<stem>.<format>, 512 px wide.
'use strict';
const path = require('path');
const sharp = require('sharp');

const [format, outDir, ...inputs] = process.argv.slice(2);
if (!format || !outDir || inputs.length === 0) {
  console.error('usage: node sharp.js jpg|webp|png OUTDIR INPUT...');
  process.exit(2);
}
sharp.concurrency(1);

async function main() {
  for (const input of inputs) {
    const stem = path.basename(input, path.extname(input));
    let img = sharp(input).resize({ width: 512 });
    if (format === 'jpg') img = img.jpeg({ quality: 80 });
    else if (format === 'webp') img = img.webp({ quality: 80 });
    else if (format === 'png') img = img.png();
    else throw new Error(`unknown format ${format}`);
    await img.toFile(path.join(outDir, `${stem}.${format}`));
  }
}

main().catch((e) => {
  console.error(`sharp.js: ${e.message}`);
  process.exit(1);
});
