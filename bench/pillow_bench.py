"""Pillow peer for bench/run: python pillow_bench.py FORMAT[:QUALITY[:WIDTH]] OUTDIR INPUT...

One process, inputs rendered one after another (Pillow is single-threaded). FORMAT is jpg,
webp or png; QUALITY (jpg and webp, 1-100) defaults to 80 (an empty one means the default, as
in png::1024); WIDTH defaults to 512. Outputs are OUTDIR/<stem>.<format>, WIDTH px wide, or as
wide as the source when that is narrower: like rendition (which does not enlarge by default),
a source is never scaled up, and one no wider than WIDTH is only re-encoded. JPEG sources are
decoded with Image.draft (libjpeg DCT scaling to the smallest scale that still covers WIDTH),
then resized with LANCZOS; other sources are decoded in full and resized with LANCZOS. A source
with transparency (an alpha band, or a palette or grey image with a tRNS chunk) is rendered as
RGBA, so WebP and PNG outputs keep it.
"""
import os
import sys

from PIL import Image

WIDTH = 512


def render(src, dst, fmt, quality, width):
    with Image.open(src) as im:
        w, h = im.size
        tw = min(width, w)
        size = (tw, max(1, round(h * tw / w)))
        if im.format == "JPEG":
            im.draft("RGB", size)
        if im.mode not in ("RGB", "RGBA"):
            alpha = "A" in im.getbands() or "transparency" in im.info
            im = im.convert("RGBA" if alpha else "RGB")
        out = im.resize(size, Image.LANCZOS) if im.size != size else im.copy()
    if fmt == "jpg":
        out.convert("RGB").save(dst, "JPEG", quality=quality, optimize=True)
    elif fmt == "webp":
        out.save(dst, "WEBP", quality=quality)
    elif fmt == "png":
        out.save(dst, "PNG")
    else:
        raise SystemExit(f"unknown format {fmt}")


def main():
    usage = "usage: pillow_bench.py jpg|webp|png[:QUALITY[:WIDTH]] OUTDIR INPUT..."
    if len(sys.argv) < 4:
        raise SystemExit(usage)
    fmt, _, rest = sys.argv[1].partition(":")
    q, _, w = rest.partition(":")
    q, w = q or "80", w or str(WIDTH)
    if not (q.isdigit() and 1 <= int(q) <= 100 and w.isdigit() and int(w) >= 1):
        raise SystemExit(usage)
    quality, width, out_dir, inputs = int(q), int(w), sys.argv[2], sys.argv[3:]
    for src in inputs:
        stem = os.path.splitext(os.path.basename(src))[0]
        render(src, os.path.join(out_dir, f"{stem}.{fmt}"), fmt, quality, width)


if __name__ == "__main__":
    main()
