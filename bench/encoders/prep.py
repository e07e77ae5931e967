"""Decode the 12 'typical' photos once, resize to 512 px wide, cache as binary PPM.

Every encoder (Rust and Pillow) is then fed exactly these RGB pixels.
Usage: bench/out/venv/bin/python bench/encoders/prep.py SRC_DIR OUT_DIR
"""
import pathlib
import sys

from PIL import Image, ImageOps

WIDTH = 512


def main() -> None:
    src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in src.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        sys.exit(f"no images in {src}")
    for p in files:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            h = max(1, round(im.height * WIDTH / im.width))
            # Lanczos (a=3) on the full decode; no reducing_gap shortcut.
            im = im.resize((WIDTH, h), Image.Resampling.LANCZOS)
            dst = out / (p.stem + ".ppm")
            im.save(dst)
            print(f"{dst.name} {im.width}x{im.height}")


if __name__ == "__main__":
    main()
