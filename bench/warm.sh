#!/usr/bin/env bash
# What `rendition warm` adds to the renders themselves: the bench's typical photo set (12 JPEGs
# of 1.3-5 MP, bench/bench.py's prepare_sets) rendered to 512-px JPEG q80 three ways, each a
# whole process timed by GNU time, alternating, medians of RUNS:
#
#   render   `rendition render -w 512 -q 80 --out-dir OUT photos...` (one process, one by one)
#   warm-1   `rendition warm --dir DIR --jobs 1 LIST` over the same photos, from an empty r/:
#            verify each signed path, read the source from the folder, render, store
#            create-only (temporary file, fsync-free rename), one at a time
#   warm-N   the same with --jobs N (default: the number of CPUs)
#
# and a fourth, `warm` again over the full store (everything skipped after one HEAD). Prints a
# table of wall and CPU seconds and peak RSS with the ratios to `render`; bench/WARM.md keeps
# one run. Usage: bench/warm.sh [--rendition PATH] [--runs N] [--jobs N]
set -euo pipefail
cd "$(dirname "$0")/.."

rendition=target/release/rendition
runs=5
jobs=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --rendition) rendition=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$rendition" ] || { echo "no $rendition: cargo build --release --bin rendition" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "GNU time is missing: apt-get install time" >&2; exit 2; }

# The photo set, made by bench.py (Pillow and numpy: bench/out/venv after bench/run, or the
# system's python3-pil and python3-numpy).
python=bench/out/venv/bin/python
[ -x "$python" ] || python=/usr/bin/python3
(cd bench && "$python" -c 'import bench; bench.prepare_sets()') >/dev/null
photos=(bench/out/sets/typical/*.jpg)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RENDITION_KEYS="b1:$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
mkdir -p "$work/site/photos"
cp "${photos[@]}" "$work/site/photos/"
for p in "${photos[@]}"; do
  "$rendition" sign "photos/$(basename "$p")" -w 512 -q 80 --format jpg
done > "$work/list.txt"

# One timed run of "$@": prints "wall cpu rss_kib".
timed() {
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>&1 || {
    echo "failed: $*" >&2; exit 1; }
  awk '{printf "%s %.3f %s\n", $1, $2 + $3, $4}' "$work/time"
}

declare -A results
for ((i = 1; i <= runs; i++)); do
  rm -rf "$work/out"; mkdir "$work/out"
  results[render]+="$(timed "$rendition" render -w 512 -q 80 --format jpg --out-dir "$work/out" "${photos[@]}")"$'\n'
  rm -rf "$work/site/r"
  results[warm-1]+="$(timed "$rendition" warm --dir "$work/site" --jobs 1 "$work/list.txt")"$'\n'
  rm -rf "$work/site/r"
  results[warm-$jobs]+="$(timed "$rendition" warm --dir "$work/site" --jobs "$jobs" "$work/list.txt")"$'\n'
  results[warm-stored]+="$(timed "$rendition" warm --dir "$work/site" --jobs "$jobs" "$work/list.txt")"$'\n'
done

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { printf '%s' "${results[$1]}" | awk -v c="$2" 'NF {print $c}' | median; }

base_wall=$(col render 1)
base_cpu=$(col render 2)
echo "typical set: ${#photos[@]} JPEGs -> 512 px JPEG q80; medians of $runs runs; $(nproc) CPUs"
echo
echo "| command | wall s | CPU s | peak RSS MiB | wall / render | CPU / render |"
echo "| --- | --- | --- | --- | --- | --- |"
for name in render warm-1 "warm-$jobs" warm-stored; do
  wall=$(col "$name" 1); cpu=$(col "$name" 2); rss=$(col "$name" 3)
  awk -v n="$name" -v w="$wall" -v c="$cpu" -v r="$rss" -v bw="$base_wall" -v bc="$base_cpu" \
    'BEGIN {printf "| %s | %.3f | %.3f | %.1f | %.2f | %.2f |\n", n, w, c, r / 1024, w / bw, c / bc}'
done
