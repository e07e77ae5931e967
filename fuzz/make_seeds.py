#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus into fuzz/seeds/<target>/ (committed; run again only to
change it). Small inputs on purpose: a fuzzer mutates a 2 KB file hundreds of times faster than
a 200 KB one, and every feature a decoder has fits in a few blocks.

- path: every path in tests/vectors.json, valid and invalid.
- jpeg: one byte choosing the scale (0 = 1/8 ... 7 = 8/8), then a JPEG: baseline 4:4:4, 4:2:2,
  4:2:0, grey, with restart markers, progressive (its DC-only path at 1/8), odd sizes, CMYK.
- render: one byte choosing the output (JPEG, PNG, WebP, GIF, info), one choosing the
  operations (see rendition::fuzzing::render), then a source in every format and the unusual
  kinds the conformance test covers: palette with transparency, 16-bit, grey with alpha,
  interlaced PNG, EXIF orientations, animated GIF, lossless and lossy WebP, 1×1.

Needs Pillow (scripts/setup --test installs it into .venv).
"""
import io
import json
import pathlib
import shutil
import subprocess
import tempfile

from PIL import Image, ImageDraw

ROOT = pathlib.Path(__file__).resolve().parent
REPO = ROOT.parent


def card(w, h, mode="RGB"):
    """A small picture with edges, gradients and colours, so every coefficient is busy."""
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = ((x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), ((x ^ y) * 37) % 256)
    d = ImageDraw.Draw(img)
    d.ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), outline=(255, 255, 255))
    return img.convert(mode)


def save(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def interlaced(img):
    """An Adam7 PNG: Pillow can't write one, libvips (scripts/setup --test) can."""
    with tempfile.TemporaryDirectory() as tmp:
        plain, out = pathlib.Path(tmp, "plain.png"), pathlib.Path(tmp, "interlaced.png")
        img.save(plain)
        subprocess.run(["vips", "pngsave", str(plain), str(out), "--interlace"], check=True)
        return out.read_bytes()


def exif(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


def write(target, name, data):
    folder = ROOT / "seeds" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def main():
    shutil.rmtree(ROOT / "seeds", ignore_errors=True)

    vectors = json.loads((REPO / "tests" / "vectors.json").read_text())
    for kind in ("valid", "invalid"):
        for i, v in enumerate(vectors[kind]):
            write("path", f"{kind}-{i:03}", v["path"].encode())

    jpegs = {
        "444": save(card(24, 16), "JPEG", quality=80, subsampling=0),
        "422": save(card(17, 13), "JPEG", quality=80, subsampling=1),
        "420": save(card(33, 18), "JPEG", quality=80, subsampling=2),
        "grey": save(card(19, 11, "L"), "JPEG", quality=80),
        "restarts": save(card(40, 24), "JPEG", quality=80, subsampling=2, restart_marker_blocks=2),
        "progressive-420": save(card(33, 18), "JPEG", quality=80, progressive=True, subsampling=2),
        "progressive-444": save(card(16, 16), "JPEG", quality=80, progressive=True, subsampling=0),
        "progressive-grey": save(card(9, 9, "L"), "JPEG", quality=80, progressive=True),
        "cmyk": save(card(16, 8, "CMYK"), "JPEG", quality=80),
        "1x1": save(card(1, 1), "JPEG", quality=80),
    }
    for name, data in jpegs.items():
        for scale in (0, 3, 7):
            write("jpeg", f"{name}-{scale + 1}of8", bytes([scale]) + data)

    alpha = card(20, 14).convert("RGBA")
    alpha.putalpha(Image.linear_gradient("L").resize((20, 14)))
    palette = card(16, 12).convert("P", palette=Image.ADAPTIVE, colors=16)
    palette.info["transparency"] = 3
    sources = {
        "jpeg-420": jpegs["420"],
        "jpeg-progressive": jpegs["progressive-420"],
        "jpeg-cmyk": jpegs["cmyk"],
        "jpeg-exif6": save(card(24, 16), "JPEG", quality=70, exif=exif(6)),
        "png-rgba": save(alpha, "PNG"),
        "png-palette-trns": save(palette, "PNG"),
        "png-16bit": save(card(12, 10, "L").convert("I;16"), "PNG"),
        "png-grey-alpha": save(alpha.convert("LA"), "PNG"),
        "png-interlaced": interlaced(card(18, 9)),
        "png-exif8": save(card(16, 8), "PNG", exif=exif(8)),
        "gif-animated": save(card(16, 16).convert("P"), "GIF", save_all=True,
                             append_images=[card(16, 16).rotate(90).convert("P")], duration=50, loop=0),
        "webp-lossy": save(card(20, 12), "WEBP", quality=60),
        "webp-lossless-alpha": save(alpha, "WEBP", lossless=True),
        "webp-exif3": save(card(20, 12), "WEBP", quality=60, exif=exif(3)),
        "png-1x1": save(Image.new("RGBA", (1, 1), (10, 20, 30, 128)), "PNG"),
    }
    for i, (name, data) in enumerate(sorted(sources.items())):
        # Spread the outputs and operations over the seeds; every source gets JPEG and info.
        for output in sorted({0, 4, i % 5}):
            write("render", f"{name}-out{output}", bytes([output, i]) + data)


if __name__ == "__main__":
    main()
