"""The heavy lifting of bench/run: prepares the photo sets, runs rendition and its peers,
scores the outputs and writes bench/RESULTS.md and bench/results.png.

Run it through bench/run, which installs everything this needs first.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, features

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
SETS_DIR = os.path.join(OUT, "sets")
RES_DIR = os.path.join(OUT, "results")
BACKGROUNDS = "/usr/share/backgrounds"
TIMEOUT_S = 300  # per command
WIDTH = 512
QUALITY = 80
# The width sweep (`--sets widths`): the typical set at each of these widths, in each format.
# AVIF stops at 1024 px: at 1600 and 2400 px one run of sharp or vipsthumbnail (libaom, effort
# 4) over the set takes minutes (about 45 s at 1024 px on the 2-core machine), too long for
# five runs of every width.
SWEEP_WIDTHS = (256, 512, 1024, 1600, 2400)
WIDTH_FORMATS = {"jpg": SWEEP_WIDTHS, "webp": SWEEP_WIDTHS, "avif": (256, 512, 1024)}
# AVIF settings, as in AVIF.md's whole-render comparison: rendition at its default (quality 80,
# its speed ladder), sharp and vipsthumbnail at sharp's default (quality 50, effort 4). Pillow
# is not in the AVIF runs.
AVIF_PEER_Q = 50
AVIF_EFFORT = 4
TOOL_FORMATS = {"Pillow": ("jpg", "webp", "png")}  # tools that do not write every format

# ---------------------------------------------------------------------------------------------
# The photo sets. Everything here is derived from Debian's ukui-wallpapers and
# lomiri-wallpapers, deterministically; bump RECIPE when any of it changes.
RECIPE = "4"

# "typical": 1.3-5 MP JPEGs, the wallpapers listed in photos.py (shared with thumbor_load.py).
from photos import TYPICAL_AS_IS, TYPICAL_DOWNSCALED, make_typical  # noqa: E402

# "huge progressive": one 18 MP progressive JPEG of about 15 MB. The largest wallpaper
# photograph (Kleiber, 6028x3391, 20.4 MP; the one with more pixels is a flat painting that
# compresses to 0.3 MB at any size) is centre-cropped to 3:2, resized with LANCZOS to
# 5200x3466, given camera-like grain (seeded Gaussian noise: sigma 3 on luma plus sigma 2 per
# channel; without it a resampled wallpaper is too smooth to come near the size of a real
# 18 MP photo) and saved progressive, q98, 4:4:4, optimized Huffman tables, no metadata.
HUGE_SOURCE = "Kleiber_by_Lukas_Baubkus.jpg"
HUGE_SIZE = (5200, 3466)
HUGE_NAME = "huge-progressive.jpg"

# "png": every distinct wallpaper PNG (lomiri-default-background.png is a symlink to
# warty-final-ubuntu.png and counted once), used as they are.

# "alpha": PNGs with a real alpha channel, one per downscaled typical photo (same pixels, same
# 1.3-5 MP sizes), each with its own deterministic alpha mask (ALPHA_MASKS, in the order of
# TYPICAL_DOWNSCALED), RGB set to 0 wherever alpha is 0 (as PNG optimisers leave it, so a
# resize that does not weight colour by alpha shows dark fringes), saved by Pillow at its
# default compression. Eight are RGBA; "grey" is grey + alpha (LA) and "palette" a 256-colour
# palette with a tRNS chunk (P), the other two kinds of PNG transparency.
ALPHA_MASKS = ("vignette", "rounded", "fade", "hole", "spot", "stripes", "clouds", "half",
               "grey", "palette")


def log(*a):
    print(*a, flush=True)


def alpha_mask(kind, w, h, seed):
    """The alpha (0-255, uint8, h x w) of the ALPHA_MASKS kind `kind` for a w x h image."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    x, y = xx / w * 2 - 1, yy / h * 2 - 1  # -1..1 across the image
    r = np.hypot(xx - w / 2, yy - h / 2) / min(w, h)  # distance from the centre, in short sides

    def smooth(t):
        t = np.clip(t, 0, 1)
        return t * t * (3 - 2 * t)

    if kind in ("vignette", "grey"):  # soft ellipse: opaque centre, clear corners
        a = smooth((1.15 - np.hypot(x, y)) / 0.5)
    elif kind == "rounded":  # card with round corners, a clear margin, 1.5 px soft edge
        m, rad = 0.06 * min(w, h), 0.15 * min(w, h)
        dx = np.maximum(np.abs(xx - w / 2) - (w / 2 - m - rad), 0)
        dy = np.maximum(np.abs(yy - h / 2) - (h / 2 - m - rad), 0)
        a = np.clip(0.5 - (np.hypot(dx, dy) - rad) / 1.5, 0, 1)
    elif kind == "fade":  # opaque left edge fading to clear at the right
        a = smooth((1 - x) / 2)
    elif kind == "hole":  # opaque, with a soft round hole in the middle
        a = smooth((r - 0.2) / 0.1)
    elif kind == "spot":  # Gaussian spot, nowhere quite clear
        a = np.exp(-(x * x + y * y) / 0.35)
    elif kind == "stripes":  # hard-edged bands, opaque and 35%
        a = np.where(np.floor(yy / (h / 12)) % 2 == 0, 1.0, 0.35)
    elif kind == "clouds":  # a smooth seeded random field, thresholded softly
        rng = np.random.default_rng(seed)
        field = Image.fromarray(rng.random((9, 14)).astype(np.float32), "F")
        a = smooth((np.asarray(field.resize((w, h), Image.BICUBIC)) - 0.35) / 0.3)
    elif kind == "half":  # 50% everywhere
        a = np.full((h, w), 0.5, dtype=np.float32)
    elif kind == "palette":  # hard-edged disc: binary transparency, as a tRNS palette has it
        a = (r < 0.45).astype(np.float32)
    else:
        raise ValueError(kind)
    return np.round(np.asarray(a, dtype=np.float32) * 255).astype(np.uint8)


def alpha_png(rgb, kind, seed, dst):
    """Saves the RGB image `rgb` with the alpha mask `kind` as PNG (see ALPHA_MASKS)."""
    a = alpha_mask(kind, rgb.width, rgb.height, seed)
    px = np.array(rgb)
    px[a == 0] = 0
    im = Image.fromarray(np.dstack([px, a]), "RGBA")
    if kind == "grey":
        im = Image.merge("LA", (im.convert("L"), im.getchannel("A")))
    elif kind == "palette":
        im = im.quantize(256, method=Image.Quantize.FASTOCTREE)
    im.save(dst, "PNG")


