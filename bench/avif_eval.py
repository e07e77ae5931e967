"""Chooses rendition's AVIF encoder with figures: writes the tables of bench/AVIF.md.

Every candidate encodes the same pixels: the 12 photos of the typical set resized to 512 px
wide by rendition itself (`rendition render --width 512 --format png`), so what differs is
only the encoder. For each encoder setting the quality is swept; each output is decoded
(Pillow's AVIF plugin) and scored with luma SSIM against the PNG the encoder was given
(the same SSIM as bench/RESULTS.md: Gaussian window, sigma 1.5). Bytes and encode time at
*equal SSIM* are read off each image's sweep by interpolation (log bytes, linear in SSIM),
at two targets per image: the SSIM of sharp's default AVIF (quality 50, effort 4) and the
SSIM of rendition's own WebP at quality 80.

    python bench/avif_eval.py --rendition target/release/rendition [--photos DIR]
        [--sharp-modules DIR] [--runs 3] [--stages prepare,encode,score,report,render]

Run it with the bench venv's Python (numpy, scikit-image, Pillow >= 11.2 for AVIF decoding).
Candidates are built from bench/avif-eval (a small Rust program, one build per feature set,
into bench/out/avif/target). Results land in bench/out/avif/ (CSV per setting, scores.json,
report.md); rerunning skips settings whose CSV exists (--force redoes them).
"""
import argparse
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
from PIL import Image

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out", "avif")
INPUTS = os.path.join(OUT, "inputs")
WIDTH = 512

# Candidate builds of bench/avif-eval: name -> cargo features.
BUILDS = {
    "rav1e": ["threading"],
    "rav1e-asm": ["asm", "threading", "image-avif"],
    "aom": ["aom"],
}

RAVIF_Q = [40, 50, 60, 70, 80, 90]
AOM_Q = [30, 40, 50, 60, 70, 80]
SHARP_Q = [30, 40, 50, 60, 70, 80]
VIPS_Q = [30, 40, 50, 60, 70, 80]


def settings():
    """Every encoder setting measured: (id, label, kind, params)."""
    s = []
    for speed in (4, 6, 7, 8, 9, 10):
        s.append((f"rav1e-asm-s{speed}", f"ravif/rav1e, asm, speed {speed}", "eval",
                  {"build": "rav1e-asm", "enc": "ravif", "speed": speed, "q": RAVIF_Q,
                   "threads": 1}))
    for speed in (6, 8, 10):
        s.append((f"rav1e-s{speed}", f"ravif/rav1e, no asm, speed {speed}", "eval",
                  {"build": "rav1e", "enc": "ravif", "speed": speed, "q": RAVIF_Q,
                   "threads": 1}))
    s.append(("image-s8", "image crate's AvifEncoder (same ravif), speed 8", "eval",
              {"build": "rav1e-asm", "enc": "image", "speed": 8, "q": RAVIF_Q, "threads": 1}))
    for speed in (6, 8, 10):
        s.append((f"rav1e-asm-s{speed}-t2", f"ravif/rav1e, asm, speed {speed}, 2 threads",
                  "eval", {"build": "rav1e-asm", "enc": "ravif", "speed": speed,
                           "q": RAVIF_Q, "threads": 2}))
    for speed in (6, 8, 9):
        s.append((f"aom-s{speed}", f"libavif 1.0.4 + libaom 3.11, speed {speed}", "eval",
                  {"build": "aom", "enc": "aom", "speed": speed, "q": AOM_Q, "threads": 1}))
    for effort in (2, 4):
        s.append((f"sharp-e{effort}", f"sharp 0.35 (libheif + libaom), effort {effort}"
                  + (" (its default)" if effort == 4 else ""), "sharp",
                  {"effort": effort, "q": SHARP_Q}))
    s.append(("vips-e4", "vips heifsave (Debian libheif 1.15 + libaom 3.6), effort 4",
              "vips", {"effort": 4, "q": VIPS_Q}))
    return s


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("$ " + " ".join(cmd[:8]) + (" ..." if len(cmd) > 8 else ""))
    return subprocess.run(cmd, check=True, **kw)


def photos(args):
    return sorted(os.path.join(args.photos, f) for f in os.listdir(args.photos)
                  if f.endswith(".jpg"))


def stem(p):
    return os.path.splitext(os.path.basename(p))[0]


