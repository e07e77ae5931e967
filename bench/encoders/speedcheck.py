"""Cross-build speed check: the builds (libwebp 1.3.1 / 1.6.0, with and without SSE4.1;
libjpeg-turbo; jpeg-encoder 0.7) cannot share one binary, so their sweep runs happened at
different times under different machine load. Here the binaries take turns, ROUNDS times, on
all images at q80 only; the median over rounds of each candidate's total time is reported.

Usage: bench/out/venv/bin/python bench/encoders/speedcheck.py OUT_DIR  (after run.sh built the bins)
"""
import collections
import json
import pathlib
import shutil
import statistics
import subprocess
import sys

ROUNDS, REPS, Q = 3, 7, 80
WEBP = "m0,m2,m4,m6,m4-sharpyuv"
BINS = {
    "main": f"jpeg-encoder,mozjpeg,mozjpeg/fast,encode_simple,{WEBP}",
    "turbo": "turbojpeg",
    "je07": "jpeg-encoder-0.7,jpeg-encoder-0.7/avg",
    "webp13-sse41": WEBP,
    "webp16": WEBP,
    "webp16-sse41": WEBP,
}
out = pathlib.Path(sys.argv[1])
tmp = out / "speedcheck"
shutil.rmtree(tmp, ignore_errors=True)
tmp.mkdir()
cpu, wall = collections.defaultdict(list), collections.defaultdict(list)
for rnd in range(ROUNDS):
    for b, only in BINS.items():
        exe = out / "bin" / f"encbench-{b}"
        if not exe.exists():
            continue
        res = tmp / f"{b}-{rnd}.jsonl"
        subprocess.run([exe, out / "input", tmp / "enc", res, "--q", str(Q), "--reps", str(REPS),
                        "--only", only], check=True, stderr=subprocess.DEVNULL)
        tc, tw = collections.Counter(), collections.Counter()
        for line in res.read_text().splitlines():
            r = json.loads(line)
            tc[r["cand"]] += r["cpu_ns"] / 1e6
            tw[r["cand"]] += r["wall_ns"] / 1e6
        for k in tc:
            cpu[k].append(tc[k])
            wall[k].append(tw[k])

ref_j, ref_w = "jpeg-encoder", "libwebp1.3.1/encode_simple"
print(f"q{Q}, all images, {ROUNDS} alternating rounds x {REPS} reps: median over rounds of the total "
      "per-image median encode time; ratio to jpeg-encoder (JPEG) or libwebp1.3.1/encode_simple (WebP)\n")
print("| candidate | CPU ms | CPU ratio | wall ms | wall ratio | CPU ms per round |")
print("|---|---|---|---|---|---|")
for k in cpu:
    ref = ref_w if "webp" in k else ref_j
    c, w = statistics.median(cpu[k]), statistics.median(wall[k])
    rc, rw = statistics.median(cpu[ref]), statistics.median(wall[ref])
    print(f"| {k} | {c:.1f} | {c / rc:.2f} | {w:.1f} | {w / rw:.2f} | "
          + " / ".join(f"{x:.0f}" for x in cpu[k]) + " |")
