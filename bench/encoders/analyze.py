"""Quality metrics and equal-quality comparison for the encbench / pil_enc.py results.

Usage: bench/out/venv/bin/python bench/encoders/analyze.py IN_DIR OUT_MD RESULTS.jsonl [RESULTS.jsonl ...]

For every encoded file: decode with Pillow (libjpeg-turbo with its default fancy upsampling /
libwebp's default RGB output), compare with the encoder's input PPM:
  ssim_y    SSIM of luma Y = 0.299 R + 0.587 G + 0.114 B (float, BT.601 full range as JPEG),
            skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, data_range=255)
  ssim_c    the same SSIM on Cb and Cr, averaged (chroma, which luma SSIM cannot see)
  psnr_y    PSNR of Y
Metrics are cached in OUT_DIR/metrics.json, keyed by image and SHA-256 of the encoded file
(byte-identical outputs of different builds are measured once).

Equal quality: per candidate, the q sweep gives (mean ssim_y over the images, total bytes,
total encode time). The targets are the mean ssim_y that rendition's jpeg-encoder reaches at
q70, q80, q90; each candidate's bytes (log-linear) and time (linear) are interpolated between
the two sweep points bracketing a target. A second, per-image variant interpolates each
image to jpeg-encoder's SSIM on that image and sums.
"""
import hashlib
import json
import math
import pathlib
import sys
from collections import defaultdict

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

REF_JPEG = "jpeg-encoder"
REF_WEBP = "libwebp1.3.1/encode_simple"
TARGET_QS = (70, 80, 90)


def ycc(rgb: np.ndarray):
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return y, cb, cr


def ssim(a, b):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=255)


def metrics(ref, path):
    with Image.open(path) as im:
        dec = np.asarray(im.convert("RGB"))
    y, cb, cr = ycc(dec)
    ry, rcb, rcr = ref
    mse = float(np.mean((y - ry) ** 2))
    return {
        "ssim_y": float(ssim(ry, y)),
        "ssim_c": float((ssim(rcb, cb) + ssim(rcr, cr)) / 2),
        "psnr_y": 10 * math.log10(255**2 / mse) if mse > 0 else 99.0,
    }


def interp(points, target):
    """points: [(ssim, bytes, time_cpu, time_wall, q)] sorted by q. First crossing of target."""
    points = [p[:5] for p in points]
    for (s0, b0, c0, w0, q0), (s1, b1, c1, w1, q1) in zip(points, points[1:]):
        if s0 <= target <= s1 and s1 > s0:
            f = (target - s0) / (s1 - s0)
            return {"bytes": math.exp(math.log(b0) + f * (math.log(b1) - math.log(b0))),
                    "cpu": c0 + f * (c1 - c0), "wall": w0 + f * (w1 - w0), "q": q0 + f * (q1 - q0)}
    return None


