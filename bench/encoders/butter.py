"""Optional second metric: butteraugli (Debian package `butteraugli`, the 2017 Google tool; its
max-norm distance, lower is better; ~1.0 is "just noticeable", >2 visibly different).

For a subset of candidates and qualities: decode each encoded file with Pillow to PNG, run
`butteraugli REF.png DEC.png`, and compare candidates at equal mean butteraugli distance (the
distance rendition's jpeg-encoder reaches at q70/q80/q90), bytes interpolated log-linearly.

Usage: bench/out/venv/bin/python bench/encoders/butter.py OUT_DIR > OUT_DIR/butteraugli.md
"""
import collections
import hashlib
import json
import math
import pathlib
import subprocess
import sys
import tempfile

from PIL import Image

QS = (60, 70, 75, 80, 85, 90, 95)
CANDS = [
    "jpeg-encoder", "jpeg-encoder/444", "jpeg-encoder-0.7/avg",
    "mozjpeg", "mozjpeg/444", "mozjpeg/notrellis", "mozjpeg/fast", "turbojpeg/prog",
    "libwebp1.3.1/encode_simple", "libwebp1.3.1/m6", "libwebp1.3.1/m4-sharpyuv",
]
REF = "jpeg-encoder"
TARGET_QS = (70, 80, 90)

out = pathlib.Path(sys.argv[1])
recs = {}
for f in sorted((out / "results").glob("*.jsonl")):
    for line in f.read_text().splitlines():
        r = json.loads(line)
        if r["cand"] in CANDS and r["q"] in QS:
            recs.setdefault((r["cand"], r["q"], r["image"]), r)
cache_path = out / "butteraugli.json"
cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
tmp = pathlib.Path(tempfile.mkdtemp())
refs = {}
for n, ((c, q, img), r) in enumerate(sorted(recs.items())):
    data = pathlib.Path(r["file"]).read_bytes()
    key = f"{img}|{hashlib.sha256(data).hexdigest()}"
    if key not in cache:
        if img not in refs:
            refs[img] = tmp / f"{img}.png"
            Image.open(out / "input" / f"{img}.ppm").save(refs[img])
        dec = tmp / "dec.png"
        Image.open(r["file"]).convert("RGB").save(dec)
        p = subprocess.run(["butteraugli", str(refs[img]), str(dec)], capture_output=True,
                           text=True, check=True, timeout=120)
        cache[key] = float(p.stdout.split()[0])
        if n % 20 == 0:
            cache_path.write_text(json.dumps(cache))
    r["ba"] = cache[key]
cache_path.write_text(json.dumps(cache))

images = sorted({k[2] for k in recs})
agg = collections.defaultdict(list)  # cand -> [(q, mean ba, total bytes)]
for c in CANDS:
    for q in QS:
        rs = [recs.get((c, q, i)) for i in images]
        if all(rs):
            agg[c].append((q, sum(x["ba"] for x in rs) / len(rs), sum(x["bytes"] for x in rs)))


def at(c, target):
    pts = agg[c]
    for (q0, d0, b0), (q1, d1, b1) in zip(pts, pts[1:]):
        if d1 <= target <= d0 and d0 > d1:
            f = (d0 - target) / (d0 - d1)
            return math.exp(math.log(b0) + f * (math.log(b1) - math.log(b0)))
    return None


ref = {q: d for q, d, _ in agg[REF]}
print("Mean butteraugli distance over the images (lower is better) at each q, and total bytes at "
      "the distance jpeg-encoder reaches at " + ", ".join(f"q{q} ({ref[q]:.2f})" for q in TARGET_QS)
      + " as a ratio to jpeg-encoder (first crossing; n/a: not reached in q60..95).\n")
print("| candidate | " + " | ".join(f"q{q}" for q in QS) + " | " +
      " | ".join(f"bytes @ jpeg-encoder q{q}" for q in TARGET_QS) + " |")
print("|---|" + "---|" * (len(QS) + len(TARGET_QS)))
for c in CANDS:
    if not agg[c]:
        continue
    d = {q: v for q, v, _ in agg[c]}
    cells = [f"{d[q]:.2f}" if q in d else "" for q in QS]
    for q in TARGET_QS:
        a, b = at(c, ref[q]), at(REF, ref[q])
        cells.append("n/a" if a is None or b is None else f"{a / b:.3f}")
    print(f"| {c} | " + " | ".join(cells) + " |")