def prepare(args):
    """The encoders' input (rendition's 512 px PNG) and rendition's current lossy outputs."""
    for fmt in ("png", "webp", "jpg"):
        d = os.path.join(OUT, "rendition", fmt)
        if not os.path.isdir(d) or len(os.listdir(d)) < len(photos(args)):
            os.makedirs(d, exist_ok=True)
            run([args.rendition, "render", "--width", str(WIDTH), "--format", fmt,
                 "--out-dir", d] + photos(args))
    if os.path.isdir(INPUTS):
        shutil.rmtree(INPUTS)
    shutil.copytree(os.path.join(OUT, "rendition", "png"), INPUTS)


def build(name):
    target = os.path.join(OUT, "target", name)
    exe = os.path.join(target, "release", "avif-eval")
    feats = ",".join(BUILDS[name])
    env = dict(os.environ, CARGO_TARGET_DIR=target)
    run(["cargo", "build", "--release", "--manifest-path",
         os.path.join(BENCH, "avif-eval", "Cargo.toml"), "--no-default-features",
         "--features", feats], env=env)
    return exe


def encode(args):
    pngs = sorted(os.path.join(INPUTS, f) for f in os.listdir(INPUTS))
    exes = {}
    os.makedirs(os.path.join(OUT, "csv"), exist_ok=True)
    wanted = set(args.only.split(",")) if args.only else None
    for sid, _label, kind, p in settings():
        if wanted and sid not in wanted:
            continue
        csv_path = os.path.join(OUT, "csv", f"{sid}.csv")
        if os.path.exists(csv_path) and not args.force:
            continue
        out_dir = os.path.join(OUT, "enc", sid)
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        rows = []
        if kind == "eval":
            if p["build"] not in exes:
                exes[p["build"]] = build(p["build"])
            r = run([exes[p["build"]], p["enc"], "--speed", str(p["speed"]), "--quality",
                     ",".join(map(str, p["q"])), "--threads", str(p["threads"]), "--runs",
                     str(args.runs), out_dir] + pngs, capture_output=True, text=True)
            rows = [line.split(",") for line in r.stdout.split()]
        elif kind == "sharp":
            env = dict(os.environ, NODE_PATH=args.sharp_modules)
            r = run(["node", os.path.join(BENCH, "sharp_avif.js"), "encode", out_dir,
                     str(p["effort"]), ",".join(map(str, p["q"])), str(args.runs)] + pngs,
                    capture_output=True, text=True, env=env)
            rows = [line.split(",") for line in r.stdout.split()]
        elif kind == "vips":
            # One process per encode: the time includes vips starting and reading the PNG.
            for png in pngs:
                for q in p["q"]:
                    d = os.path.join(out_dir, f"q{q}")
                    os.makedirs(d, exist_ok=True)
                    dst = os.path.join(d, stem(png) + ".avif")
                    times, cpu_times = [], []
                    for _ in range(args.runs):
                        t, c = time.perf_counter(), os.times()
                        subprocess.run(["vips", "heifsave", png, dst, "--Q", str(q),
                                        "--compression", "av1", "--encoder", "aom",
                                        "--effort", str(p["effort"]), "--bitdepth", "8",
                                        "--strip"], check=True,
                                       env=dict(os.environ, VIPS_CONCURRENCY="1"))
                        times.append((time.perf_counter() - t) * 1000)
                        c1 = os.times()
                        cpu_times.append((c1.children_user + c1.children_system
                                          - c.children_user - c.children_system) * 1000)
                    rows.append([sid, str(p["effort"]), str(q), "1", stem(png),
                                 f"{statistics.median(times):.1f}",
                                 f"{statistics.median(cpu_times):.1f}",
                                 str(os.path.getsize(dst))])
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["encoder", "speed", "quality", "threads", "file", "ms", "cpu_ms", "bytes"])
            w.writerows(rows)


def luma(im):
    a = np.asarray(im.convert("RGB"), dtype=np.float64)
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


_refs = {}


def ssim(path, ref_stem):
    from skimage.metrics import structural_similarity
    if ref_stem not in _refs:
        with Image.open(os.path.join(INPUTS, ref_stem + ".png")) as im:
            _refs[ref_stem] = luma(im)
    with Image.open(path) as im:
        im.load()
        y = luma(im)
    ref = _refs[ref_stem]
    if y.shape != ref.shape:
        raise SystemExit(f"{path} is {y.shape}, its input {ref.shape}")
    return float(structural_similarity(ref, y, data_range=255, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))


