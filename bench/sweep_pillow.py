"""Pillow peer for the quality sweep of bench/run:
python sweep_pillow.py FORMAT QUALITY OUTDIR INPUT...

The same pipeline as pillow_bench.py (JPEG sources decoded with Image.draft, libjpeg DCT
scaling to the smallest scale that still covers 512 px; other sources decoded in full; then
resize with LANCZOS) with the encoder quality as an argument. FORMAT is jpg (optimize=True)
or webp; outputs are OUTDIR/<stem>.<format>, 512 px wide.
"""
import os
import sys

from PIL import Image

WIDTH = 512


def render(src, dst, fmt, quality):
    with Image.open(src) as im:
        w, h = im.size
        size = (WIDTH, max(1, round(h * WIDTH / w)))
        if im.format == "JPEG":
            im.draft("RGB", size)
        if im.mode not in ("RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
        out = im.resize(size, Image.LANCZOS)
    if fmt == "jpg":
        out.convert("RGB").save(dst, "JPEG", quality=quality, optimize=True)
    elif fmt == "webp":
        out.save(dst, "WEBP", quality=quality)
    else:
        raise SystemExit(f"unknown format {fmt}")


def main():
    if len(sys.argv) < 5 or not sys.argv[2].isdigit() or not 1 <= int(sys.argv[2]) <= 100:
        raise SystemExit("usage: sweep_pillow.py jpg|webp QUALITY OUTDIR INPUT...")
    fmt, quality, out_dir, inputs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    for src in inputs:
        stem = os.path.splitext(os.path.basename(src))[0]
        render(src, os.path.join(out_dir, f"{stem}.{fmt}"), fmt, quality)


if __name__ == "__main__":
    main()
