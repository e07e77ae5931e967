// sharp peer for bench/run: node sharp.js FORMAT[:QUALITY[:WIDTH]] OUTDIR INPUT...
// One process, inputs rendered one after another, libvips on one thread.
// FORMAT is jpg, webp, png or avif; QUALITY (jpg, webp and avif, 1-100) defaults to 80 (an
// empty one means the default, as in png::1024; bench.py passes avif:50, sharp's own AVIF
// default); WIDTH defaults to 512. Outputs are OUTDIR/<stem>.<format>, WIDTH px wide, or as
// wide as the source when that is narrower (withoutEnlargement: rendition does not enlarge by
// default either). AVIF is written at effort 4, sharp's default, stated here so a change of
// default cannot move the figures.
'use strict';
const path = require('path');
const sharp = require('sharp');

const [spec, outDir, ...inputs] = process.argv.slice(2);
const [format, q, w] = (spec || '').split(':');
const quality = Number(q || '80');
const width = Number(w || '512');
if (!format || !Number.isInteger(quality) || quality < 1 || quality > 100
    || !Number.isInteger(width) || width < 1 || !outDir || inputs.length === 0) {
  console.error('usage: node sharp.js jpg|webp|png|avif[:QUALITY[:WIDTH]] OUTDIR INPUT...');
  process.exit(2);
}
sharp.concurrency(1);

async function main() {
  for (const input of inputs) {
    const stem = path.basename(input, path.extname(input));
    let img = sharp(input).resize({ width, withoutEnlargement: true });
    if (format === 'jpg') img = img.jpeg({ quality });
    else if (format === 'webp') img = img.webp({ quality });
    else if (format === 'png') img = img.png();
    else if (format === 'avif') img = img.avif({ quality, effort: 4 });
    else throw new Error(`unknown format ${format}`);
    await img.toFile(path.join(outDir, `${stem}.${format}`));
  }
}

main().catch((e) => {
  console.error(`sharp.js: ${e.message}`);
  process.exit(1);
});