def main():
    in_dir, out_md = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    # Results files in order; a candidate that already appeared in an earlier file (a baseline
    # re-measured in another build's run, for an in-run time ratio) is renamed "name [run]".
    recs, seen, cand_run = [], {}, {}
    for f in sys.argv[3:]:
        run = pathlib.Path(f).stem
        with open(f) as fh:
            for line in fh:
                if not line.strip():
                    continue
                r = json.loads(line)
                if seen.setdefault(r["cand"], run) != run:
                    r["cand"] = f'{r["cand"]} [{run}]'
                cand_run[r["cand"]] = run
                recs.append(r)
    cache_path = out_md.parent / "metrics.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    refs = {}
    n_new = 0
    for r in recs:
        key = f'{r["image"]}|{hashlib.sha256(pathlib.Path(r["file"]).read_bytes()).hexdigest()}'
        if key not in cache:
            if r["image"] not in refs:
                with Image.open(in_dir / f'{r["image"]}.ppm') as im:
                    refs[r["image"]] = ycc(np.asarray(im.convert("RGB")))
            cache[key] = metrics(refs[r["image"]], r["file"])
            n_new += 1
            if n_new % 500 == 0:
                print(f"{n_new} files measured", flush=True)
                cache_path.write_text(json.dumps(cache))
        r.update(cache[key])
    cache_path.write_text(json.dumps(cache))

    # Last record wins if a (cand, q, image) was measured twice.
    by = {}
    for r in recs:
        by[(r["cand"], r["q"], r["image"])] = r
    cands = list(dict.fromkeys(r["cand"] for r in recs))
    images = sorted({r["image"] for r in recs})
    pixels = {r["image"]: r["w"] * r["h"] for r in recs}
    qs = sorted({r["q"] for r in recs})

    agg = {}  # cand -> [(mean ssim_y, total bytes, total cpu ms, total wall ms, q, mean ssim_c, mean psnr, min ssim_y)]
    for c in cands:
        pts = []
        for q in qs:
            rs = [by.get((c, q, i)) for i in images]
            if any(x is None for x in rs):
                continue
            pts.append((float(np.mean([x["ssim_y"] for x in rs])), sum(x["bytes"] for x in rs),
                        sum(x["cpu_ns"] for x in rs) / 1e6, sum(x["wall_ns"] for x in rs) / 1e6, q,
                        float(np.mean([x["ssim_c"] for x in rs])), float(np.mean([x["psnr_y"] for x in rs])),
                        min(x["ssim_y"] for x in rs)))
        agg[c] = pts

    out = []
    summary = {"targets": {}, "cands": {}}
    ref = {p[4]: p for p in agg[REF_JPEG]}
    targets = [(q, ref[q][0]) for q in TARGET_QS]
    summary["targets"] = {q: t for q, t in targets}
    total_px = sum(pixels.values())

    def fmt_ratio(x):
        return "n/a" if x is None else f"{x:.3f}"

    # ---- equal-quality table (corpus means)
    out.append("### Equal quality (mean luma SSIM over the 12 images)\n")
    out.append("Targets: the mean SSIM-Y of `jpeg-encoder` (rendition today) at " +
               ", ".join(f"q{q} = {t:.4f}" for q, t in targets) + ".\n")
    out.append("bytes = total bytes of the 12 images at the target, as a ratio to the reference "
               f"(`{REF_JPEG}` for JPEG candidates, `{REF_WEBP}` for WebP ones; the column vs jpeg-encoder "
               "compares every candidate with today's JPEG); cpu = total single-thread encode CPU time "
               "at the target, as a ratio to the reference at the same target (measured in the same "
               "run when the run re-measured it: `name [run]` rows); q = the interpolated "
               "quality setting that reaches the target.\n")
    hdr = "| candidate | " + " | ".join(
        f"q{q}: bytes | cpu | q" for q, _ in targets) + " | bytes vs jpeg-encoder @q80 |"
    out.append(hdr)
    out.append("|" + "---|" * (1 + 3 * len(targets) + 1))
    at = {c: {q: interp(sorted(agg[c], key=lambda p: p[4]), t) for q, t in targets} for c in cands}
    for c in cands:
        is_webp = "webp" in c
        r0 = REF_WEBP if (is_webp and REF_WEBP in at) else REF_JPEG
        # Time ratios against the reference measured in the same run when that run has one.
        r0_time = f"{r0} [{cand_run[c]}]" if f"{r0} [{cand_run[c]}]" in at else r0
        cells = []
        summary["cands"][c] = {}
        for q, _ in targets:
            a, b = at[c][q], at[r0][q]
            if a is None or b is None:
                cells += ["n/a", "n/a", "n/a"]
                summary["cands"][c][q] = None
                continue
            bt = at[r0_time][q] or b
            br, cr = a["bytes"] / b["bytes"], a["cpu"] / bt["cpu"]
            cells += [f"{br:.3f}", f"{cr:.2f}", f'{a["q"]:.1f}']
            summary["cands"][c][q] = {"bytes": a["bytes"], "cpu_ms": a["cpu"], "wall_ms": a["wall"],
                                      "q": a["q"], "bytes_ratio": br, "cpu_ratio": cr,
                                      "bytes_vs_jpeg_encoder": a["bytes"] / at[REF_JPEG][q]["bytes"]}
        x = at[c][80]
        cells.append(fmt_ratio(None if x is None else x["bytes"] / at[REF_JPEG][80]["bytes"]))
        out.append(f"| {c} | " + " | ".join(cells) + " |")
    out.append("")

    # ---- chroma-aware variant: SSIM-YCC = (6 SSIM-Y + SSIM-Cb + SSIM-Cr) / 8
    out.append("### Equal quality, chroma-aware (SSIM-YCC = (6 SSIM-Y + SSIM-Cb + SSIM-Cr) / 8)\n")
    out.append("Luma SSIM cannot see chroma subsampling or chroma quantisation; this weighting (the one "
               "video codec comparisons use for PSNR) can. Targets: jpeg-encoder's mean SSIM-YCC at "
               "q70/q80/q90. Bytes ratio as above (n/a: target not reached within the sweep).\n")
    ycc_pts = {c: sorted([((6 * p[0] + 2 * p[5]) / 8,) + p[1:5] for p in agg[c]], key=lambda p: p[4])
               for c in cands}
    yref = {p[4]: p[0] for p in ycc_pts[REF_JPEG]}
    at2 = {c: {q: interp(ycc_pts[c], yref[q]) for q in TARGET_QS} for c in cands}
    out.append("| candidate | " + " | ".join(f"bytes @q{q} ({yref[q]:.4f}) | q" for q in TARGET_QS)
               + " | bytes vs jpeg-encoder @q80 |")
    out.append("|---|" + "---|" * (2 * len(TARGET_QS) + 1))
    summary["ycc"] = {}
    for c in cands:
        r0 = REF_WEBP if ("webp" in c and REF_WEBP in at2) else REF_JPEG
        cells = []
        for q in TARGET_QS:
            a, b = at2[c][q], at2[r0][q]
            cells += ["n/a", "n/a"] if a is None or b is None else [f'{a["bytes"] / b["bytes"]:.3f}', f'{a["q"]:.1f}']
        x = at2[c][80]
        cells.append(fmt_ratio(None if x is None else x["bytes"] / at2[REF_JPEG][80]["bytes"]))
        summary["ycc"][c] = {q: at2[c][q] for q in TARGET_QS}
        out.append(f"| {c} | " + " | ".join(cells) + " |")
    out.append("")

    # ---- per-image variant
    out.append("### Equal quality, per image\n")
    out.append("Each image interpolated to the SSIM-Y that jpeg-encoder reaches on that same image; "
               "bytes summed over the images and divided by the reference's (n/a: some image out of "
               "the swept range).\n")
    out.append("| candidate | " + " | ".join(f"bytes @q{q}" for q in TARGET_QS) + " |")
    out.append("|---|" + "---|" * len(TARGET_QS))
    per_img = {}
    for c in cands:
        per_img[c] = {}
        for q in TARGET_QS:
            tot = 0.0
            for i in images:
                t = by[(REF_JPEG, q, i)]["ssim_y"]
                pts = sorted([(by[(c, qq, i)]["ssim_y"], by[(c, qq, i)]["bytes"], 0, 0, qq)
                              for qq in qs if (c, qq, i) in by], key=lambda p: p[4])
                v = interp(pts, t)
                if v is None:
                    tot = None
                    break
                tot += v["bytes"]
            per_img[c][q] = tot
    for c in cands:
        r0 = REF_WEBP if ("webp" in c and REF_WEBP in per_img) else REF_JPEG
        out.append(f"| {c} | " + " | ".join(
            "n/a" if per_img[c][q] is None or per_img[r0][q] is None
            else f"{per_img[c][q] / per_img[r0][q]:.3f}" for q in TARGET_QS) + " |")
    out.append("")

    # ---- raw sweep
    out.append("### Sweep: q -> mean SSIM-Y, min SSIM-Y, mean SSIM-CbCr, mean PSNR-Y, bits/pixel, total CPU ms, total wall ms\n")
    out.append("| candidate | q | SSIM-Y | min SSIM-Y | SSIM-C | PSNR-Y | bpp | bytes | cpu ms | wall ms |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for c in cands:
        for s, b, cpu, wall, q, sc, ps, mn in agg[c]:
            out.append(f"| {c} | {q} | {s:.4f} | {mn:.4f} | {sc:.4f} | {ps:.2f} | {8 * b / total_px:.3f} | "
                       f"{b} | {cpu:.1f} | {wall:.1f} |")
    out.append("")
    summary["sweep"] = {c: [dict(zip(["ssim_y", "bytes", "cpu_ms", "wall_ms", "q", "ssim_c", "psnr_y",
                                      "min_ssim_y"], p)) for p in agg[c]] for c in cands}
    summary["per_image"] = per_img
    summary["total_pixels"] = total_px
    out_md.write_text("\n".join(out) + "\n")
    (out_md.parent / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {out_md} ({n_new} new files measured)")


if __name__ == "__main__":
    main()