def prepare_sets():
    """Creates bench/out/sets/{typical,huge,alpha} unless they are there for this RECIPE."""
    stamp = os.path.join(SETS_DIR, ".recipe")
    typical_dir = os.path.join(SETS_DIR, "typical")
    huge_dir = os.path.join(SETS_DIR, "huge")
    alpha_dir = os.path.join(SETS_DIR, "alpha")
    if not (os.path.exists(stamp) and open(stamp).read().strip() == RECIPE):
        log(f"preparing the photo sets in {SETS_DIR}")
        shutil.rmtree(SETS_DIR, ignore_errors=True)
        os.makedirs(typical_dir)
        os.makedirs(huge_dir)
        os.makedirs(alpha_dir)
        def alpha_from(i, name, small):
            kind = ALPHA_MASKS[i]
            alpha_png(small, kind, i, os.path.join(
                alpha_dir, f"{os.path.splitext(name)[0]}-{kind}.png"))

        make_typical(BACKGROUNDS, typical_dir, alpha_from)
        with Image.open(os.path.join(BACKGROUNDS, HUGE_SOURCE)) as im:
            im = im.convert("RGB")
            w, h = im.size
            tw, th = HUGE_SIZE
            if w / h > tw / th:
                cw = round(h * tw / th)
                box = ((w - cw) // 2, 0, (w - cw) // 2 + cw, h)
            else:
                ch = round(w * th / tw)
                box = (0, (h - ch) // 2, w, (h - ch) // 2 + ch)
            big = np.asarray(im.resize(HUGE_SIZE, Image.LANCZOS, box=box), dtype=np.float32)
        rng = np.random.default_rng(1)
        grain = rng.normal(0, 3, (th, tw, 1)).astype(np.float32)
        grain = grain + rng.normal(0, 2, (th, tw, 3)).astype(np.float32)
        big = Image.fromarray(np.clip(big + grain + 0.5, 0, 255).astype(np.uint8))
        big.save(os.path.join(huge_dir, HUGE_NAME), "JPEG", quality=98, subsampling="4:4:4",
                 optimize=True, progressive=True)
        with open(stamp, "w") as f:
            f.write(RECIPE + "\n")
    typical = sorted(os.path.join(typical_dir, f) for f in os.listdir(typical_dir))
    huge = [os.path.join(huge_dir, HUGE_NAME)]
    alpha = sorted(os.path.join(alpha_dir, f) for f in os.listdir(alpha_dir))
    pngs = sorted({os.path.realpath(os.path.join(BACKGROUNDS, f))
                   for f in os.listdir(BACKGROUNDS) if f.endswith(".png")})
    return {
        "typical": {"title": "typical: 12 JPEGs of 1.3-5 MP -> 512 px JPEG q80",
                    "inputs": typical, "fmt": "jpg"},
        "huge": {"title": "huge progressive: one 18 MP progressive JPEG -> 512 px JPEG q80",
                 "inputs": huge, "fmt": "jpg"},
        "png": {"title": f"PNG -> PNG: {len(pngs)} wallpaper PNGs -> 512 px PNG",
                "inputs": pngs, "fmt": "png"},
        "webp": {"title": "JPEG -> WebP: the typical set -> 512 px lossy WebP q80",
                 "inputs": typical, "fmt": "webp"},
        "alpha-webp": {"title": f"PNG with alpha -> WebP: {len(alpha)} PNGs with transparency "
                                f"-> 512 px lossy WebP q80", "inputs": alpha, "fmt": "webp"},
        "alpha-png": {"title": f"PNG with alpha -> PNG: the same {len(alpha)} PNGs -> 512 px PNG",
                      "inputs": alpha, "fmt": "png"},
    }


# Names --sets takes for more than one timed set.
SET_GROUPS = {"alpha": ("alpha-webp", "alpha-png")}


def describe_inputs(paths):
    rows = []
    for p in paths:
        with Image.open(p) as im:
            rows.append({
                "file": os.path.basename(p),
                "format": im.format,
                "mode": im.mode,
                "size": im.size,
                "mp": im.width * im.height / 1e6,
                "progressive": bool(im.info.get("progressive")),
                "bytes": os.path.getsize(p),
            })
    return rows


# ---------------------------------------------------------------------------------------------
# The tools. Each gets (fmt, out_dir, inputs) and returns an argv for one process.

def dct_scale(path):
    """The DCT scale (1/8, 1/4, 1/2 or 1) Pillow's draft picks for a 512-px-wide thumbnail of
    this JPEG: the smallest libjpeg offers that still covers 512 px (djpeg's reference row)."""
    with Image.open(path) as im:
        w = im.width
    for d in (8, 4, 2):
        if -(-w // d) >= WIDTH:
            return d
    return 1


def rendition_eighths(path):
    """The DCT scale N/8 rendition decodes this JPEG at for a 512-px-wide thumbnail: the
    smallest that covers 1.25 x 512 px (DCT_MARGIN in src/render/decode.rs)."""
    with Image.open(path) as im:
        w = im.width
    want = -(-WIDTH * 5 // 4)
    return next((n for n in range(1, 9) if -(-w * n // 8) >= want), 8)


def tool_commands(rendition, with_sharp):
    """Each tool's argv maker: (fmt, out_dir, inputs, width=WIDTH). Every tool keeps a source
    narrower than `width` at its own width, as rendition does by default (vipsthumbnail's
    `--size Wx>` shrinks only; sharp.js uses withoutEnlargement; pillow_bench.py does not
    resize up). JPEG and WebP at QUALITY; AVIF as in AVIF.md (see AVIF_PEER_Q)."""
    node_modules_dir = BENCH

    def peer_spec(fmt, width):  # FORMAT[:QUALITY[:WIDTH]] of sharp.js and pillow_bench.py
        if width == WIDTH and fmt != "avif":
            return fmt
        return f"{fmt}:{AVIF_PEER_Q if fmt == 'avif' else QUALITY}:{width}"

    tools = {
        "rendition": lambda fmt, out, inputs, width=WIDTH: (
            [rendition, "render", "--width", str(width), "--format", fmt]
            + (["--quality", str(QUALITY)] if fmt != "png" else [])
            + ["--out-dir", out] + inputs),
        "vipsthumbnail": lambda fmt, out, inputs, width=WIDTH: (
            ["vipsthumbnail", "--size", f"{width}x>", "-o", os.path.join(out, "%s." + {
                "jpg": f"jpg[Q={QUALITY},optimize_coding,strip]",
                "webp": f"webp[Q={QUALITY},strip]",
                "png": "png[strip]",
                "avif": f"avif[Q={AVIF_PEER_Q},effort={AVIF_EFFORT},strip]",
            }[fmt])] + inputs),
        "sharp": lambda fmt, out, inputs, width=WIDTH: (
            ["node", os.path.join(node_modules_dir, "sharp.js"), peer_spec(fmt, width), out]
            + inputs),
        "Pillow": lambda fmt, out, inputs, width=WIDTH: (
            [sys.executable, os.path.join(BENCH, "pillow_bench.py"), peer_spec(fmt, width), out]
            + inputs),
    }
    if not with_sharp:
        del tools["sharp"]
    return tools


def djpeg_script(inputs, full, tmpdir, tag):
    """A shell script that decodes every input with djpeg (output discarded)."""
    path = os.path.join(tmpdir, f"djpeg-{tag}.sh")
    with open(path, "w") as f:
        f.write("set -e\n")
        for p in inputs:
            d = 1 if full else dct_scale(p)
            f.write(f"djpeg -scale 1/{d} -outfile /dev/null '{p}'\n")
    return ["sh", path]


TOOL_ENV = {
    "VIPS_CONCURRENCY": "1",  # libvips (vipsthumbnail and sharp) on one worker thread
    "UV_THREADPOOL_SIZE": "1",  # node's pool that sharp's toFile runs on
    "OMP_NUM_THREADS": "1",
    "RAYON_NUM_THREADS": "1",
    "RUST_LOG": "warn",
}


def measure(argv, cwd):
    """Runs argv once under GNU time; returns dict(wall, rss_kib, cpu, rc, err).

    Peak RSS comes from GNU time. Wall and CPU time are measured here to the microsecond
    (GNU time prints hundredths of a second, too coarse for a ratio of two 0.2 s runs): wall
    from a monotonic clock around the run, CPU (user + sys) from the getrusage totals of the
    waited-for children before and after. Both include the `timeout` and `time` wrappers,
    about a millisecond, the same for every tool."""
    env = dict(os.environ, **TOOL_ENV)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["timeout", str(TIMEOUT_S), "/usr/bin/time", "-f", "%e %M %U %S", "-o", tf.name] + argv
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(full, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        text = tf.read().strip().splitlines()
    fields = text[-1].split() if text else []
    if p.returncode != 0 or len(fields) != 4:
        return {"rc": p.returncode, "err": (p.stderr or "").strip()[-800:], "elapsed": elapsed}
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"rc": 0, "wall": elapsed, "rss_kib": int(fields[1]), "cpu": cpu,
            "elapsed": elapsed}


def count_threads(argv, cwd):
    """Runs argv once under strace and counts the threads it starts (clone with
    CLONE_THREAD); None when strace is missing or the run fails."""
    if not shutil.which("strace"):
        return None
    env = dict(os.environ, **TOOL_ENV)
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as tf:
        p = subprocess.run(["timeout", str(TIMEOUT_S), "strace", "-f", "-qq", "-o", tf.name,
                            "-e", "trace=clone,clone3"] + argv, cwd=cwd, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lines = tf.read().splitlines()
    if p.returncode != 0:
        return None
    return sum(1 for line in lines if "CLONE_THREAD" in line and "= -1" not in line)


# ---------------------------------------------------------------------------------------------
# Quality: SSIM of each output against a reference rendering of its source.

_ref_cache = {}

# An output whose alpha differs from the reference's (Pillow LANCZOS of the source's alpha) by
# more than this on average, in 0-255 levels, is listed as a problem (so is one with no alpha).
ALPHA_MAE_LIMIT = 4.0


def has_alpha(im):
    return "A" in im.getbands() or "transparency" in im.info


def luma(im):
    """Float luma (BT.601) of an image, alpha composited over white."""
    if im.mode in ("RGBA", "LA", "PA", "P"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    a = np.asarray(im.convert("RGB"), dtype=np.float64)
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


def reference(src, size):
    """(luma, alpha or None) of the source decoded in full and resized with LANCZOS to size."""
    key = (src, size)
    if key not in _ref_cache:
        with Image.open(src) as im:
            im.load()  # full decode, no draft
            if im.mode not in ("RGB", "RGBA"):
                im = im.convert("RGBA" if has_alpha(im) else "RGB")
            small = im.resize(size, Image.LANCZOS)
            # An alpha channel that is opaque everywhere is no transparency to keep: a tool may
            # drop it (rendition writes such a source as RGB), so it is not checked.
            opaque = im.mode == "RGBA" and im.getchannel("A").getextrema() == (255, 255)
            alpha = (np.asarray(small.getchannel("A"), dtype=np.float64)
                     if small.mode == "RGBA" and not opaque else None)
            _ref_cache[key] = (luma(small), alpha)
    return _ref_cache[key]


def source_width(path):
    with Image.open(path) as im:
        return im.width


def score(inputs, out_dir, fmt, width=WIDTH):
    """Bytes and SSIM of the outputs in out_dir, and what is wrong with them: a missing file,
    a width other than min(width, the source's width) (no tool enlarges), and, for a source
    with transparency, an output without alpha or with alpha off the reference's."""
    from skimage.metrics import structural_similarity
    scores, sizes, problems, alpha_maes = [], [], [], []
    total = 0
    for src in inputs:
        stem = os.path.splitext(os.path.basename(src))[0]
        out = os.path.join(out_dir, f"{stem}.{fmt}")
        if not os.path.exists(out):
            problems.append(f"missing {os.path.basename(out)}")
            continue
        total += os.path.getsize(out)
        with Image.open(out) as im:
            im.load()
            size = im.size
            y = luma(im)
            alpha = (np.asarray(im.convert("RGBA").getchannel("A"), dtype=np.float64)
                     if has_alpha(im) else None)
        sizes.append(size)
        want = min(width, source_width(src))
        if size[0] != want:
            problems.append(f"{os.path.basename(out)} is {size[0]}x{size[1]}, not {want} wide")
        ref, ref_alpha = reference(src, size)
        scores.append(structural_similarity(ref, y, data_range=255, gaussian_weights=True,
                                            sigma=1.5, use_sample_covariance=False))
        if ref_alpha is not None:
            if alpha is None:
                problems.append(f"{os.path.basename(out)} has no alpha")
                continue
            mae = float(np.mean(np.abs(alpha - ref_alpha)))
            alpha_maes.append(mae)
            if mae > ALPHA_MAE_LIMIT:
                problems.append(f"{os.path.basename(out)}: alpha off by {mae:.1f} levels on "
                                f"average")
    return {
        "bytes": total,
        "ssim_mean": float(np.mean(scores)) if scores else None,
        "ssim_min": float(np.min(scores)) if scores else None,
        "ssim_each": [float(s) for s in scores],
        "sizes": sizes,
        "clamped": sum(1 for src in inputs if source_width(src) < width),
        "alpha_mae_mean": float(np.mean(alpha_maes)) if alpha_maes else None,
        "alpha_mae_max": float(np.max(alpha_maes)) if alpha_maes else None,
        "problems": problems,
    }


def run_timed(jobs, n_runs, inputs, fmt, width=WIDTH, threads=True):
    """Times jobs ({tool: (argv, out_dir or None)}): one warm-up round and n_runs timed rounds,
    the tool order rotated between rounds; then the medians, a thread count under strace
    (when `threads`) and the scores of each tool's outputs. Returns {"tools": {tool: entry}}."""
    runs = {t: [] for t in jobs}
    errors = {}
    order = list(jobs)
    for rnd in range(n_runs + 1):  # round 0 is the warm-up
        rot = order[rnd % len(order):] + order[:rnd % len(order)]
        for t in rot:
            if t in errors:
                continue
            argv, out = jobs[t]
            if out:
                shutil.rmtree(out, ignore_errors=True)
                os.makedirs(out)
            r = measure(argv, cwd=BENCH)
            if r["rc"] != 0:
                errors[t] = f"exit {r['rc']}: {r['err']}"
                log(f"   {t}: FAILED {errors[t]}")
                continue
            if rnd > 0:
                runs[t].append(r)
            log(f"   {'warm-up' if rnd == 0 else f'run {rnd}'} {t}: {r['wall']:.2f} s, "
                f"{r['rss_kib'] / 1024:.1f} MiB, cpu {r['cpu']:.2f} s")
    res = {"tools": {}}
    for t, (argv, out) in jobs.items():
        if t in errors or not runs[t]:
            res["tools"][t] = {"error": errors.get(t, "no runs"), "argv": argv}
            continue
        rr = runs[t]
        entry = {
            "argv": argv if len(argv) < 8 else argv[:8] + ["..."],
            "walls": [r["wall"] for r in rr],
            "elapsed": [round(r["elapsed"], 4) for r in rr],
            "rss_kib": [r["rss_kib"] for r in rr],
            "cpus": [r["cpu"] for r in rr],
            "wall_median": statistics.median(r["wall"] for r in rr),
            "rss_median_kib": statistics.median(r["rss_kib"] for r in rr),
            "cpu_median": statistics.median(r["cpu"] for r in rr),
        }
        if threads:
            # Writes the same outputs again, over the last timed run's.
            entry["threads"] = count_threads(argv, BENCH)
        if out:
            log(f"   scoring {t}")
            entry.update(score(inputs, out, fmt, width))
        res["tools"][t] = entry
    return res


def run_widths(typical, tools, n_runs):
    """The width sweep: every tool renders the typical set at each width of WIDTH_FORMATS, in
    each format, every (format, width) timed as a timed set is (without the thread count).
    Widths are the outer loop, so each width's SSIM references serve every format once."""
    t0 = time.perf_counter()
    load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    widths = sorted({w for ws in WIDTH_FORMATS.values() for w in ws})
    cells = {fmt: {} for fmt in WIDTH_FORMATS}
    for w in widths:
        for fmt, ws in WIDTH_FORMATS.items():
            if w not in ws:
                continue
            names = [t for t in tools if fmt in TOOL_FORMATS.get(t, (fmt,))]
            log(f"\n-- width sweep: {len(typical)} inputs -> {w} px {fmt} ({', '.join(names)})")
            jobs = {}
            for t in names:
                out = os.path.join(RES_DIR, "widths", fmt, str(w), t)
                jobs[t] = (tools[t](fmt, out, typical, w), out)
            cells[fmt][str(w)] = run_timed(jobs, n_runs, typical, fmt, w, threads=False)
        _ref_cache.clear()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "runs": n_runs,
        "widths": {fmt: list(ws) for fmt, ws in WIDTH_FORMATS.items()},
        "source_widths": sorted(source_width(p) for p in typical),
        "load_before": load_before,
        "load_after": " ".join(open("/proc/loadavg").read().split()[:3]),
        "seconds": round(time.perf_counter() - t0, 1),
        "cells": cells,
    }


# ---------------------------------------------------------------------------------------------
# Quality sweep: every tool over the typical set at several q settings, total bytes and mean
# SSIM (score() above, same reference) at each, and from those curves each tool's bytes at
# the SSIM libvips reaches at SWEEP_TARGETS.

SWEEP_Q = (50, 60, 70, 75, 80, 85, 90, 95)
SWEEP_TARGETS = (70, 80, 90)  # libvips q settings whose SSIM every tool is matched at
SWEEP_BASE = "vipsthumbnail"
# (key, source set, output format, title). The "-png" variants render the typical set
# pre-decoded to PNG: no DCT-scaled decode is possible, so they separate the decode scale from
# the resize and encoder.
SWEEP_VARIANTS = (
    ("jpg", "typical", "jpg", "JPEG: the typical set -> 512 px JPEG"),
    ("webp", "typical", "webp", "WebP: the typical set -> 512 px lossy WebP"),
    ("jpg-png", "typical-png", "jpg",
     "JPEG from pre-decoded PNG: the typical set decoded in full by Pillow and saved as PNG "
     "-> 512 px JPEG (decode-scale check)"),
    ("webp-png", "typical-png", "webp",
     "WebP from pre-decoded PNG: the same PNGs -> 512 px lossy WebP (decode-scale check)"),
)


def sweep_commands(rendition, with_sharp):
    """Like tool_commands, with the quality as an argument: (fmt, q, out_dir, inputs)."""
    tools = {
        "rendition": lambda fmt, q, out, inputs: (
            [rendition, "render", "--width", str(WIDTH), "--format", fmt, "--quality", str(q),
             "--out-dir", out] + inputs),
        "vipsthumbnail": lambda fmt, q, out, inputs: (
            ["vipsthumbnail", "--size", f"{WIDTH}x", "-o", os.path.join(out, "%s." + {
                "jpg": f"jpg[Q={q},optimize_coding,strip]",
                "webp": f"webp[Q={q},strip]",
            }[fmt])] + inputs),
        "sharp": lambda fmt, q, out, inputs: (
            ["node", os.path.join(BENCH, "sharp.js"), f"{fmt}:{q}", out] + inputs),
        "Pillow": lambda fmt, q, out, inputs: (
            [sys.executable, os.path.join(BENCH, "pillow_bench.py"), f"{fmt}:{q}", out]
            + inputs),
    }
    if not with_sharp:
        del tools["sharp"]
    return tools


def predecoded_pngs(inputs):
    """The inputs decoded in full by Pillow (as reference() does) and saved as PNG under
    bench/out/sets/typical-png; made when missing (prepare_sets wipes them with the rest
    when RECIPE changes)."""
    d = os.path.join(SETS_DIR, "typical-png")
    os.makedirs(d, exist_ok=True)
    outs = []
    for src in inputs:
        dst = os.path.join(d, os.path.splitext(os.path.basename(src))[0] + ".png")
        if not os.path.exists(dst):
            with Image.open(src) as im:
                im = im.convert("RGB")
                im.save(dst + ".part", "PNG", compress_level=1)
            os.replace(dst + ".part", dst)
        outs.append(dst)
    return outs


def jpeg_subsampling(out_dir):
    """The chroma subsampling of the JPEGs in out_dir, e.g. "4:2:0" (several joined by /)."""
    from PIL import JpegImagePlugin
    kinds = set()
    for f in sorted(os.listdir(out_dir)):
        if f.endswith(".jpg"):
            with Image.open(os.path.join(out_dir, f)) as im:
                kinds.add({0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}.get(
                    JpegImagePlugin.get_sampling(im), "other"))
    return "/".join(sorted(kinds))


def vips_preshrink(inputs, tmpdir):
    """The shrink-on-load factors vipsthumbnail picks for inputs (VIPS_INFO=1 logs "loading
    with factor N pre-shrink" per file), as a sorted list of distinct factors; [] if unknown."""
    env = dict(os.environ, **TOOL_ENV, VIPS_INFO="1")
    try:
        p = subprocess.run(["vipsthumbnail", "--size", f"{WIDTH}x", "-o",
                            os.path.join(tmpdir, "%s.v")] + inputs, env=env,
                           capture_output=True, text=True, timeout=TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({int(m) for m in re.findall(r"loading with factor (\d+) pre-shrink",
                                               p.stdout + p.stderr)})


def run_sweep(typical, tools, qualities):
    """Runs every tool at every q for every variant; returns the sweep part of results.json."""
    t0 = time.perf_counter()
    load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    inputs = {"typical": typical, "typical-png": predecoded_pngs(typical)}
    variants = {}
    for key, src_set, fmt, _title in SWEEP_VARIANTS:
        log(f"\n-- quality sweep {key}: {len(inputs[src_set])} inputs -> {fmt} at q "
            f"{', '.join(map(str, qualities))}")
        per_tool = {}
        for t, make in tools.items():
            per_q = {}
            for q in qualities:
                out = os.path.join(RES_DIR, "sweep", key, t, f"q{q}")
                shutil.rmtree(out, ignore_errors=True)
                os.makedirs(out)
                r = measure(make(fmt, q, out, inputs[src_set]), cwd=BENCH)
                if r["rc"] != 0:
                    per_q[str(q)] = {"error": f"exit {r['rc']}: {r['err']}"}
                    log(f"   {t} q{q}: FAILED {per_q[str(q)]['error']}")
                    continue
                s = score(inputs[src_set], out, fmt)
                per_q[str(q)] = {k: s[k] for k in ("bytes", "ssim_mean", "ssim_min",
                                                    "problems")}
                if fmt == "jpg":
                    per_q[str(q)]["subsampling"] = jpeg_subsampling(out)
                log(f"   {t} q{q}: {s['bytes'] / 1024:.0f} KiB, SSIM {s['ssim_mean']:.4f}")
            per_tool[t] = per_q
        variants[key] = {"tools": per_tool, "equal": equal_ssim(per_tool, qualities)}
    with tempfile.TemporaryDirectory(prefix="rendition-bench-vips-") as d:
        preshrink = vips_preshrink(typical, d)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "qualities": list(qualities),
        "rendition_scales": sorted({rendition_eighths(p) for p in typical}),
        "scorer": (f"scikit-image {__import__('skimage').__version__}, scipy "
                   f"{__import__('scipy').__version__}"),
        "vips_preshrink": preshrink,
        "targets": [q for q in SWEEP_TARGETS if q in qualities],
        "load_before": load_before,
        "load_after": " ".join(open("/proc/loadavg").read().split()[:3]),
        "seconds": round(time.perf_counter() - t0, 1),
        "variants": variants,
    }


def curve(per_q):
    """A tool's (q, bytes, SSIM) points in q order, keeping only points whose SSIM is above
    every lower q's (so SSIM is strictly increasing and can serve as the abscissa)."""
    pts = sorted((int(q), r["bytes"], r["ssim_mean"]) for q, r in per_q.items()
                 if r.get("ssim_mean") is not None and not r.get("problems"))
    kept = []
    for p in pts:
        if not kept or p[2] > kept[-1][2]:
            kept.append(p)
    return kept, len(pts) - len(kept)


def at_ssim(pts, target):
    """Bytes and q at which a tool's curve reaches SSIM `target`: monotone piecewise-cubic
    (PCHIP, Fritsch-Carlson) interpolation of log(bytes), and of q, against SSIM, with no
    extrapolation. Returns dict(bytes, q) or dict(out="below"|"above")."""
    from scipy.interpolate import PchipInterpolator
    if len(pts) < 2:
        return {"out": "n/a"}
    s = np.array([p[2] for p in pts])
    eps = 1e-9  # the base tool's own points must hit exactly
    if target < s[0] - eps:
        return {"out": "below"}
    if target > s[-1] + eps:
        return {"out": "above"}
    x = float(np.clip(target, s[0], s[-1]))
    lb = PchipInterpolator(s, np.log([p[1] for p in pts]))(x)
    q = PchipInterpolator(s, [p[0] for p in pts])(x)
    return {"bytes": float(np.exp(lb)), "q": float(q)}


def equal_ssim(per_tool, qualities):
    base = per_tool.get(SWEEP_BASE, {})
    out = {"targets": {}, "dropped": {}}
    curves = {}
    for t, per_q in per_tool.items():
        curves[t], out["dropped"][t] = curve(per_q)
    for tq in SWEEP_TARGETS:
        b = base.get(str(tq), {})
        if tq not in qualities or b.get("ssim_mean") is None:
            continue
        target = b["ssim_mean"]
        row = {"ssim": target, "base_bytes": b["bytes"], "tools": {}}
        for t, pts in curves.items():
            r = at_ssim(pts, target)
            if "bytes" in r:
                r["ratio"] = r["bytes"] / b["bytes"]
            row["tools"][t] = r
        out["targets"][str(tq)] = row
    return out


def plot_sweep(sweep, tools, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    colors = {"rendition": "#d62728", "vipsthumbnail": "#1f77b4", "sharp": "#2ca02c",
              "Pillow": "#ff7f0e"}
    keys = [k for k, *_ in SWEEP_VARIANTS if k in sweep["variants"]]
    cols = min(len(keys), 2)
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.6 * cols, 4.6 * rows), squeeze=False)
    for ax in axes.flat[len(keys):]:
        ax.set_visible(False)
    for j, k in enumerate(keys):
        ax = axes.flat[j]
        v = sweep["variants"][k]
        for t in tools:
            pts = sorted((int(q), r["bytes"], r["ssim_mean"]) for q, r in
                         v["tools"].get(t, {}).items() if r.get("ssim_mean") is not None)
            if not pts:
                continue
            ax.plot([p[1] / 1024 for p in pts], [p[2] for p in pts], "-o", ms=3, lw=1.2,
                    color=colors.get(t, "#777777"), label=t)
            if t in ("rendition", SWEEP_BASE):
                for q, b, s in pts:
                    ax.annotate(f"{q}", (b / 1024, s), fontsize=6, xytext=(3, -8),
                                textcoords="offset points", color=colors.get(t))
        for tq, row in v["equal"]["targets"].items():
            ax.axhline(row["ssim"], ls=":", lw=0.8, color="#1f77b4")
            ax.text(0.01, row["ssim"], f" libvips q{tq}",
                    transform=ax.get_yaxis_transform(), fontsize=6, va="bottom",
                    color="#1f77b4")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(
            [m * 10 ** e for e in range(1, 6) for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8)]))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
            lambda x, _p: f"{x:,.0f}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("total output bytes of the set (KiB, log scale)", fontsize=8)
        ax.set_ylabel("mean luma SSIM vs full-decode LANCZOS reference", fontsize=8)
        ax.set_title({"jpg": "JPEG", "webp": "lossy WebP",
                      "jpg-png": "JPEG from pre-decoded PNG",
                      "webp-png": "lossy WebP from pre-decoded PNG"}.get(k, k), fontsize=10)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="both", lw=0.3, alpha=0.5)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"quality sweep: typical set -> {WIDTH} px at q "
                 f"{', '.join(map(str, sweep['qualities']))} (up and left is better; "
                 f"numbers = q for rendition and libvips)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sweep_report(sweep, tools):
    L = []
    qs = sweep["qualities"]
    L.append("## Quality sweep: bytes at equal SSIM\n")
    L.append(f"Written by `bench/run` on {sweep['date']} (`--sets sweep`; load average before / "
             f"after: {sweep['load_before']} / {sweep['load_after']}; the sweep took "
             f"{sweep['seconds']:.0f} s; SSIM and interpolation: {sweep.get('scorer', '?')}). "
             f"rendition: {sweep.get('rendition', '?')}; the peers as listed above.\n")
    L.append("![mean SSIM against total bytes per tool, at each q](quality.png)\n")
    L.append(
        f"Every tool renders the typical set to {WIDTH} px wide at each q in "
        f"{', '.join(map(str, qs))} (the commands of the timed sets, with the quality "
        f"changed; sharp and Pillow through `sharp.js` and `pillow_bench.py` with FORMAT:Q as "
        f"their first argument). Each point is "
        f"the total output bytes of the set and the mean luma SSIM, scored exactly as in the "
        f"tables above (against the source decoded in full by Pillow and resized with LANCZOS "
        f"to the output's size). Bytes at equal SSIM: the target is the mean SSIM libvips "
        f"(vipsthumbnail) reaches at q {', '.join(map(str, sweep['targets']))}; for every tool, "
        f"log(total bytes) and q are interpolated as functions of mean SSIM with a monotone "
        f"piecewise-cubic Hermite interpolant (PCHIP, Fritsch-Carlson, scipy's "
        f"`PchipInterpolator`) through its points in q order, with points whose SSIM is not "
        f"above every lower q's dropped first so SSIM strictly increases; nothing is "
        f"extrapolated (a target outside a tool's SSIM range is shown as below its lowest or "
        f"above its highest q). × libvips divides those bytes by libvips's own bytes at that "
        f"q, so below 1 means smaller files at the same SSIM; q ≈ is the tool's q setting "
        f"that reaches it. The last two variants feed every tool the same pixels as PNG, so no "
        f"tool can decode at a reduced DCT scale: their gap to the JPEG-source variants is "
        f"what decode scaling costs (or gains) in SSIM. The score is luma SSIM, so it does not see "
        f"chroma: a JPEG encoder that switches from 4:2:0 to 4:4:4 at high q (see the "
        f"subsampling line under each JPEG table) spends bytes there that this score does not "
        f"credit, which shows as a kink in its curve and inflates its bytes at the targets "
        f"above the switch.\n")
    for key, _src, _fmt, title in SWEEP_VARIANTS:
        v = sweep["variants"].get(key)
        if v is None:
            continue
        names = [t for t in tools if t in v["tools"]]
        L.append(f"### {title}\n")
        targets = v["equal"]["targets"]
        if targets:
            L.append("Bytes at the mean SSIM libvips reaches at q "
                     f"{', '.join(targets)} (× libvips, total bytes, the q that reaches it):\n")
            L.append("| tool | " + " | ".join(
                f"SSIM {row['ssim']:.4f} (libvips q{tq})" for tq, row in targets.items()) + " |")
            L.append("| --- |" + " ---: |" * len(targets))
            for t in names:
                cells = []
                for tq, row in targets.items():
                    r = row["tools"].get(t, {})
                    if "ratio" in r:
                        cells.append(f"**{r['ratio']:.3f}×** {fmt_bytes(r['bytes'])}, "
                                     f"q ≈ {r['q']:.1f}")
                    elif r.get("out") == "above":
                        cells.append(f"above its q{max(qs)}")
                    elif r.get("out") == "below":
                        cells.append(f"below its q{min(qs)}")
                    else:
                        cells.append("n/a")
                name = f"**{t}**" if t == "rendition" else t
                L.append(f"| {name} | " + " | ".join(cells) + " |")
            dropped = {t: n for t, n in v["equal"]["dropped"].items() if n}
            if dropped:
                L.append("\nPoints dropped because SSIM did not rise with q: "
                         + ", ".join(f"{t} {n}" for t, n in dropped.items()))
            L.append("")
        for what, key2, f in (("Mean SSIM", "ssim_mean", lambda x: f"{x:.4f}"),
                              ("Total output bytes (KiB)", "bytes",
                               lambda x: f"{x / 1024:,.0f}")):
            L.append(f"{what} at each q:\n")
            L.append("| tool | " + " | ".join(f"q{q}" for q in qs) + " |")
            L.append("| --- |" + " ---: |" * len(qs))
            for t in names:
                cells = []
                for q in qs:
                    r = v["tools"][t].get(str(q), {})
                    cells.append("failed" if r.get(key2) is None else f(r[key2]))
                name = f"**{t}**" if t == "rendition" else t
                L.append(f"| {name} | " + " | ".join(cells) + " |")
            L.append("")
        sub = []
        for t in names:
            runs_ = []  # (subsampling, first q, last q)
            for q in qs:
                k = v["tools"][t].get(str(q), {}).get("subsampling")
                if k is None:
                    continue
                if runs_ and runs_[-1][0] == k:
                    runs_[-1][2] = q
                else:
                    runs_.append([k, q, q])
            if runs_:
                sub.append(f"{t} " + ", ".join(
                    k if len(runs_) == 1 else (f"{k} at q{a}" if a == b else f"{k} at q{a}-{b}")
                    for k, a, b in runs_))
        if sub:
            L.append("Chroma subsampling of the JPEG outputs: " + "; ".join(sub) + ".\n")
        probs = sorted({f"{t} q{q}: {'; '.join(r.get('problems') or [r['error']])}"
                        for t, per_q in v["tools"].items() for q, r in per_q.items()
                        if r.get("problems") or r.get("error")})
        if probs:
            L.append("Problems: " + " / ".join(probs) + "\n")
    pairs = [(a, b) for a, b in (("jpg", "jpg-png"), ("webp", "webp-png"))
             if a in sweep["variants"] and b in sweep["variants"]]
    qd = QUALITY if QUALITY in qs else qs[len(qs) // 2]
    if pairs:
        L.append(f"### Decode scale: mean SSIM at q{qd} from the JPEGs and from the same "
                 f"pixels as PNG\n")
        rs = sweep.get("rendition_scales") or []
        vp = sweep.get("vips_preshrink") or []
        L.append(
            "rendition decodes each JPEG at the smallest DCT scale N/8 that covers 1.25 × the "
            "output"
            + (f" ({', '.join(f'{d}/8' for d in rs)} on this set)" if rs else "")
            + "; Pillow's `draft` at the smallest of 1/8, 1/4, 1/2 and 1 that covers the output"
            + "; vipsthumbnail shrinks on load only as far as leaves at least a factor of 2 "
            "for its own reduce"
            + (f" (`VIPS_INFO=1` reports shrink-on-load factors {', '.join(map(str, vp))} "
               f"on this set)" if vp else "")
            + ". From PNG every tool resizes the full-size pixels.\n")
        head = "| tool |"
        for a, _b in pairs:
            f = "JPEG" if a == "jpg" else "WebP"
            head += f" {f} from JPEG | {f} from PNG | {f} difference |"
        L.append(head)
        L.append("| --- |" + " ---: | ---: | ---: |" * len(pairs))
        for t in tools:
            cells = []
            for a, b in pairs:
                x = sweep["variants"][a]["tools"].get(t, {}).get(str(qd), {}).get("ssim_mean")
                y = sweep["variants"][b]["tools"].get(t, {}).get(str(qd), {}).get("ssim_mean")
                if x is None or y is None:
                    cells += ["n/a"] * 3
                else:
                    cells += [f"{x:.4f}", f"{y:.4f}", f"{x - y:+.4f}"]
            name = f"**{t}**" if t == "rendition" else t
            L.append(f"| {name} | " + " | ".join(cells) + " |")
        L.append("")
    return L


# ---------------------------------------------------------------------------------------------
# Width sweep: report and plot.

FORMAT_NAMES = {"jpg": f"JPEG q{QUALITY}", "webp": f"lossy WebP q{QUALITY}",
                "avif": f"AVIF (rendition q{QUALITY}, peers q{AVIF_PEER_Q} effort {AVIF_EFFORT})"}
FORMAT_COLORS = {"jpg": "#9467bd", "webp": "#17becf", "avif": "#8c564b"}
TOOL_COLORS = {"rendition": "#d62728", "vipsthumbnail": "#1f77b4", "sharp": "#2ca02c",
               "Pillow": "#ff7f0e"}


def versus_peers(cell):
    """rendition against its best peer in one (format, width) cell: {key: (ratio, peer)} for
    wall, CPU and peak RSS, and bytes × libvips's; missing entries when a side failed."""
    tools = cell["tools"]
    r = tools.get("rendition", {})
    out = {}
    if r.get("wall_median") is None:
        return out
    peers = [t for t, e in tools.items() if t != "rendition" and e.get("wall_median") is not None]
    for k in ("wall_median", "cpu_median", "rss_median_kib"):
        if peers:
            best = min(peers, key=lambda t: tools[t][k])
            out[k] = (r[k] / tools[best][k], best)
    v = tools.get(SWEEP_BASE, {})
    if v.get("bytes") and r.get("bytes") is not None:
        out["bytes"] = (r["bytes"] / v["bytes"], SWEEP_BASE)
    return out


def widths_report(wd, tools):
    L = []
    L.append("## Width sweep: the typical set at every width\n")
    L.append(f"Written by `bench/run` on {wd['date']} (`--sets widths`; {wd['runs']} timed "
             f"run{'s' if wd['runs'] != 1 else ''} per tool, format and width after one warm-up "
             f"run, medians; load average before "
             f"/ after: {wd['load_before']} / {wd['load_after']}; the sweep took "
             f"{wd['seconds']:.0f} s). rendition: {wd.get('rendition', '?')}; the peers as "
             f"listed above.\n")
    L.append("![rendition / fastest peer per width, and peak RSS per tool](widths.png)\n")
    sw = wd.get("source_widths") or []
    fmts = [f for f in WIDTH_FORMATS if f in wd["cells"]]
    L.append(
        f"Every tool renders the typical set ({len(sw)} JPEGs, {min(sw) if sw else '?'}-"
        f"{max(sw) if sw else '?'} px wide) in one process to each width, each (format, width) "
        f"timed and scored exactly as a timed set above (no thread count). No tool enlarges: a "
        f"source narrower than the width keeps its own width (rendition's default; "
        f"vipsthumbnail `--size Wx>`, sharp `withoutEnlargement`, Pillow without a resize), "
        f"and the scores expect min(width, source width); \"narrower\" counts those sources. "
        f"The × columns divide rendition's median by the best peer's (rendition not counted; "
        f"the peer named is that best one), so below 1 means rendition is faster or leaner than "
        f"every peer; the plot's dashed line is 0.7. Bytes × libvips: rendition's total output "
        f"bytes over vipsthumbnail's. AVIF: rendition at its default (q{QUALITY}, its speed "
        f"ladder), sharp and vipsthumbnail at sharp's default (q{AVIF_PEER_Q}, effort "
        f"{AVIF_EFFORT}), as in AVIF.md, so the SSIM columns differ by design; Pillow is not "
        f"in the AVIF runs, and AVIF stops at {max(WIDTH_FORMATS['avif'])} px because one run "
        f"of a libaom peer over the set takes minutes beyond it.\n")
    for fmt in fmts:
        cells = wd["cells"][fmt]
        ws = sorted(cells, key=int)
        names = [t for t in tools if any(t in cells[w]["tools"] for w in ws)]
        L.append(f"### {FORMAT_NAMES.get(fmt, fmt)}\n")
        L.append("| width | narrower | rendition wall | × fastest peer | rendition CPU "
                 "| × least-CPU peer | rendition peak RSS | × leanest peer | bytes × libvips | "
                 + " | ".join(f"SSIM {t}" for t in names) + " |")
        L.append("| ---: | ---: |" + " ---: |" * 7 + " ---: |" * len(names))
        for w in ws:
            c = cells[w]
            r = c["tools"].get("rendition", {})
            v = versus_peers(c)
            some = next((e for e in c["tools"].values() if "clamped" in e), {})

            def x(k):
                return f"**{v[k][0]:.2f}×** {v[k][1]}" if k in v else "n/a"

            if r.get("wall_median") is None:
                head = "failed | | failed | | failed | | |"
            else:
                head = (f"{r['wall_median']:.3f} s | {x('wall_median')} | {r['cpu_median']:.3f} s "
                        f"| {x('cpu_median')} | {r['rss_median_kib'] / 1024:.1f} MiB "
                        f"| {x('rss_median_kib')} | "
                        + (f"{v['bytes'][0]:.2f}" if "bytes" in v else "n/a") + " |")
            ssim = [("n/a" if c["tools"].get(t, {}).get("ssim_mean") is None
                     else f"{c['tools'][t]['ssim_mean']:.4f}") for t in names]
            L.append(f"| {w} | {some.get('clamped', '?')} | {head} " + " | ".join(ssim) + " |")
        L.append("")
    L.append("#### Each tool at each width\n")
    for fmt in fmts:
        cells = wd["cells"][fmt]
        L.append(f"{FORMAT_NAMES.get(fmt, fmt)}:\n")
        L.append("| width | tool | median wall | median CPU | median peak RSS | output bytes "
                 "| SSIM mean | SSIM min | wall of each run (s) |")
        L.append("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        probs = []
        for w in sorted(cells, key=int):
            for t in tools:
                e = cells[w]["tools"].get(t)
                if e is None:
                    continue
                name = f"**{t}**" if t == "rendition" else t
                if e.get("wall_median") is None:
                    err = " ".join(e.get("error", "?").split())[:160].replace("|", "/")
                    L.append(f"| {w} | {name} | failed: {err} | | | | | | |")
                    continue
                L.append(f"| {w} | {name} | {e['wall_median']:.3f} s | {e['cpu_median']:.3f} s "
                         f"| {e['rss_median_kib'] / 1024:.1f} MiB | {fmt_bytes(e['bytes'])} "
                         f"| {e['ssim_mean']:.4f} | {e['ssim_min']:.4f} "
                         f"| {' '.join(f'{x:.3f}' for x in e['walls'])} |")
                if e.get("problems"):
                    probs.append(f"{t} at {w} px: {'; '.join(e['problems'])}")
        if probs:
            L.append("\nProblems: " + " / ".join(probs))
        L.append("")
    return L


def plot_widths(wd, tools, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fmts = [f for f in WIDTH_FORMATS if f in wd["cells"]]
    styles = {"jpg": ("-", "o"), "webp": ("--", "s"), "avif": (":", "^")}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    all_w = set()
    for fmt in fmts:
        cells = wd["cells"][fmt]
        for key, ls, what in (("wall_median", "-", "wall"), ("cpu_median", ":", "CPU")):
            pts = [(int(w), versus_peers(c)[key][0]) for w, c in cells.items()
                   if key in versus_peers(c)]
            pts.sort()
            all_w.update(w for w, _ in pts)
            if pts:
                ax1.plot([p[0] for p in pts], [p[1] for p in pts], ls=ls,
                         marker=styles.get(fmt, ("-", "o"))[1], ms=4, lw=1.4,
                         color=FORMAT_COLORS.get(fmt), label=f"{fmt} {what}")
        for t in tools:
            pts = sorted((int(w), c["tools"][t]["rss_median_kib"] / 1024)
                         for w, c in cells.items()
                         if c["tools"].get(t, {}).get("rss_median_kib") is not None)
            if pts:
                ls, mk = styles.get(fmt, ("-", "o"))
                ax2.plot([p[0] for p in pts], [p[1] for p in pts], ls=ls, marker=mk, ms=4,
                         lw=1.2, color=TOOL_COLORS.get(t, "#777777"), label=f"{t} {fmt}")
    ax1.axhline(1.0, color="#999999", lw=0.8)
    ax1.axhline(0.7, color="black", ls="--", lw=1.0)
    ax1.text(1.0, 0.7, " 0.7", transform=ax1.get_yaxis_transform(), fontsize=7, va="center")
    ax1.set_ylabel("rendition / fastest peer (median; below 1 = rendition faster)", fontsize=8)
    ax1.set_title("time: rendition / best peer (solid = wall, dotted = CPU)", fontsize=10)
    ax1.set_ylim(bottom=0)
    ax2.set_ylabel("median peak RSS (MiB)", fontsize=8)
    ax2.set_title("peak RSS per tool (line style = format: solid JPEG, dashed WebP, "
                  "dotted AVIF)", fontsize=9)
    ax2.set_ylim(bottom=0)
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(sorted(all_w)))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _p: f"{x:.0f}"))
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("output width (px; a source narrower than that keeps its width)",
                      fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, lw=0.3, alpha=0.5)
        ax.legend(fontsize=6.5, ncol=2 if ax is ax2 else 1)
    fig.suptitle(f"width sweep: the typical set at each width, one process per tool, "
                 f"single-threaded ({wd['runs']} run{'s' if wd['runs'] != 1 else ''}, "
                 f"medians; dashed line: 0.7)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Versions and machine.

def sh(cmd, cwd=None):
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
        return (p.stdout.strip() or p.stderr.strip())
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable ({e})"


def dpkg_version(pkg):
    return sh(["dpkg-query", "-W", "-f=${Version}", pkg])


def lock_versions(names):
    try:
        text = open(os.path.join(ROOT, "Cargo.lock")).read()
    except OSError:
        return {}
    out = {}
    for m in re.finditer(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', text):
        if m.group(1) in names:
            out.setdefault(m.group(1), []).append(m.group(2))
    return {k: ", ".join(v) for k, v in out.items()}


def versions(rendition, with_sharp):
    v = {}
    commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "Cargo.toml",
                "Cargo.lock"])
    built = datetime.datetime.fromtimestamp(os.path.getmtime(rendition), datetime.timezone.utc)
    crates = lock_versions({"jpeg-decoder", "fast_image_resize", "image", "png",
                            "webp", "libwebp-sys", "zune-jpeg"})
    newer = [os.path.relpath(os.path.join(d, f), ROOT)
             for d, _, fs in os.walk(os.path.join(ROOT, "src")) for f in fs
             if os.path.getmtime(os.path.join(d, f)) > os.path.getmtime(rendition)]
    v["rendition"] = (f"{sh([rendition, '--version'])}, HEAD {commit}"
                      + (" plus uncommitted changes to src/ or Cargo files" if dirty else "")
                      + f", release binary built {built:%Y-%m-%d %H:%M} UTC"
                      + (f" (older than {', '.join(sorted(newer))})" if newer else "")
                      + "; crates: "
                      + ", ".join(f"{k} {crates[k]}" for k in sorted(crates)))
    v["vipsthumbnail"] = (f"{sh(['vipsthumbnail', '--version'])} "
                          f"(Debian libvips-tools {dpkg_version('libvips-tools')})")
    if with_sharp:
        sv = sh(["node", "-p", "JSON.stringify(require('sharp').versions)"], cwd=BENCH)
        try:
            d = json.loads(sv)
            v["sharp"] = (f"sharp {d.get('sharp', '?')} (its prebuilt libvips {d.get('vips', '?')}"
                          + "".join(f", {k} {d[k]}" for k in ("mozjpeg", "webp", "png", "zlib-ng")
                                    if k in d)
                          + f"), node {sh(['node', '--version'])}")
        except ValueError:
            v["sharp"] = sv
    zlib = features.version("zlib_ng")
    zlib = f"zlib-ng {zlib}" if zlib else f"zlib {features.version_codec('zlib')}"
    v["Pillow"] = (f"Pillow {Image.__version__} (libjpeg-turbo "
                   f"{features.version('libjpeg_turbo') or features.version_codec('jpg')}, "
                   f"libwebp {features.version_module('webp')}, {zlib}), "
                   f"Python {platform.python_version()}")
    v["djpeg"] = f"djpeg from Debian libjpeg-turbo-progs {dpkg_version('libjpeg-turbo-progs')}"
    v["quality score"] = (f"scikit-image {__import__('skimage').__version__}, "
                          f"numpy {np.__version__}, scipy {__import__('scipy').__version__} "
                          f"(interpolation in the quality sweep)")
    return v


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    debian = ""
    try:
        debian = "Debian " + open("/etc/debian_version").read().strip()
    except OSError:
        pass
    return {
        "nproc": sh(["nproc"]),
        "cpu": cpu,
        "memory": mem,
        "os": f"{debian}, Linux {platform.release()}".strip(", "),
    }


# ---------------------------------------------------------------------------------------------
# Output.

def fmt_bytes(n):
    return f"{n / 1024:,.0f} KiB" if n < 10 * 1024 * 1024 else f"{n / 1024 / 1024:,.1f} MiB"


def table(res, tools):
    ok = [t for t in tools if res["tools"].get(t, {}).get("wall_median") is not None]
    best = {k: min((res["tools"][t][k] for t in ok), default=None)
            for k in ("wall_median", "cpu_median", "rss_median_kib", "bytes")}

    def ratio(r, k):
        return f"{r[k] / best[k]:.2f}" if best[k] else "-"

    lines = [
        "| tool | median wall | × fastest | median CPU (user+sys) | × least CPU "
        "| median peak RSS | × leanest | output bytes | × smallest | SSIM mean | SSIM min "
        "| threads started | wall of each run (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| --- |",
    ]
    for t in list(tools) + [r for r in res["tools"] if r.startswith("djpeg")]:
        r = res["tools"].get(t)
        if r is None:
            continue
        name = f"**{t}**" if t == "rendition" else t
        if r.get("wall_median") is None:
            err = " ".join(r.get("error", "?").split())[:160].replace("|", "/")
            lines.append(f"| {name} | failed: {err} | | | | | | | | | | | |")
            continue
        runs = " ".join(f"{w:.3f}" for w in r["walls"])
        threads = "?" if r.get("threads") is None else str(r["threads"])
        runs = f"{threads} | {runs}"
        head = (f"| {name} | {r['wall_median']:.3f} s | {ratio(r, 'wall_median')} "
                f"| {r['cpu_median']:.3f} s | {ratio(r, 'cpu_median')} "
                f"| {r['rss_median_kib'] / 1024:.1f} MiB | {ratio(r, 'rss_median_kib')} ")
        if t.startswith("djpeg"):
            lines.append(head + f"| n/a | | | | {runs} |")  # runs holds threads too
        else:
            lines.append(head + f"| {fmt_bytes(r['bytes'])} | {ratio(r, 'bytes')} "
                         f"| {r['ssim_mean']:.4f} | {r['ssim_min']:.4f} | {runs} |")
    return "\n".join(lines)


def plot(results, tools, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(results)
    colors = {"rendition": "#d62728", "vipsthumbnail": "#1f77b4", "sharp": "#2ca02c",
              "Pillow": "#ff7f0e"}
    fig, axes = plt.subplots(3, len(sets), figsize=(3.4 * max(len(sets), 3), 10),
                             squeeze=False)
    for j, s in enumerate(sets):
        res = results[s]
        names = [t for t in list(tools) + [r for r in res["tools"] if r.startswith("djpeg")]
                 if res["tools"].get(t, {}).get("wall_median") is not None]
        for i, (key, scale, unit, what) in enumerate((
                ("wall_median", 1, "s", "wall time"),
                ("cpu_median", 1, "s", "CPU time"),
                ("rss_median_kib", 1 / 1024, "MiB", "peak RSS"))):
            ax = axes[i][j]
            vals = [res["tools"][t][key] * scale for t in names]
            bars = ax.bar(range(len(names)), vals,
                          color=[colors.get(t, "#bbbbbb") for t in names],
                          hatch=None, edgecolor="black", linewidth=0.4)
            for b, t in zip(bars, names):
                if t.startswith("djpeg"):
                    b.set_hatch("//")
            for k, v in enumerate(vals):
                ax.text(k, v, f"{v:.2f}" if unit == "s" else f"{v:.0f}", ha="center",
                        va="bottom", fontsize=7)
            ax.set_xticks(range(len(names)))
            ax.set_xticklabels([t.replace("djpeg ", "djpeg\n") for t in names], rotation=35,
                               ha="right", fontsize=7)
            ax.set_ylabel(f"median {what} ({unit})", fontsize=8)
            ax.margins(y=0.15)
            ax.tick_params(axis="y", labelsize=7)
            if i == 0:
                ax.set_title(s, fontsize=10)
    fig.suptitle("rendition vs peers: 512 px wide, q80, single-threaded, one process per set\n"
                 "(lower is better; hatched = libjpeg-turbo decode alone, for reference)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def kept_section(path, heading, what):
    """The section of the RESULTS.md at `path` that starts with `heading` (up to the next
    "## " heading) and the date its header gives, for a run that leaves that part out on a
    machine whose bench/out/results.json does not hold it (a fresh clone): the committed
    section is carried over as text rather than dropped. `what` is how the report's first
    line names the part ("the quality sweep")."""
    try:
        text = open(path).read()
    except OSError:
        return None
    start = text.find(heading)
    end = text.find("\n## ", start + len(heading))
    if start < 0 or end < 0:
        return None
    date = re.search(re.escape(what) + r" on ([^,(.]+UTC)", text)
    return {"date": date.group(1) if date else "an earlier run",
            "markdown": text[start:end + 1].rstrip("\n") + "\n"}


def kept_sweep_text(path):
    return kept_section(path, "## Quality sweep", "the quality sweep")


def kept_widths_text(path):
    return kept_section(path, "## Width sweep", "the width sweep")


def write_report(results, sets, tools, meta, sweep, path, kept_sweep=None, widths=None,
                 kept_widths=None):
    L = []
    L.append("# rendition benchmark\n")
    swept = sweep["date"] if sweep else (kept_sweep["date"] if kept_sweep else None)
    widthed = widths["date"] if widths else (kept_widths["date"] if kept_widths else None)
    L.append(f"Written by `bench/run`: the timed sets on {meta['date']} ({meta['runs']} timed "
             f"runs per tool and set after one warm-up run; medians)"
             + (f", the width sweep on {widthed}" if widthed else "")
             + (f", the quality sweep on {swept}" if swept else "")
             + ". Rerun with `bench/run` (`--runs N`, `--build`, "
             "`--sets typical,huge,png,webp,alpha,widths,sweep`, `--sweep-q 50,60,...`); a run "
             "of only some of the three parts (the timed sets, the width sweep, the quality "
             "sweep) keeps the others from the previous run (`bench/out/results.json`).\n")
    m = meta["machine"]
    L.append("## Machine\n")
    L.append(f"- CPU: {m['cpu']}, `nproc` = {m['nproc']}, memory {m['memory']}")
    L.append(f"- OS: {m['os']}")
    L.append(f"- load average before / after the runs: {meta['load_before']} / "
             f"{meta['load_after']} (the machine may be shared: compare ratios within one "
             f"run, not absolute times across runs)\n")
    L.append("## Tools\n")
    for k, v in meta["versions"].items():
        L.append(f"- {k}: {v}")
    L.append("")
    if results:
        L.append("![median wall time, CPU time and peak RSS per tool and set](results.png)\n")
        L.append("## Results\n")
        L.append("Each run is one process that renders the whole set. Wall time comes from a "
                 "monotonic clock around it, CPU time (user + sys) from the getrusage totals of "
                 "its process tree (both to the microsecond; they include the `timeout` and "
                 "`time` wrappers, about a millisecond for every tool), peak RSS from GNU time "
                 "(`/usr/bin/time -f %M`); each value is the median over the timed runs, and "
                 "the × columns are worked out from the unrounded medians. CPU time is the steadier number when the machine is shared "
                 "(wall time then includes waiting for a core). × columns divide by the best of rendition and its peers "
                 "(the djpeg rows are only a reference: libjpeg-turbo decoding the same files, no "
                 "resize or encode, output discarded). Output bytes: all outputs of the set "
                 "together. SSIM: luma SSIM (Gaussian window, sigma 1.5, as in Wang et al. 2004) "
                 "of each output against the source decoded in full by Pillow and resized with "
                 "LANCZOS to the output's size, averaged over the set (min = the worst file). "
                 "Threads started: threads (clone with CLONE_THREAD) the process starts over the "
                 "whole set, counted in one extra run under `strace -f`; 0 means it did all the "
                 "work on its main thread. The reference is itself a Pillow LANCZOS resize, so "
                 "Pillow's PNG output matches it by construction (SSIM 1.0), and pipelines that "
                 "decode JPEGs at a larger DCT scale before resizing sit closer to it.\n")
    for s, res in results.items():
        L.append(f"### {sets[s]['title']}\n")
        L.append(table(res, tools))
        alpha = [(t, r) for t, r in res["tools"].items() if r.get("alpha_mae_mean") is not None]
        if alpha:
            L.append("\nAlpha against the reference's (the source's alpha resized by Pillow "
                     "with LANCZOS), mean absolute difference in 0-255 levels, mean over the set "
                     "/ worst file: " + ", ".join(
                         f"{t} {r['alpha_mae_mean']:.2f} / {r['alpha_mae_max']:.2f}"
                         for t, r in alpha) + f" (above {ALPHA_MAE_LIMIT:g} is listed as a "
                     f"problem, as is an output without alpha).")
        probs = [f"{t}: {'; '.join(r['problems'])}" for t, r in res["tools"].items()
                 if r.get("problems")]
        if probs:
            L.append("\nProblems: " + " / ".join(probs))
        L.append("")
    if widths:
        L.extend(widths_report(widths, tools))
    elif kept_widths:
        L.append(kept_widths["markdown"])
    if sweep:
        L.extend(sweep_report(sweep, tools))
    elif kept_sweep:
        L.append(kept_sweep["markdown"])
    L.append("## What was run\n")
    L.append(f"Every tool renders each set in one process, sequentially, to {WIDTH} px wide "
             f"(height from the aspect ratio), JPEG and WebP at quality {QUALITY}, with "
             f"`VIPS_CONCURRENCY=1 UV_THREADPOOL_SIZE=1` in the environment and a "
             f"{TIMEOUT_S} s timeout per command. Tool order is rotated between runs. No tool "
             f"enlarges: a source narrower than the width keeps its own width (rendition's "
             f"default; only the width sweep has such sources).\n")
    L.append(f"- rendition: `rendition render --width {WIDTH} --format jpg|webp|png|avif "
             f"[--quality {QUALITY}] --out-dir DIR INPUT...` (it has no thread setting: "
             f"`render` works through the inputs on its main thread; see the threads column. "
             f"Its own JPEG decoder at the DCT scale N/8 that leaves the resize 1.25x room (DC "
             f"scans only for a progressive file at 1/8 or less), Lanczos3 (chroma straight to "
             f"the 4:2:0 grid when the output is 4:2:0), its own baseline JPEG encoder with "
             f"optimized Huffman tables, 4:2:0 chroma below q90 (taken from the resized planes, with no RGB in "
             f"between) and 4:4:4 from q90)")
    L.append(f"- vipsthumbnail: `vipsthumbnail --size '{WIDTH}x>' -o "
             f"DIR/%s.jpg[Q={QUALITY},optimize_coding,strip] INPUT...` (`.webp[Q={QUALITY},"
             f"strip]`, `.png[strip]`, `.avif[Q={AVIF_PEER_Q},effort={AVIF_EFFORT},strip]`); "
             f"`optimize_coding` because rendition and sharp optimize "
             f"Huffman tables and vips does not by default; `>` shrinks only (the same outputs "
             f"as `--size {WIDTH}x` from a wider source)")
    L.append(f"- sharp: `bench/sharp.js`, `sharp.concurrency(1)`, for each input in turn "
             f"`sharp(input).resize({{width: {WIDTH}, withoutEnlargement: true}})"
             f".jpeg({{quality: {QUALITY}}}).toFile(...)` (`.webp({{quality: {QUALITY}}})`, "
             f"`.png()`, `.avif({{quality: {AVIF_PEER_Q}, effort: {AVIF_EFFORT}}})`)")
    L.append(f"- Pillow: `bench/pillow_bench.py`: `Image.draft('RGB', size)` for JPEG (libjpeg "
             f"DCT scaling), `resize(size, LANCZOS)` (none when the source is no wider than "
             f"the width), `save(quality={QUALITY}, optimize=True)`"
             f" (WebP `quality={QUALITY}`, PNG defaults); a source with transparency (alpha "
             f"band or tRNS) is converted to RGBA, so its alpha survives")
    L.append("- djpeg (reference): `djpeg -scale 1/N -outfile /dev/null FILE` for each file in "
             "one shell script; N is the DCT scale a 512 px thumbnail decodes at (the "
             "smallest of 1/8, 1/4, 1/2, 1 that still covers 512 px; for the typical set "
             f"that is {meta['typical_scales']}), and for the huge file also at full size.\n")
    qs = ", ".join(map(str, sweep["qualities"] if sweep else SWEEP_Q))
    L.append(f"The quality sweep (`--sets sweep`, on by default; `--sweep-q LIST` sets the q "
             f"values, default {', '.join(map(str, SWEEP_Q))}) runs each of these tools once "
             f"per q ({qs}) over the typical set, as JPEG and as lossy WebP, and once more in "
             f"both formats over the typical set pre-decoded to PNG (each file decoded in full by Pillow "
             f"and saved losslessly in `bench/out/sets/typical-png/`): the same commands with "
             f"`--quality Q`, `Q=Q`, and `bench/sharp.js` / `bench/pillow_bench.py` "
             f"with `FORMAT:Q` as their first argument ("
             f"`jpeg({{quality: Q}})`, `webp({{quality: Q}})`, `save(quality=Q, "
             f"optimize=True)`). It is not timed: bytes and SSIM do not depend on load. The "
             f"rendition binary is copied once at the start of a run, so a rebuild during the "
             f"run cannot mix two builds.\n")
    wf = widths["widths"] if widths else {f: list(w) for f, w in WIDTH_FORMATS.items()}
    L.append(f"The width sweep (`--sets widths`, on by default) runs the same commands over "
             f"the typical set at each width with `--width W`, `--size 'Wx>'`, and "
             f"`FORMAT:Q:W` as the first argument of `bench/sharp.js` and "
             f"`bench/pillow_bench.py`: JPEG and lossy WebP q{QUALITY} at "
             f"{', '.join(map(str, wf.get('jpg', [])))} px, AVIF at "
             f"{', '.join(map(str, wf.get('avif', [])))} px (rendition `--format avif "
             f"--quality {QUALITY}`, its default; sharp and vipsthumbnail at quality "
             f"{AVIF_PEER_Q}, effort {AVIF_EFFORT}, as in AVIF.md's whole renders; Pillow not "
             f"run). Each (format, width) is timed as a timed set is, without the strace "
             f"run.\n")
    L.append("## The photos\n")
    L.append("From Debian's `ukui-wallpapers` and `lomiri-wallpapers` (installed by `bench/run`,"
             " not committed); the derived files are made by `bench/bench.py` into "
             "`bench/out/sets/` (git-ignored):\n")
    L.append(f"- typical (12 JPEGs, {meta['typical_mp']}): the only two wallpapers in the "
             f"1.3-5 MP range, as they are ({', '.join(TYPICAL_AS_IS)}; both progressive), and "
             f"ten wallpaper photographs ({', '.join(TYPICAL_DOWNSCALED)}) downscaled with "
             f"Pillow (LANCZOS from the full decode) to 1.3, 1.71, ... 5.0 MP, aspect kept, "
             f"saved as baseline JPEG q90 4:2:0 without metadata.")
    L.append(f"- huge progressive: {HUGE_SOURCE} (6028x3391; the one wallpaper with more "
             f"pixels is a flat painting of 0.3 MB) centre-cropped to 3:2, resized with LANCZOS "
             f"to {HUGE_SIZE[0]}x{HUGE_SIZE[1]} (18.0 MP), plus seeded Gaussian grain (sigma 3 "
             f"on luma, 2 per channel) so it has the entropy of a camera photo, saved "
             f"progressive q98 4:4:4 with optimized Huffman tables: {meta['huge_bytes']}. "
             f"(q95 would give 7.8 MB; q98 brings it near the 16 MB of the issue's example.)")
    L.append(f"- PNG: every distinct wallpaper PNG, as installed ({meta['png_desc']}; "
             f"lomiri-default-background.png is a symlink to warty-final-ubuntu.png and "
             f"counted once).")
    L.append(f"- alpha ({len(ALPHA_MASKS)} PNGs, the `alpha` sets): the ten downscaled typical "
             f"photographs (the same pixels and sizes, before their JPEG encode), each with "
             f"its own alpha mask ({', '.join(ALPHA_MASKS)}, in the order above: a soft "
             f"elliptical vignette, a card with round corners and a clear margin, a left-to-right "
             f"fade, a soft round hole, a Gaussian spot, hard-edged bands at 100% and 35%, a "
             f"seeded cloud field, 50% everywhere, the vignette on a grey + alpha image, and a "
             f"hard disc in a 256-colour palette with tRNS), RGB zeroed where alpha is 0, saved "
             f"by Pillow at its default compression.\n")
    L.append("| set | file | format | size | MP | progressive | bytes |")
    L.append("| --- | --- | --- | --- | ---: | --- | ---: |")
    for s in ("typical", "huge", "png", "alpha"):
        if s not in meta["inputs"]:
            continue
        for r in meta["inputs"][s]:
            L.append(f"| {s} | {r['file']} | {r['format']} {r['mode']} | {r['size'][0]}x"
                     f"{r['size'][1]} | {r['mp']:.2f} | {'yes' if r['progressive'] else 'no'}"
                     f" | {r['bytes']:,} |")
    L.append("")
    L.append("Raw numbers (every run) are in `bench/out/results.json` after a run.")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rendition", required=True)
    ap.add_argument("--no-sharp", action="store_true")
    ap.add_argument("--sets", default="typical,huge,png,webp,alpha,widths,sweep")
    ap.add_argument("--sweep-q", default=",".join(map(str, SWEEP_Q)),
                    help="q values of the quality sweep, comma-separated")
    args = ap.parse_args()
    try:
        qualities = sorted({int(q) for q in args.sweep_q.split(",") if q.strip()})
    except ValueError:
        raise SystemExit(f"--sweep-q: not a list of numbers: {args.sweep_q}")
    if len(qualities) < 2 or not all(1 <= q <= 100 for q in qualities):
        raise SystemExit("--sweep-q needs at least two q values from 1 to 100")

    load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    all_sets = prepare_sets()
    wanted = []
    for s in (s.strip() for s in args.sets.split(",") if s.strip()):
        wanted.extend(x for x in SET_GROUPS.get(s, (s,)) if x not in wanted)
    for s in wanted:
        if s not in all_sets and s not in ("widths", "sweep"):
            names = [x for x in all_sets if not any(x in g for g in SET_GROUPS.values())]
            raise SystemExit(f"unknown set {s}; known: {', '.join(names + list(SET_GROUPS))}, "
                             f"widths, sweep (alpha is {' and '.join(SET_GROUPS['alpha'])})")
    sets = {s: all_sets[s] for s in wanted if s not in ("widths", "sweep")}
    do_widths = "widths" in wanted
    do_sweep = "sweep" in wanted
    tmpdir = tempfile.mkdtemp(prefix="rendition-bench-")
    # A snapshot of the binary, so that a rebuild during the run cannot mix two builds.
    rendition = os.path.join(tmpdir, "rendition")
    shutil.copy2(os.path.abspath(args.rendition), rendition)
    tool_versions = versions(os.path.abspath(args.rendition), not args.no_sharp)
    tools = tool_commands(rendition, not args.no_sharp)

    # A run of only some of the three parts (timed sets, width sweep, quality sweep) keeps the
    # others from the last run.
    previous = {}
    try:
        with open(os.path.join(OUT, "results.json")) as f:
            previous = json.load(f)
    except (OSError, ValueError):
        pass

    results = {}
    sweep = previous.get("sweep") if not do_sweep else None
    widths = previous.get("widths") if not do_widths else None
    try:
        for s, spec in sets.items():
            log(f"\n-- set {s}: {len(spec['inputs'])} inputs -> {spec['fmt']}")
            jobs = {}
            for t, make in tools.items():
                out = os.path.join(RES_DIR, s, t)
                jobs[t] = (make(spec["fmt"], out, spec["inputs"]), out)
            if spec["fmt"] == "jpg":
                if s == "huge":
                    jobs["djpeg full decode"] = (djpeg_script(spec["inputs"], True, tmpdir, s + "-full"), None)
                jobs["djpeg DCT-scaled decode"] = (djpeg_script(spec["inputs"], False, tmpdir, s), None)
            results[s] = run_timed(jobs, args.runs, spec["inputs"], spec["fmt"])
        load_after = " ".join(open("/proc/loadavg").read().split()[:3])
        if do_widths:
            widths = run_widths(all_sets["typical"]["inputs"], tools, args.runs)
            widths["rendition"] = tool_versions["rendition"]
        if do_sweep:
            sweep = run_sweep(all_sets["typical"]["inputs"],
                              sweep_commands(rendition, not args.no_sharp), qualities)
            sweep["rendition"] = tool_versions["rendition"]
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)

    inputs = {s: describe_inputs(all_sets[k]["inputs"])
              for s, k in (("typical", "typical"), ("huge", "huge"), ("png", "png"),
                           ("alpha", "alpha-png"))}
    typ_scales = sorted({dct_scale(p) for p in all_sets["typical"]["inputs"]})
    png_desc = ", ".join(f"{r['file']} {r['size'][0]}x{r['size'][1]} {r['mode']}"
                         for r in inputs["png"])
    tmp = [r["mp"] for r in inputs["typical"]]
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "runs": args.runs,
        "machine": machine(),
        "versions": tool_versions,
        "load_before": load_before,
        "load_after": load_after,
        "inputs": inputs,
        "typical_scales": " and ".join(f"1/{d}" for d in typ_scales),
        "typical_mp": f"{min(tmp):.2f}-{max(tmp):.2f} MP, {sum(r['bytes'] for r in inputs['typical']) / 1e6:.1f} MB in all",
        "huge_bytes": f"{inputs['huge'][0]['bytes'] / 1e6:.1f} MB",
        "png_desc": png_desc,
    }
    wrote = [os.path.join(BENCH, "RESULTS.md")]
    if sets:
        plot(results, tools, os.path.join(BENCH, "results.png"))
        wrote.append(os.path.join(BENCH, "results.png"))
    elif previous.get("results"):
        # No timed set ran: the timed sets (and what describes their run) stay as they were.
        results = previous["results"]
        for k in ("date", "runs", "machine", "versions", "load_before", "load_after"):
            if k in previous.get("meta", {}):
                meta[k] = previous["meta"][k]
    if do_widths and widths:
        plot_widths(widths, tools, os.path.join(BENCH, "widths.png"))
        wrote.append(os.path.join(BENCH, "widths.png"))
    if do_sweep and sweep:
        plot_sweep(sweep, tools, os.path.join(BENCH, "quality.png"))
        wrote.append(os.path.join(BENCH, "quality.png"))
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": results, "widths": widths, "sweep": sweep}, f,
                  indent=1, default=str)
    report = os.path.join(BENCH, "RESULTS.md")
    kept = kept_sweep_text(report) if not sweep and not do_sweep else None
    kept_w = kept_widths_text(report) if not widths and not do_widths else None
    write_report(results, all_sets, tools, meta, sweep, report, kept, widths, kept_w)
    log(f"\nwrote {' and '.join(wrote)}")


if __name__ == "__main__":
    main()
