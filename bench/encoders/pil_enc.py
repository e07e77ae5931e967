"""Reference encoders through Pillow (libjpeg-turbo 3.x, libwebp 1.6), same inputs and
output layout/JSONL format as the Rust encbench.

Usage: bench/out/venv/bin/python bench/encoders/pil_enc.py IN_DIR OUT_DIR RESULTS.jsonl [--q 30,40,..] [--reps N]
"""
import argparse
import io
import json
import pathlib
import statistics
import time

from PIL import Image, features

ap = argparse.ArgumentParser()
ap.add_argument("in_dir")
ap.add_argument("out_dir")
ap.add_argument("results")
ap.add_argument("--q", default="30,40,50,60,65,70,75,80,85,90,95,98")
ap.add_argument("--reps", type=int, default=5)
a = ap.parse_args()
assert 1 <= a.reps <= 50

tj = features.version("libjpeg_turbo")
wv = features.version("webp")
CANDS = {
    # libjpeg-turbo defaults as Pillow calls them: 4:2:0, baseline; optimize=True builds
    # optimised Huffman tables like rendition's jpeg-encoder call.
    f"pillow-libjpeg-turbo{tj}": ("jpg", lambda im, q, f: im.save(f, "JPEG", quality=q, optimize=True)),
    f"pillow-libwebp{wv}/m4": ("webp", lambda im, q, f: im.save(f, "WEBP", quality=q, method=4)),
    f"pillow-libwebp{wv}/m6": ("webp", lambda im, q, f: im.save(f, "WEBP", quality=q, method=6)),
}

imgs = []
for p in sorted(pathlib.Path(a.in_dir).glob("*.ppm")):
    im = Image.open(p)
    im.load()
    imgs.append((p.stem, im))
qs = [int(x) for x in a.q.split(",")]
out_dir = pathlib.Path(a.out_dir)
with open(a.results, "a") as log:
    for q in qs:
        for name, im in imgs:
            for cand, (ext, enc) in CANDS.items():
                first = io.BytesIO()
                enc(im, q, first)
                wall, cpu = [], []
                for _ in range(a.reps):
                    f = io.BytesIO()
                    t, c = time.perf_counter_ns(), time.thread_time_ns()
                    enc(im, q, f)
                    cpu.append(time.thread_time_ns() - c)
                    wall.append(time.perf_counter_ns() - t)
                d = out_dir / cand.replace("/", "__") / f"q{q}"
                d.mkdir(parents=True, exist_ok=True)
                fn = d / f"{name}.{ext}"
                fn.write_bytes(first.getvalue())
                rec = dict(cand=cand, q=q, image=name, w=im.width, h=im.height,
                           bytes=len(first.getvalue()), wall_ns=int(statistics.median(wall)),
                           cpu_ns=int(statistics.median(cpu)), reps=a.reps, file=str(fn))
                log.write(json.dumps(rec) + "\n")
        print(f"q{q} done", flush=True)