def score(args):
    cache_path = os.path.join(OUT, "scores.json")
    cache = json.load(open(cache_path)) if os.path.exists(cache_path) else {}
    todo = []
    for root, _dirs, files in os.walk(os.path.join(OUT, "enc")):
        todo += [os.path.join(root, f) for f in files]
    for fmt in ("webp", "jpg"):
        d = os.path.join(OUT, "rendition", fmt)
        todo += [os.path.join(d, f) for f in os.listdir(d)]
    for path in todo:
        st = os.stat(path)
        key = os.path.relpath(path, OUT)
        sig = f"{st.st_size}:{int(st.st_mtime)}"
        if cache.get(key, {}).get("sig") != sig:
            cache[key] = {"sig": sig, "ssim": ssim(path, stem(path))}
    with open(cache_path, "w") as f:
        json.dump(cache, f, indent=0, sort_keys=True)
    return cache


def load(sid):
    with open(os.path.join(OUT, "csv", f"{sid}.csv")) as f:
        return list(csv.DictReader(f))


def at_target(points, target):
    """(bytes, cpu ms, wall ms, quality) interpolated at SSIM `target` from the sweep
    [(ssim, bytes, cpu ms, wall ms, quality)], or None when the sweep does not reach it."""
    pts = sorted(points)
    for a, b in zip(pts, pts[1:]):
        if a[0] <= target <= b[0]:
            f = 0.0 if b[0] == a[0] else (target - a[0]) / (b[0] - a[0])
            size = math.exp(math.log(a[1]) + f * (math.log(b[1]) - math.log(a[1])))
            return (size,) + tuple(x + f * (y - x) for x, y in zip(a[2:], b[2:]))
    return None


