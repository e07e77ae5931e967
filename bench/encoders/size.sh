#!/usr/bin/env bash
# Release binary size and cold build time of rendition's encoder set vs the candidate variants
# (sizeprobe features: current, mozjpeg, je07).
# Each variant is built from an empty target dir (crates already downloaded), one at a time.
# Times are wall-clock on this (shared, 2-core) machine: compare them within one run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=${SIZE_TARGET_BASE:-/work/target-enc-size}
for v in ${SIZE_VARIANTS:-current mozjpeg je07}; do
  rm -rf "$BASE-$v"
  (cd "$HERE/sizeprobe" && cargo fetch --locked >/dev/null 2>&1 || true)
  t0=$(date +%s.%N)
  (cd "$HERE/sizeprobe" && CARGO_TARGET_DIR="$BASE-$v" cargo build --release --locked --features "$v" --timings 2>&1 | tail -1)
  t1=$(date +%s.%N)
  bin="$BASE-$v/release/sizeprobe"
  printf '%s: cold build %.1f s, binary %d bytes (stripped), runs: %s\n' "$v" "$(echo "$t1 - $t0" | bc)" \
    "$(stat -c %s "$bin")" "$("$bin" | tr '\n' ' ')"
  # Per-crate compile durations from cargo's --timings report.
  python3 - "$BASE-$v/cargo-timings/cargo-timing.html" <<'PY'
import json, re, sys
html = open(sys.argv[1]).read()
m = re.search(r"const UNIT_DATA = (\[.*?\]);", html, re.S)
if m:
    units = json.loads(m.group(1))
    top = sorted(units, key=lambda u: -u["duration"])[:4]
    print("   slowest units: " + ", ".join(f'{u["name"]} {u.get("target","").strip()} {u["duration"]:.1f}s' for u in top))
PY
done
