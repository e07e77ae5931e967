"""Pillow peer for bench/run: python pillow_bench.py FORMAT[:QUALITY] OUTDIR INPUT...

One process, inputs rendered one after another (Pillow is single-threaded). FORMAT is jpg,
webp or png; QUALITY (jpg and webp, 1-100) defaults to 80; outputs are OUTDIR/<stem>.<format>, 512 px wide. JPEG sources are decoded with
Image.draft (libjpeg DCT scaling to the smallest scale that still covers 512 px), then
resized with LANCZOS; other sources are decoded in full and resized with LANCZOS.
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
    elif fmt == "png":
        out.save(dst, "PNG")
    else:
        raise SystemExit(f"unknown format {fmt}")


def main():
    usage = "usage: pillow_bench.py jpg|webp|png[:QUALITY] OUTDIR INPUT..."
    if len(sys.argv) < 4:
        raise SystemExit(usage)
    fmt, _, q = sys.argv[1].partition(":")
    if not (q or "80").isdigit() or not 1 <= int(q or "80") <= 100:
        raise SystemExit(usage)
    quality, out_dir, inputs = int(q or "80"), sys.argv[2], sys.argv[3:]
    for src in inputs:
        stem = os.path.splitext(os.path.basename(src))[0]
        render(src, os.path.join(out_dir, f"{stem}.{fmt}"), fmt, quality)


if __name__ == "__main__":
    main()
