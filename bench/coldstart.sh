#!/usr/bin/env bash
# Lambda cold start, ready to run: starts moto_server (moto[server], from .venv/) on a free loopback
# port, creates a bucket with one wallpaper as photos/sample.jpg, and runs bench/coldstart.py on
# the release Lambda binary with the signed miss fixture (events/function-url-miss.json, test
# key t1). The first start renders and stores the rendition; the later ones find it stored.
#
#   bench/coldstart.sh [RUNS]        (default 10; needs target/release/rendition-lambda)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
bin=target/release/rendition-lambda
[ -x "$bin" ] || { echo "build it first: cargo build --release --bin rendition-lambda" >&2; exit 1; }
# moto's server from the project's virtual environment (scripts/setup --test puts it there).
export PATH="${RENDITION_VENV:-$PWD/.venv}/bin:$PATH"
command -v moto_server >/dev/null || { echo "moto_server not found: run scripts/setup --test (it installs moto into .venv/)" >&2; exit 1; }
photo=/usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg
[ -f "$photo" ] || { echo "$photo missing: apt-get install lomiri-wallpapers, or run bench/run once" >&2; exit 1; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
curl -sf -X PUT "http://127.0.0.1:$port/cold" >/dev/null
curl -sf -T "$photo" "http://127.0.0.1:$port/cold/photos/sample.jpg" >/dev/null
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export RENDITION_BUCKET=cold RENDITION_KEYS=t1:0123456789abcdef0123456789abcdef RENDITION_S3_PATH_STYLE=true
timeout 300 python3 bench/coldstart.py "$bin" events/function-url-miss.json "$runs"
