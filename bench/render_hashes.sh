#!/usr/bin/env bash
# Proves that a change left the renderer's outputs byte for byte as they were: renders the same
# inputs with an old and a new `rendition` binary across a matrix of options and formats, and
# compares the sha256 of every output (and every error message).
#
#   bench/render_hashes.sh [--old BIN | --rev REV] [--new BIN] [--out DIR] [--quick]
#
# --old BIN   the binary to compare against (default: built from --rev)
# --rev REV   the git revision to build the old binary from (default: main), in a temporary
#             git worktree that shares this tree's target folder (CARGO_TARGET_DIR if set)
# --new BIN   the binary under test (default: `cargo build --release --bin rendition` of
#             this working tree)
# --out DIR   working folder (default: bench/out/render-hashes), emptied first
# --quick     fewer cases (no per-input DCT-scale widths, no AVIF): a minute, not ten
#
# Inputs: every image in tests/fixtures, the photographs in /usr/share/backgrounds when
# installed (scripts/setup --test installs them), bench/run's photo sets under bench/out/sets
# when present, and inputs derived from the fixtures by the old binary (PNG with and without
# alpha, WebP, GIF), EXIF-oriented copies of a fixture (all eight orientations) and copies cut
# short (which must fail with the same message). The matrix: widths that land on different
# DCT scales (64, 200, 512, 1000, the source's own size, and 1/8, 2/8, 3/8 and 4/8 of each
# input's width exactly), every fit mode, gravities including smart crop and a focal point,
# rotation and flips, blur and sharpen, padding with and without a background, qualities on
# both sides of JPEG's 4:2:0/4:4:4 switch, enlargement, a device pixel ratio, and every output
# format (AVIF, slow to encode, in fewer cases). Prints how many outputs were compared and how
# many differ, and exits non-zero when any does.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"

old=""
rev="main"
new=""
out="$BENCH/out/render-hashes"
quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --old) old="${2:?--old needs a binary}"; shift 2 ;;
    --rev) rev="${2:?--rev needs a revision}"; shift 2 ;;
    --new) new="${2:?--new needs a binary}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --quick) quick=1; shift ;;
    -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "render_hashes: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '== %s\n' "$*" >&2; }

rm -rf "$out"
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-$ROOT/target}"

# --- The two binaries -------------------------------------------------------------------------
if [ -z "$new" ]; then
  say "building the new binary from $ROOT"
  (cd "$ROOT" && CARGO_TARGET_DIR="$target" cargo build --release --quiet --bin rendition)
  cp "$target/release/rendition" "$out/new-rendition"
  new="$out/new-rendition"
fi
if [ -z "$old" ]; then
  say "building the old binary from $rev"
  tree="$out/old-source"
  git -C "$ROOT" worktree add --detach --quiet "$tree" "$rev"
  trap 'git -C "$ROOT" worktree remove --force "$tree" 2>/dev/null || true' EXIT
  (cd "$tree" && CARGO_TARGET_DIR="$target" cargo build --release --quiet --bin rendition)
  cp "$target/release/rendition" "$out/old-rendition"
  old="$out/old-rendition"
  git -C "$ROOT" worktree remove --force "$tree"
  trap - EXIT
fi
for b in "$old" "$new"; do
  [ -x "$b" ] || { echo "render_hashes: $b is not an executable" >&2; exit 2; }
done
if cmp -s "$old" "$new"; then
  say "note: the two binaries are identical"
fi