def report(args, scores):
    stems = [stem(p) for p in photos(args)]
    per = {}  # sid -> stem -> [(ssim, bytes, ms, q)]
    for sid, label, kind, p in settings():
        if not os.path.exists(os.path.join(OUT, "csv", f"{sid}.csv")):
            continue
        d = per.setdefault(sid, {})
        for r in load(sid):
            key = os.path.join("enc", sid, f"q{r['quality']}", r["file"] + ".avif")
            d.setdefault(r["file"], []).append(
                (scores[key]["ssim"], int(r["bytes"]), float(r["cpu_ms"]), float(r["ms"]),
                 int(r["quality"])))
    targets = {}
    sharp = {f: {x[4]: x[0] for x in pts} for f, pts in per.get("sharp-e4", {}).items()}
    if sharp:
        targets["sharp's default (q50, effort 4)"] = {f: sharp[f][50] for f in stems}
    for fmt, name in (("webp", "rendition's WebP q80"), ("jpg", "rendition's JPEG q80")):
        targets[name] = {f: scores[os.path.join("rendition", fmt, f"{f}.{fmt}")]["ssim"]
                         for f in stems}
    webp_bytes = sum(os.path.getsize(os.path.join(OUT, "rendition", "webp", f + ".webp"))
                     for f in stems)
    jpg_bytes = sum(os.path.getsize(os.path.join(OUT, "rendition", "jpg", f + ".jpg"))
                    for f in stems)
    L = []
    for tname, target in targets.items():
        L.append(f"\n### At the SSIM of {tname} (mean {np.mean(list(target.values())):.4f})\n")
        L.append("| encoder and setting | bytes, 12 photos | × sharp | encode CPU ms per photo, "
                 "mean | max | wall ms, mean | quality needed (mean) |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        base = None
        rows = []
        for sid, label, _kind, _p in settings():
            if sid not in per:
                continue
            got = [at_target(per[sid][f], target[f]) for f in stems]
            if any(g is None for g in got):
                missing = sum(g is None for g in got)
                rows.append((sid, f"| {label} | not reached on {missing} photos | | | | | |"))
                continue
            b = sum(g[0] for g in got)
            if sid == "sharp-e4":
                base = b
            rows.append((sid, b, label, np.mean([g[1] for g in got]),
                         max(g[1] for g in got), np.mean([g[2] for g in got]),
                         np.mean([g[3] for g in got])))
        for r in rows:
            if isinstance(r[1], str):
                L.append(r[1])
                continue
            sid, b, label, mean_ms, max_ms, wall, q = r
            ratio = f"{b / base:.2f}" if base else ""
            L.append(f"| {label} | {b / 1024:.1f} KiB | {ratio} | {mean_ms:.0f} | {max_ms:.0f} "
                     f"| {wall:.0f} | {q:.0f} |")
    L.append(f"\nFor scale: rendition's WebP q80 of the same 12 photos is {webp_bytes / 1024:.1f}"
             f" KiB, its JPEG q80 {jpg_bytes / 1024:.1f} KiB.\n")
    # Each setting at each swept quality: mean SSIM, bytes, mean ms.
    L.append("\n### Every setting at every quality swept\n")
    L.append("| encoder and setting | quality | bytes, 12 photos | SSIM mean | SSIM min | "
             "encode CPU ms mean | max | wall ms mean |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for sid, label, _kind, p in settings():
        if sid not in per:
            continue
        for q in p["q"]:
            pts = [next(x for x in per[sid][f] if x[4] == q) for f in stems]
            L.append(f"| {label} | {q} | {sum(x[1] for x in pts) / 1024:.1f} KiB | "
                     f"{np.mean([x[0] for x in pts]):.4f} | {min(x[0] for x in pts):.4f} | "
                     f"{np.mean([x[2] for x in pts]):.0f} | {max(x[2] for x in pts):.0f} | "
                     f"{np.mean([x[3] for x in pts]):.0f} |")
    text = "\n".join(L) + "\n"
    with open(os.path.join(OUT, "report.md"), "w") as f:
        f.write(text)
    print(text)


def render_e2e(args):
    """Whole renders, JPEG in, 512 px AVIF out: rendition against sharp and vipsthumbnail,
    one process over the 12 photos, median wall time of --runs (after one warm-up)."""
    srcs = photos(args)
    d = os.path.join(OUT, "e2e")
    shutil.rmtree(d, ignore_errors=True)
    cmds = {
        "rendition": [args.rendition, "render", "--width", str(WIDTH), "--format", "avif",
                      "--out-dir", os.path.join(d, "rendition")] + srcs,
        "sharp": ["node", os.path.join(BENCH, "sharp_avif.js"), "render",
                  os.path.join(d, "sharp"), "4", "50", "1"] + srcs,
        "vipsthumbnail": ["vipsthumbnail", "--size", f"{WIDTH}x", "-o",
                          os.path.join(d, "vipsthumbnail", "%s.avif[Q=50,strip]")] + srcs,
    }
    env = dict(os.environ, NODE_PATH=args.sharp_modules, VIPS_CONCURRENCY="1")
    L = ["| tool | median wall, 12 photos | per photo | output bytes |",
         "| --- | ---: | ---: | ---: |"]
    for name, cmd in cmds.items():
        os.makedirs(os.path.join(d, name), exist_ok=True)
        walls = []
        for i in range(args.runs + 1):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
            if i:
                walls.append(time.perf_counter() - t)
        total = sum(os.path.getsize(os.path.join(r, f))
                    for r, _ds, fs in os.walk(os.path.join(d, name)) for f in fs)
        w = statistics.median(walls)
        L.append(f"| {name} | {w:.2f} s | {w / len(srcs) * 1000:.0f} ms | "
                 f"{total / 1024:.1f} KiB |")
    text = "\n".join(L) + "\n"
    with open(os.path.join(OUT, "e2e.md"), "w") as f:
        f.write(text)
    print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rendition", default=os.path.join(ROOT, "target", "release", "rendition"))
    ap.add_argument("--photos", default=os.path.join(BENCH, "out", "sets", "typical"))
    ap.add_argument("--sharp-modules", default=os.path.join(BENCH, "node_modules"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--stages", default="prepare,encode,score,report")
    ap.add_argument("--only", help="comma-separated setting ids to (re)encode")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    stages = args.stages.split(",")
    os.makedirs(OUT, exist_ok=True)
    if "prepare" in stages:
        prepare(args)
    if "encode" in stages:
        encode(args)
    scores = score(args) if ("score" in stages or "report" in stages) else None
    if "report" in stages:
        report(args, scores)
    if "render" in stages:
        render_e2e(args)


if __name__ == "__main__":
    main()
