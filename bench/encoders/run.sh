#!/usr/bin/env bash
# Reproduces the figures in bench/ENCODERS.md.
#   bash bench/encoders/run.sh                 # every step, ~45 min on 2 shared cores
#   bash bench/encoders/run.sh analyze         # just recompute the tables
# Steps: prep main moz2 turbo je07 webp13-sse41 webp16 webp16-sse41 pillow speedcheck analyze butteraugli size
# Env: Q (quality sweep), REPS (timed repetitions per encode), PY (python with Pillow,
#      numpy, scikit-image; default bench/out/venv), CARGO_TARGET_DIR (default /work/target-enc).
# Needs: cargo, a C compiler, nasm (mozjpeg/libjpeg-turbo SIMD) and cmake (turbojpeg's vendored
# libjpeg-turbo): Debian packages nasm and cmake.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/encoders
OUT=$ROOT/bench/out/encoders
PY=${PY:-$ROOT/bench/out/venv/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-enc}
Q=${Q:-30,40,50,60,65,70,75,80,85,90,95,98}
REPS=${REPS:-5}
# The variant builds only differ in libwebp version / SIMD; these settings show the speed effect.
WEBP_SUBSET=m0,m2,m4,m6,m4-sharpyuv
STEPS=${*:-prep main moz2 turbo je07 webp13-sse41 webp16 webp16-sse41 pillow speedcheck analyze butteraugli}
mkdir -p "$OUT/bin" "$OUT/results" "$OUT/enc"

build() { # features name
  (cd "$HERE" && cargo build --release --locked --no-default-features --features "$1")
  cp "$CARGO_TARGET_DIR/release/encbench" "$OUT/bin/encbench-$2"
}
run() { # name [encbench args]
  local name=$1; shift
  rm -f "$OUT/results/$name.jsonl"
  "$OUT/bin/encbench-$name" "$OUT/input" "$OUT/enc" "$OUT/results/$name.jsonl" --q "$Q" --reps "$REPS" "$@"
}

for step in $STEPS; do
  echo "== $step" >&2
  case $step in
    prep) "$PY" "$HERE/prep.py" "$ROOT/bench/out/sets/typical" "$OUT/input" ;;
    main) build jpeg,webp13 main && run main ;;
    turbo) build turbo turbo && run turbo ;;
    moz2) # added after the main sweep; in-run references renamed "name [moz2]" by analyze.py
      build jpeg,webp13 moz2 && run moz2 --only jpeg-encoder,mozjpeg,mozjpeg/fast,mozjpeg/notrellis,mozjpeg/fast-prog ;;
    je07) build je07 je07 && run je07 --only jpeg-encoder,jpeg-encoder-0.7,jpeg-encoder-0.7/avg ;;
    webp13-sse41) build webp13,sse41 webp13-sse41 && run webp13-sse41 --only "$WEBP_SUBSET" ;;
    webp16) build webp16 webp16 && run webp16 --only "$WEBP_SUBSET" ;;
    webp16-sse41) build webp16,sse41 webp16-sse41 && run webp16-sse41 --only "$WEBP_SUBSET" ;;
    pillow) rm -f "$OUT/results/pillow.jsonl"
            "$PY" "$HERE/pil_enc.py" "$OUT/input" "$OUT/enc" "$OUT/results/pillow.jsonl" --q "$Q" --reps "$REPS" ;;
    speedcheck) "$PY" "$HERE/speedcheck.py" "$OUT" > "$OUT/speedcheck.md"; cat "$OUT/speedcheck.md" ;;
    analyze) # main first: its candidates keep their plain names
      files=("$OUT/results/main.jsonl")
      for f in "$OUT"/results/*.jsonl; do [ "$f" = "$OUT/results/main.jsonl" ] || files+=("$f"); done
      "$PY" "$HERE/analyze.py" "$OUT/input" "$OUT/summary.md" "${files[@]}" ;;
    butteraugli) # Debian package butteraugli
      "$PY" "$HERE/butter.py" "$OUT" > "$OUT/butteraugli.md"; cat "$OUT/butteraugli.md" ;;
    size) bash "$HERE/size.sh" | tee "$OUT/size.txt" ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