# --- Inputs, each under a unique name (outputs are named after the input's stem) -------------
inputs="$out/inputs"
mkdir -p "$inputs"
n=0
add() { # FILE
  n=$((n + 1))
  local base
  base="$(basename "$1")"
  cp "$1" "$inputs/$(printf '%03d' "$n")-${base// /_}"
}
is_image() {
  case "${1,,}" in *.jpg|*.jpeg|*.png|*.webp|*.gif) return 0 ;; *) return 1 ;; esac
}
for f in "$ROOT"/tests/fixtures/*; do is_image "$f" && add "$f"; done
if [ -d /usr/share/backgrounds ]; then
  while IFS= read -r f; do is_image "$f" && add "$f"; done \
    < <(find -L /usr/share/backgrounds -type f | sort)
fi
if [ -d "$BENCH/out/sets" ]; then
  while IFS= read -r f; do is_image "$f" && add "$f"; done \
    < <(find -L "$BENCH/out/sets" -type f | sort)
fi

# Derived inputs, made once by the old binary: the other source formats, alpha, a palette.
derived="$out/derived"
mkdir -p "$derived"
fixture="$ROOT/tests/fixtures/progressive-420.jpg"
odd="$ROOT/tests/fixtures/baseline-twin-odd-size.jpg"
"$old" render --out-dir "$derived/png" -f png "$fixture" "$odd" >/dev/null
"$old" render --out-dir "$derived/alpha" -f png -w 240 -H 240 --fit contain "$fixture" "$odd" >/dev/null
"$old" render --out-dir "$derived/webp" -f webp -q 90 "$fixture" "$odd" >/dev/null
"$old" render --out-dir "$derived/webp-alpha" -f webp -w 240 -H 240 --fit contain "$fixture" >/dev/null
"$old" render --out-dir "$derived/gif" -f gif -w 300 "$fixture" >/dev/null
for f in "$derived"/*/*; do
  cp "$f" "$derived/$(basename "$(dirname "$f")")-$(basename "$f")"
  add "$derived/$(basename "$(dirname "$f")")-$(basename "$f")"
done
# EXIF orientations 1 to 8 (an APP1 segment after SOI), and files cut short.
python3 - "$fixture" "$derived" <<'EOF'
import struct, sys
src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
for o in range(1, 9):
    tiff = b"MM\0\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIH", 0x0112, 3, 1, o) + b"\0\0" + struct.pack(">I", 0)
    payload = b"Exif\0\0" + tiff
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    open(f"{out}/exif{o}.jpg", "wb").write(data[:2] + seg + data[2:])
for name, keep in [("cut-60", 0.6), ("cut-95", 0.95)]:
    open(f"{out}/{name}.jpg", "wb").write(data[: int(len(data) * keep)])
EOF
for f in "$derived"/exif*.jpg "$derived"/cut-*.jpg; do add "$f"; done
say "$n inputs"

