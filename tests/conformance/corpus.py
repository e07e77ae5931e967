#!/usr/bin/env python3
"""Writes the conformance corpus: unusual but valid images, as sites receive them, each with
the file its reference comes from (tests/conformance.rs renders every one with rendition and
with libvips's vipsthumbnail, and compares the pixels).

    corpus.py PHOTO OUT_DIR

PHOTO is any photograph (the test passes one of the wallpapers scripts/setup installs); the
corpus is made from a small crop of it, so that every file holds real picture content. Pillow
writes most files and libvips (the `vips` command) the ones Pillow cannot: 16-bit RGB(A), 2-bit
grey, interlaced PNG and CMYK tagged with an ICC profile. Nothing is downloaded.

OUT_DIR/manifest.json lists the cases: `file`, `reference` (the file vipsthumbnail renders
for the comparison: the file itself, or an RGB twin when libvips and browsers disagree on
purpose, as for untagged CMYK), `kind` (which tolerance applies: `lossless`, `lossy`,
`tiny-jpeg` or `cmyk-profile`, see tests/conformance.rs) and `why`.
"""

import json
import os
import subprocess
import sys

from PIL import Image, ImageDraw

W, H = 192, 128


def main():
    photo, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    cases = []

    def case(name, why, reference=None, kind=None):
        if kind is None:
            lossy = name.endswith(".jpg") or (name.endswith(".webp") and "lossless" not in name)
            kind = "lossy" if lossy else "lossless"
        cases.append({"file": name, "reference": reference or name, "kind": kind, "why": why})

    def path(name):
        return os.path.join(out, name)

    def vips(*args):
        subprocess.run(["vips", *args], check=True, capture_output=True)

    # The base: the middle of the photograph at W×H, with a few hard edges (a shifted block,
    # a swapped channel or a wrong orientation shows on them), and an alpha version with a
    # soft gradient and a fully transparent hole.
    src = Image.open(photo).convert("RGB")
    side = min(src.width * 2 // 3, src.height)
    left, top = (src.width - side * 3 // 2) // 2, (src.height - side) // 2
    rgb = src.crop((left, top, left + side * 3 // 2, top + side)).resize((W, H), Image.LANCZOS)
    draw = ImageDraw.Draw(rgb)
    draw.rectangle([8, 8, 47, 31], fill=(220, 30, 40))
    draw.rectangle([W - 48, 8, W - 9, 31], fill=(20, 160, 60))
    draw.rectangle([8, H - 32, 47, H - 9], fill=(30, 60, 220))
    draw.rectangle([W - 48, H - 32, W - 9, H - 9], fill=(250, 220, 40))
    rgb.save(path("base.png"))
    alpha = Image.linear_gradient("L").rotate(90).resize((W, H))
    ImageDraw.Draw(alpha).ellipse([W // 2 - 20, H // 2 - 20, W // 2 + 20, H // 2 + 20], fill=0)
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    rgba.save(path("base-alpha.png"))
    grey = rgb.convert("L")

    # --- JPEG -------------------------------------------------------------------------------
    for name, sampling in [("420", 2), ("422", 1), ("444", 0)]:
        rgb.save(path(f"jpeg-{name}.jpg"), quality=90, subsampling=sampling)
        case(f"jpeg-{name}.jpg", f"baseline JPEG, chroma {name}")
    rgb.save(path("jpeg-progressive.jpg"), quality=90, progressive=True)
    case("jpeg-progressive.jpg", "progressive JPEG")
    rgb.save(path("jpeg-progressive-restarts.jpg"), quality=90, progressive=True,
             restart_marker_blocks=3)
    case("jpeg-progressive-restarts.jpg", "progressive JPEG with a restart every 3 MCUs")
    rgb.save(path("jpeg-restarts.jpg"), quality=90, restart_marker_rows=1)
    case("jpeg-restarts.jpg", "baseline JPEG with a restart every MCU row")
    grey.save(path("jpeg-grey.jpg"), quality=90)
    case("jpeg-grey.jpg", "greyscale JPEG")

    # Damaged restart markers, as a bad transfer or a careless tool leaves them: libjpeg (so
    # libvips and the browsers) resynchronises at the next marker, the damage stays in one
    # restart interval, and the rest of the image is as it was.
    def restart_markers(data):
        sos = data.index(b"\xff\xda")
        return [i for i in range(sos, len(data) - 1)
                if data[i] == 0xFF and 0xD0 <= data[i + 1] <= 0xD7]

    def damaged(name, source, change, why):
        data = bytearray(open(path(source), "rb").read())
        change(data, restart_markers(bytes(data)))
        open(path(name), "wb").write(bytes(data))
        case(name, why)

    def drop_marker(data, rst):
        at = rst[len(rst) // 2]
        del data[at:at + 2]

    def renumber_marker(data, rst):
        at = rst[len(rst) // 2]
        data[at + 1] = 0xD0 + (data[at + 1] - 0xD0 + 4) % 8

    damaged("jpeg-restart-missing.jpg", "jpeg-restarts.jpg", drop_marker,
            "baseline JPEG with one restart marker missing: the interval after it shows grey")
    damaged("jpeg-restart-renumbered.jpg", "jpeg-restarts.jpg", renumber_marker,
            "baseline JPEG with a restart marker of the wrong number, too far off to matter")
    damaged("jpeg-progressive-restart-missing.jpg", "jpeg-progressive-restarts.jpg",
            drop_marker, "progressive JPEG with a restart marker missing in one scan")

    # CMYK as print workflows write it: Adobe's inverted samples, with black generated
    # (K = 1 − max(R, G, B)), so that the naive conversion gives the picture back.
    cmyk = Image.new("CMYK", (W, H))
    cmyk.putdata([gcr(p) for p in zip(*[iter(rgb.tobytes())] * 3)])
    cmyk.save(path("cmyk.jpg"), quality=95)
    case("cmyk.jpg", "untagged CMYK (Adobe, inverted), shown as browsers show it: naive "
         "conversion; libvips assumes a press profile instead", reference="base.png")
    # Tagged: libvips converts to CMYK with its own press profile and embeds it; the same
    # profile on the naive samples above tests the profile path on other ink values too.
    vips("icc_export", path("base.png"), path("cmyk-icc-vips.jpg[Q=95]"),
         "--output-profile", "cmyk")
    case("cmyk-icc-vips.jpg", "CMYK with an embedded ICC profile, written by libvips",
         kind="cmyk-profile")
    profile = Image.open(path("cmyk-icc-vips.jpg")).info["icc_profile"]
    cmyk.save(path("cmyk-icc.jpg"), quality=95, icc_profile=profile)
    case("cmyk-icc.jpg", "CMYK with an embedded ICC profile, written by Pillow",
         kind="cmyk-profile")

    # Every EXIF orientation, in every format that carries EXIF: the stored pixels are the
    # base transformed by the inverse of the tag, so every file shows the base upright.
    for tag in range(1, 9):
        stored = unorient(rgb, tag)
        exif = Image.Exif()
        exif[0x0112] = tag
        for ext, kwargs in [("jpg", {"quality": 92}), ("png", {}),
                            ("webp", {"quality": 92}), ("lossless.webp", {"lossless": True})]:
            name = f"orientation-{tag}.{ext}"
            stored.save(path(name), exif=exif.tobytes(), **kwargs)
            case(name, f"EXIF orientation {tag} in {ext}")

    # --- PNG --------------------------------------------------------------------------------
    rgb.save(path("png-rgb.png"))
    case("png-rgb.png", "8-bit RGB PNG")
    rgba.save(path("png-rgba.png"))
    case("png-rgba.png", "8-bit RGBA PNG")
    vips("colourspace", path("base.png"), path("png-rgb16.png"), "rgb16")
    case("png-rgb16.png", "16-bit RGB PNG")
    vips("colourspace", path("base-alpha.png"), path("png-rgba16.png"), "rgb16")
    case("png-rgba16.png", "16-bit RGBA PNG")
    grey.save(path("png-grey.png"))
    case("png-grey.png", "8-bit grey PNG")
    grey.convert("I;16").point(lambda v: v * 257).save(path("png-grey16.png"))
    case("png-grey16.png", "16-bit grey PNG")
    grey_alpha = grey.copy()
    grey_alpha.putalpha(alpha)
    grey_alpha.convert("LA").save(path("png-grey-alpha.png"))
    case("png-grey-alpha.png", "grey + alpha PNG")
    grey.convert("1").save(path("png-grey1.png"))
    case("png-grey1.png", "1-bit grey PNG (dithered)")
    vips("pngsave", path("png-grey.png"), path("png-grey2.png"), "--bitdepth", "2")
    case("png-grey2.png", "2-bit grey PNG")
    grey.save(path("png-grey-trns.png"), transparency=grey.getpixel((W // 2, H // 2)))
    case("png-grey-trns.png", "grey PNG with a tRNS transparent level")
    rgb.save(path("png-rgb-trns.png"), transparency=(220, 30, 40))
    case("png-rgb-trns.png", "RGB PNG with a tRNS colour key (the red block is transparent)")
    palette = rgb.quantize(colors=200)
    palette.save(path("png-palette.png"))
    case("png-palette.png", "8-bit palette PNG")
    rgb.quantize(colors=16).save(path("png-palette4.png"), bits=4)
    case("png-palette4.png", "4-bit palette PNG")
    rgba.quantize(colors=200, method=Image.Quantize.FASTOCTREE).save(path("png-palette-trns.png"))
    case("png-palette-trns.png", "palette PNG with alpha in tRNS")
    vips("pngsave", path("base-alpha.png"), path("png-interlaced.png"), "--interlace")
    case("png-interlaced.png", "interlaced (Adam7) RGBA PNG")

    # --- WebP and GIF -----------------------------------------------------------------------
    rgb.save(path("webp-lossy.webp"), quality=90)
    case("webp-lossy.webp", "lossy WebP")
    rgba.save(path("webp-lossy-alpha.webp"), quality=90)
    case("webp-lossy-alpha.webp", "lossy WebP with alpha")
    rgba.save(path("webp-lossless-alpha.webp"), lossless=True)
    case("webp-lossless-alpha.webp", "lossless WebP with alpha")
    rgb.quantize(colors=256).save(path("gif.gif"))
    case("gif.gif", "GIF")
    rgba.quantize(colors=255, method=Image.Quantize.FASTOCTREE).save(
        path("gif-transparent.gif"), interlace=True)
    case("gif-transparent.gif", "interlaced GIF with a transparent colour")

    # --- Tiny images: 1×1 to 4×4, every format ------------------------------------------------
    for n in range(1, 5):
        tiny = rgb.resize((n, n), Image.BOX)
        for ext in ["jpg", "png", "webp", "gif"]:
            name = f"tiny-{n}x{n}.{ext}"
            img = tiny.quantize(colors=256) if ext == "gif" else tiny
            img.save(path(name), **({"quality": 95} if ext in ("jpg", "webp") else {}))
            case(name, f"{n}×{n} {ext}", kind="tiny-jpeg" if ext == "jpg" else None)

    with open(path("manifest.json"), "w") as f:
        json.dump(cases, f, indent=1)


def gcr(p):
    """RGB → CMYK ink (0–255) with all the grey in K: R = (1 − C)(1 − K) gives RGB back."""
    r, g, b = p
    k = 255 - max(r, g, b)
    if k == 255:
        return (0, 0, 0, 255)
    return tuple(round((255 - v - k) * 255 / (255 - k)) for v in (r, g, b)) + (k,)


def unorient(img, tag):
    """The stored pixels of a file whose EXIF orientation `tag` shows `img` upright."""
    t = Image.Transpose
    inverse = {
        1: [],
        2: [t.FLIP_LEFT_RIGHT],
        3: [t.ROTATE_180],
        4: [t.FLIP_TOP_BOTTOM],
        5: [t.TRANSPOSE],
        6: [t.ROTATE_90],  # shown turned 90° clockwise, so stored turned 90° back
        7: [t.TRANSVERSE],
        8: [t.ROTATE_270],
    }[tag]
    for op in inverse:
        img = img.transpose(op)
    return img


if __name__ == "__main__":
    main()
