#!/usr/bin/env bash
# `rendition serve` against thumbor (issue 19), on loopback, over the same folder of photos.
#
#   bench/thumbor_load.sh [--runs N] [--hit-rounds N] [--clients N] [--keep]
#
# Installs thumbor (pinned in bench/thumbor-requirements.txt) into its own venv,
# bench/out/thumbor-venv, once (again when that file changes), and the Debian packages the
# photos need when missing; uses the release binary target/release/rendition as it is (never
# builds it). Then bench/thumbor_load.py, with that venv's Python: per run (--runs, default
# 3), thumbor (Pillow engine, file loader, FILE result storage, signed URLs, JPEG q80, one
# process; ENGINE_THREADPOOL_SIZE 0 and 2), rendition serve (folder store, JPEG q80; and with
# MALLOC_ARENA_MAX=2), each fresh on an empty result folder: 12 photos x 10 widths (320-1280)
# as misses with 4 concurrent clients, then the same paths as hits (--hit-rounds times, default
# 25). Writes bench/THUMBOR.md; stops every process it started. Runs from any directory.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
OUT="$BENCH/out"
VENV="$OUT/thumbor-venv"
REQ="$BENCH/thumbor-requirements.txt"
export RENDITION_BIN="${RENDITION_BIN:-$ROOT/target/release/rendition}"

args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs|--hit-rounds|--clients) args+=("$1" "${2:?$1 needs a number}"); shift 2 ;;
    --runs=*|--hit-rounds=*|--clients=*|--keep|--no-arena-row) args+=("$1"); shift ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "thumbor_load: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }
die() { echo "thumbor_load: $*" >&2; exit 1; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

[ -x "$RENDITION_BIN" ] || die "no release binary at $RENDITION_BIN (build it with: cargo build --release)"

# --- Debian packages: python3-venv for the venv; the wallpapers when the photos must be made --
# thumbor itself needs none: Pillow's wheel carries its libraries, and no optional extra
# (pycurl, OpenCV, gifsicle) is used here.
apt_pkgs=()
command -v python3 >/dev/null || apt_pkgs+=(python3 python3-venv)
if [ "$(ls "$OUT"/sets/typical/*.jpg 2>/dev/null | wc -l)" -ne 12 ]; then
  apt_pkgs+=(ukui-wallpapers lomiri-wallpapers)
fi
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if command -v python3 >/dev/null && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root timeout 600 apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- thumbor, in its own venv -----------------------------------------------------------------
mkdir -p "$OUT"
stamp="$VENV/.requirements.sha256"
req_sum="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/thumbor" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$req_sum" ]; then
  say "installing thumbor into $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  timeout 900 "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
  echo "$req_sum" >"$stamp"
fi
"$VENV/bin/python" -c 'import thumbor, libthumbor, PIL' || die "thumbor does not import from $VENV"

# --- the benchmark: bench/thumbor_load.py starts and stops the servers; if this script is
# interrupted, the helper is told (SIGTERM), stops its servers, and is waited for (bounded).
helper=""
cleanup() {
  local i
  [ -n "$helper" ] || return 0
  kill -0 "$helper" 2>/dev/null || return 0
  kill -TERM "$helper" 2>/dev/null || true
  for i in $(seq 1 300); do kill -0 "$helper" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$helper" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# bounded: 2 hours at most, whatever the options (the default takes a few minutes)
timeout --signal=TERM --kill-after=60 7200 \
  "$VENV/bin/python" "$BENCH/thumbor_load.py" --rendition "$RENDITION_BIN" ${args[@]+"${args[@]}"} &
helper=$!
rc=0
wait "$helper" || rc=$?
helper=""
exit "$rc"