# --- The matrix -------------------------------------------------------------------------------
cases=0
run_case() { # NAME ARGS... (inputs: all of them)
  local name="$1"; shift
  cases=$((cases + 1))
  for side in old new; do
    local bin="$old"
    [ "$side" = new ] && bin="$new"
    mkdir -p "$out/$side/$name"
    # The command renders what it can and names each failure; both sides must agree on both.
    "$bin" render --out-dir "$out/$side/$name" "$@" "$inputs"/* \
      >"$out/$side/$name.stdout" 2>"$out/$side/$name.stderr" &
  done
  wait
}

for fmt in jpg png webp; do
  for w in 64 200 512 1000; do run_case "w$w-$fmt" -f "$fmt" -w "$w"; done
  run_case "orig-$fmt" -f "$fmt"
  run_case "cover-$fmt" -f "$fmt" -w 200 -H 200
  run_case "contain-$fmt" -f "$fmt" -w 300 -H 200 --fit contain
  run_case "contain-bg-$fmt" -f "$fmt" -w 300 -H 200 --fit contain --background f80
  run_case "rot90-$fmt" -f "$fmt" -w 300 --rotate 90
  run_case "blur-$fmt" -f "$fmt" -w 256 --blur 2
done
run_case "fill-jpg" -f jpg -w 300 -H 100 --fit fill
run_case "inside-jpg" -f jpg -w 300 -H 100 --fit inside
run_case "outside-jpg" -f jpg -w 300 -H 100 --fit outside
run_case "gravity-n-jpg" -f jpg -w 200 -H 100 --gravity n
run_case "gravity-se-png" -f png -w 100 -H 200 --gravity se
run_case "gravity-smart-jpg" -f jpg -w 150 -H 150 --gravity smart
run_case "gravity-smart-tall-webp" -f webp -w 80 -H 200 --gravity smart
run_case "gravity-focal-jpg" -f jpg -w 200 -H 120 --gravity 30-70
run_case "rot180-jpg" -f jpg -w 333 --rotate 180
run_case "rot270-flip-jpg" -f jpg -w 250 --rotate 270 --flip h
run_case "flip-v-png" -f png -w 123 --flip v
run_case "flip-hv-odd-jpg" -f jpg -w 201 -H 99 --flip hv
run_case "sharpen-jpg" -f jpg -w 400 --sharpen 1.5
run_case "blur-sharpen-webp" -f webp -w 180 --blur 0.8 --sharpen 1
run_case "q30-jpg" -f jpg -w 500 -q 30
run_case "q90-jpg" -f jpg -w 500 -q 90
run_case "q95-contain-jpg" -f jpg -w 320 -H 320 --fit contain -q 95
run_case "q50-webp" -f webp -w 500 -q 50
run_case "enlarge-jpg" -f jpg -w 1600 --enlarge
run_case "dpr2-jpg" -f jpg -w 150 --dpr 2
run_case "height-jpg" -f jpg -H 150
run_case "gif" -f gif -w 200
run_case "gif-contain" -f gif -w 120 -H 120 --fit contain
if [ "$quick" = 0 ]; then
  run_case "avif-w64" -f avif -w 64
  run_case "avif-contain" -f avif -w 96 -H 96 --fit contain
  run_case "avif-w200-q50" -f avif -w 200 -q 50 --rotate 90
fi

# Widths that are exactly 1/8 to 4/8 of each input (the decode then needs no resize, or lands
# on a DCT scale), one input at a time.
if [ "$quick" = 0 ]; then
  while read -r path size _; do
    w="${size%x*}"
    file="$(basename "${path%.*}")"
    src="$(ls "$inputs/$file".* 2>/dev/null | head -1)"
    [ -n "$src" ] || continue
    for k in 1 2 3 4; do
      ww=$(((w * k + 7) / 8))
      [ "$ww" -ge 1 ] || continue
      cases=$((cases + 1))
      for side in old new; do
        bin="$old"
        [ "$side" = new ] && bin="$new"
        dir="$out/$side/eighths-$k-$file"
        mkdir -p "$dir"
        "$bin" render --out-dir "$dir" -f jpg -w "$ww" "$src" \
          >"$dir.stdout" 2>"$dir.stderr" &
      done
      wait
    done
  done < <(sed "s#^$out/old/orig-jpg/##" "$out/old/orig-jpg.stdout")
fi

# --- Compare ----------------------------------------------------------------------------------
(cd "$out/old" && find . -type f ! -name '*.stdout' ! -name '*.stderr' -print0 | sort -z |
  xargs -0 -r sha256sum) >"$out/old.sha256"
(cd "$out/new" && find . -type f ! -name '*.stdout' ! -name '*.stderr' -print0 | sort -z |
  xargs -0 -r sha256sum) >"$out/new.sha256"
# Messages: what each command printed, with its own folder's name taken out.
messages() { # SIDE
  (cd "$out/$1" && for f in $(find . -name '*.stdout' -o -name '*.stderr' | sort); do
    sed "s#$out/$1/##g" "$f" | sed "s#^#$f: #"
  done)
}
messages old >"$out/old.messages"
messages new >"$out/new.messages"

outputs=$(cut -d' ' -f3 "$out/old.sha256" "$out/new.sha256" | sort -u | wc -l)
differ=$(diff "$out/old.sha256" "$out/new.sha256" | grep -c '^[<>]' || true)
message_diffs=$(diff "$out/old.messages" "$out/new.messages" | grep -c '^[<>]' || true)
errors=$(grep -c 'rendition: ' "$out/old.messages" || true)
echo "render_hashes: $n inputs, $cases cases, $outputs outputs compared, $errors refusals compared"
echo "render_hashes: $differ differing outputs, $message_diffs differing messages"
if [ "$differ" != 0 ] || [ "$message_diffs" != 0 ]; then
  diff "$out/old.sha256" "$out/new.sha256" | head -20 || true
  diff "$out/old.messages" "$out/new.messages" | head -20 || true
  exit 1
fi
