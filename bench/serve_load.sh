#!/usr/bin/env bash
# Load test of `rendition serve` on loopback: hits against nginx, misses against a bare render.
#
#   bench/serve_load.sh [--runs N] [--duration S] [--misses N] [--miss-runs N] [--photo JPEG] [--keep]
#
# Hit: one stored rendition file is served from the same folder by rendition serve and by
# nginx (1 and 2 workers), and by each pinned to one core; wrk -t1 -c32 (2 s warm-up, then
# --duration seconds, --runs times) against 127.0.0.1 only. Miss: --misses distinct signed
# paths (widths 300.., webp) fetched one by one with curl from a fresh rendition serve, versus
# `rendition render` of the same renditions (one process per image, and one process over
# all). Installs nginx, wrk, curl and the wallpapers from Debian when missing, uses the
# release binary target/release/rendition (never builds it), writes bench/SERVE.md, and
# stops every process it started. Runs from any working directory.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
BIN="${RENDITION_BIN:-$ROOT/target/release/rendition}"
REPORT="$BENCH/SERVE.md"

runs=3        # wrk runs per configuration; the median is reported
miss_runs=5   # miss runs (each on a fresh server, with its bare renders right after)
duration=10   # seconds per measured wrk run
warmup=2      # seconds of wrk warm-up before each configuration
conns=32      # wrk connections (one wrk thread)
misses=20     # distinct renditions in the miss test
keep=0
PHOTO=/usr/share/backgrounds/Fossa_by_Jasper_Roks.jpg
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --runs=*) runs="${1#--runs=}"; shift ;;
    --duration) duration="${2:?--duration needs seconds}"; shift 2 ;;
    --duration=*) duration="${1#--duration=}"; shift ;;
    --misses) misses="${2:?--misses needs a number}"; shift 2 ;;
    --miss-runs) miss_runs="${2:?--miss-runs needs a number}"; shift 2 ;;
    --miss-runs=*) miss_runs="${1#--miss-runs=}"; shift ;;
    --misses=*) misses="${1#--misses=}"; shift ;;
    --photo) PHOTO="${2:?--photo needs a JPEG}"; shift 2 ;;
    --photo=*) PHOTO="${1#--photo=}"; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "serve_load: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
posint() { case "$2" in ''|*[!0-9]*|0) echo "serve_load: $1 must be a positive integer" >&2; exit 2 ;; esac; }
posint --runs "$runs"; posint --duration "$duration"; posint --misses "$misses"
posint --miss-runs "$miss_runs"
# Every run is bounded in time and count.
[ "$runs" -le 10 ] || { echo "serve_load: --runs is at most 10" >&2; exit 2; }
[ "$duration" -le 60 ] || { echo "serve_load: --duration is at most 60" >&2; exit 2; }
[ "$misses" -le 200 ] || { echo "serve_load: --misses is at most 200" >&2; exit 2; }
[ "$miss_runs" -le 20 ] || { echo "serve_load: --miss-runs is at most 20" >&2; exit 2; }

say() { printf '\n== %s\n' "$*"; }
die() { echo "serve_load: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

[ -x "$BIN" ] || die "no release binary at $BIN (build it with: cargo build --release)"

# --- Debian packages ---------------------------------------------------------------------------
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
[ -f "$PHOTO" ] || missing+=(ukui-wallpapers)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -f "$PHOTO" ] || PHOTO="$(ls /usr/share/backgrounds/*.jpg 2>/dev/null | head -n1)"
[ -f "$PHOTO" ] || die "no wallpaper JPEG under /usr/share/backgrounds"

# --- work folder, process bookkeeping ------------------------------------------------------------
WORK="$(mktemp -d /tmp/serve_load.XXXXXX)"
chmod 755 "$WORK"   # nginx workers run as nobody and must read the served folder
PIDS=()
stop_pid() {
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [ "$keep" = 1 ]; then echo "serve_load: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }
ms_between() { awk -v a="$1" -v b="$2" -v n="${3:-1}" 'BEGIN { printf "%.2f", (b - a) / 1e6 / n }'; }

free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free loopback port found"
}

pinning=1
taskset -c 0 true 2>/dev/null && taskset -c 1 true 2>/dev/null || pinning=0
pin_prefix() { # pin_prefix CORE|"" -> sets PRE (array)
  PRE=()
  if [ -n "$1" ]; then PRE=(taskset -c "$1"); fi
}

KEYS="k1:serve-load-bench-secret-0123456789"
export RUST_LOG=rendition=warn

# start_rendition DIR PORT [CORE]: sets SERVER_PID (and SERVER_ERR, its log) once it is listening;
# SERVER_LOG sets its RUST_LOG.
start_rendition() {
  local dir="$1" port="$2" out="$WORK/rendition.$2.out" i
  pin_prefix "${3:-}"
  RUST_LOG="${SERVER_LOG:-rendition=warn}" RENDITION_KEYS="$KEYS" "${PRE[@]}" "$BIN" serve \
    --dir "$dir" --addr "127.0.0.1:$port" >"$out" 2>"$WORK/rendition.$port.err" &
  SERVER_PID=$!
  SERVER_ERR="$WORK/rendition.$port.err"
  PIDS+=("$SERVER_PID")
  for i in $(seq 1 100); do
    grep -q 'serving folder' "$out" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$SERVER_ERR" >&2 || true
  die "rendition serve did not start on 127.0.0.1:$port"
}

# start_nginx DIR PORT WORKERS [CORE]: sets SERVER_PID once it answers 200 on $HIT_PATH.
start_nginx() {
  local dir="$1" port="$2" workers="$3" pfx="$WORK/nginx" i
  local conf="$pfx/nginx-$workers.conf"
  mkdir -p "$pfx/tmp"
  cat >"$conf" <<EOF
worker_processes $workers;
daemon off;
pid $pfx/nginx.pid;
error_log $pfx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    types { image/webp webp; image/jpeg jpg; }
    default_type application/octet-stream;
    client_body_temp_path $pfx/tmp/body;
    proxy_temp_path $pfx/tmp/proxy;
    fastcgi_temp_path $pfx/tmp/fastcgi;
    uwsgi_temp_path $pfx/tmp/uwsgi;
    scgi_temp_path $pfx/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $dir;
    }
}
EOF
  pin_prefix "${4:-}"
  "${PRE[@]}" "$NGINX" -p "$pfx/" -e "$pfx/error.log" -c "$conf" >>"$pfx/stdout.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for i in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port$HIT_PATH" || true)" = 200 ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$pfx/error.log" "$pfx/stdout.log" >&2 2>/dev/null || true
  die "nginx did not serve $HIT_PATH on 127.0.0.1:$port"
}

stop_server() { stop_pid "$SERVER_PID"; }

# --- 1. the folder and its stored rendition ------------------------------------------------------
say "preparing $WORK"
HITDIR="$WORK/hit"
mkdir -p "$HITDIR/photos"
cp "$PHOTO" "$HITDIR/photos/a.jpg"
SRC="$HITDIR/photos/a.jpg"
HIT_PATH="$(RENDITION_KEYS="$KEYS" "$BIN" sign photos/a.jpg --width 320 --format webp)"
case "$HIT_PATH" in /r/*) ;; *) die "unexpected signed path: $HIT_PATH" ;; esac
port="$(free_port)"
start_rendition "$HITDIR" "$port"
code="$(curl -s -o "$WORK/first.webp" -w '%{http_code}' --max-time 30 "http://127.0.0.1:$port$HIT_PATH")"
stop_server
[ "$code" = 200 ] || die "first request of $HIT_PATH answered $code"
[ -f "$HITDIR${HIT_PATH}" ] || die "rendition was not stored at $HITDIR$HIT_PATH"
chmod -R a+rX "$HITDIR"
HIT_BYTES="$(stat -c %s "$HITDIR$HIT_PATH")"
echo "stored $HIT_PATH ($HIT_BYTES bytes)"

# --- 2. hits -------------------------------------------------------------------------------------
# parse_wrk FILE -> "rps p50_ms p99_ms requests non2xx socket_errors"
parse_wrk() {
  awk '
    function ms(v) {
      if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
      if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
      if (v ~ /m$/)  { sub(/m$/, "", v);  return v * 60000 }
      if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
      return v + 0
    }
    /Latency Distribution/ { dist = 1; next }
    dist && $1 == "50%" { p50 = ms($2) }
    dist && $1 == "99%" { p99 = ms($2) }
    / requests in / { reqs = $1 }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { line = $0; sub(/.*Socket errors: */, "", line); gsub(/ /, "", line); errs = line }
    /^Requests\/sec:/ { rps = $2 }
    END { printf "%.0f %.3f %.3f %s %d %s\n", rps, p50, p99, reqs, non2xx + 0, (errs == "" ? "none" : errs) }
  ' "$1"
}

RESULTS="$WORK/hits.tsv"   # key tool config rps p50 p99 requests non2xx errors all_rps threads
: >"$RESULTS"
# hit_config KEY TOOL CONFIG SERVER_CORE CLIENT_CORE
hit_config() {
  local key="$1" tool="$2" config="$3" score="$4" ccore="$5" url r f ctype threads
  port="$(free_port)"
  case "$tool" in
    nginx) start_nginx "$HITDIR" "$port" "${key##*-w}" "$score" ;;
    rendition) start_rendition "$HITDIR" "$port" "$score" ;;
  esac
  url="http://127.0.0.1:$port$HIT_PATH"
  ctype="$(curl -s -o "$WORK/check.webp" -w '%{http_code} %{content_type} %{size_download}' --max-time 5 "$url")"
  cmp -s "$WORK/check.webp" "$HITDIR$HIT_PATH" || die "$tool ($config) served different bytes: $ctype"
  say "$tool, $config: $ctype"
  pin_prefix "$ccore"
  timeout $((warmup + 20)) "${PRE[@]}" wrk -t1 -c"$conns" -d"${warmup}s" "$url" >"$WORK/wrk.$key.warmup.txt"
  : >"$WORK/wrk.$key.runs"
  for r in $(seq 1 "$runs"); do
    f="$WORK/wrk.$key.$r.txt"
    timeout $((duration + 30)) "${PRE[@]}" wrk -t1 -c"$conns" -d"${duration}s" --latency "$url" >"$f"
    grep -E 'Requests/sec|Non-2xx|Socket errors|50%|99%' "$f" | sed 's/^/   /'
    parse_wrk "$f" >>"$WORK/wrk.$key.runs"
    cp "$f" "$BENCH_OUT/wrk.$key.$r.txt"
  done
  # rendition: its threads (tokio workers follow the CPUs it may run on); nginx: its processes
  if [ "$tool" = rendition ]; then threads="$(ls "/proc/$SERVER_PID/task" | wc -l) threads"
  else threads="$((1 + $(pgrep -c -P "$SERVER_PID" || true))) processes"; fi
  stop_server
  local all med
  all="$(awk '{print $1}' "$WORK/wrk.$key.runs" | sort -n | paste -sd/ -)"
  med="$(sort -n -k1,1 "$WORK/wrk.$key.runs" | sed -n "$(( (runs + 1) / 2 ))p")"
  # shellcheck disable=SC2086
  set -- $med
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$key" "$tool" "$config" "$1" "$2" "$3" "$4" "$5" "$6" "$all" "$threads" >>"$RESULTS"
}

BENCH_OUT="$BENCH/out/serve_load"   # raw wrk outputs, kept for reference (bench/out is scratch)
rm -rf "$BENCH_OUT"; mkdir -p "$BENCH_OUT"

hit_config nginx-w1 nginx "1 worker" "" ""
hit_config nginx-w2 nginx "2 workers" "" ""
hit_config rendition rendition "tokio default runtime" "" ""
if [ "$pinning" = 1 ]; then
  hit_config pinned-nginx-w1 nginx "1 worker, pinned to core 0 (wrk on core 1)" 0 1
  hit_config pinned-rendition rendition "pinned to core 0 (wrk on core 1)" 0 1
else
  echo "serve_load: taskset cannot pin here; the single-core comparison is skipped" >&2
fi

# --- 3. misses -----------------------------------------------------------------------------------
say "signing $misses renditions"
WIDTHS=()
MISS_PATHS=()
for i in $(seq 0 $((misses - 1))); do
  w=$((300 + i))
  WIDTHS+=("$w")
  MISS_PATHS+=("$(RENDITION_KEYS="$KEYS" "$BIN" sign photos/a.jpg --width "$w" --format webp)")
done

# One row per run, all figures in ms per image:
# run wall curl_mean curl_med first xr handler read render store bare_proc bare_one
MISS="$WORK/miss.tsv"
: >"$MISS"
inputs=()
for i in $(seq 1 "$misses"); do inputs+=("$SRC"); done
med_of() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else printf "%.2f", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for r in $(seq 1 "$miss_runs"); do
  md="$WORK/miss$r"
  mkdir -p "$md/photos"
  cp "$PHOTO" "$md/photos/a.jpg"
  port="$(free_port)"
  # debug: the server logs each request's handler time and each render's read/render/store.
  SERVER_LOG=rendition=debug start_rendition "$md" "$port"
  # Warm the server and the page cache with one static request of the source (not timed).
  curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$port/photos/a.jpg"
  : >"$WORK/miss.$r.txt"
  t0="$(now_ns)"
  for p in "${MISS_PATHS[@]}"; do
    curl -s -o /dev/null --max-time 30 -w '%{http_code} %{time_total} %{size_download} %header{x-rendition}\n' \
      "http://127.0.0.1:$port$p" >>"$WORK/miss.$r.txt"
  done
  t1="$(now_ns)"
  stop_server
  bad="$(awk '$1 != 200' "$WORK/miss.$r.txt" | wc -l)"
  stored="$(find "$md/r" -type f -name '*.webp' 2>/dev/null | wc -l)"
  [ "$bad" -eq 0 ] || { cat "$WORK/miss.$r.txt" >&2; die "miss run $r: $bad responses were not 200"; }
  [ "$stored" -eq "$misses" ] || die "miss run $r: $stored of $misses renditions were stored"
  curl_mean="$(awk '{s += $2} END {printf "%.2f", s * 1000 / NR}' "$WORK/miss.$r.txt")"
  curl_med="$(awk '{print $2 * 1000}' "$WORK/miss.$r.txt" | med_of)"
  first="$(head -n1 "$WORK/miss.$r.txt" | awk '{printf "%.2f", $2 * 1000}')"
  xr="$(awk '{print $4}' "$WORK/miss.$r.txt" | sort | uniq -c | awk '{printf "%s%s×%s", (NR>1?", ":""), $2, $1}')"
  # The server's own view (log without colour codes): medians over the run's requests.
  sed 's/\x1b\[[0-9;]*m//g' "$SERVER_ERR" >"$WORK/miss.$r.log"
  field_ms() { grep "$1" "$WORK/miss.$r.log" | grep -o " $2=[0-9]*" | cut -d= -f2 | awk '{print $1 / 1000}' | med_of; }
  handler="$(field_ms 'request.*path="/r/' us)"
  read_ms="$(field_ms ' rendered ' read_us)"; render_ms="$(field_ms ' rendered ' render_us)"
  store_ms="$(field_ms ' rendered ' store_us)"
  logged="$(grep -c ' rendered ' "$WORK/miss.$r.log" || true)"
  [ "$logged" -eq "$misses" ] || die "miss run $r: the server logged $logged of $misses renders"
  wall="$(ms_between "$t0" "$t1" "$misses")"

  # Bare render, one process per rendition (process start included).
  bd="$WORK/bare$r"
  t0="$(now_ns)"
  for w in "${WIDTHS[@]}"; do
    "$BIN" render --width "$w" --format webp --out-dir "$bd" "$SRC" >/dev/null
  done
  t1="$(now_ns)"
  bare_proc="$(ms_between "$t0" "$t1" "$misses")"
  # Same bytes as the server's? ($bd/a.webp is the last width rendered: compare with its miss)
  if [ "$r" = 1 ]; then
    if cmp -s "$md${MISS_PATHS[$((misses - 1))]}" "$bd/a.webp"; then same_bytes="identical"; else same_bytes="DIFFERENT"; fi
    [ -f "$bd/a.webp" ] || same_bytes="missing"
  fi
  # Bare render, one process over $misses inputs (width 300, same output overwritten).
  t0="$(now_ns)"
  "$BIN" render --width 300 --format webp --out-dir "$WORK/one$r" "${inputs[@]}" >/dev/null
  t1="$(now_ns)"
  bare_one="$(ms_between "$t0" "$t1" "$misses")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$wall" "$curl_mean" "$curl_med" \
    "$first" "$xr" "$handler" "$read_ms" "$render_ms" "$store_ms" "$bare_proc" "$bare_one" >>"$MISS"
  say "miss run $r: mean $curl_mean ms, median $curl_med | in server: handler $handler, read $read_ms, render $render_ms, store $store_ms | bare/process $bare_proc | bare/in-process $bare_one"
done

median_col() { # median_col FILE COLUMN
  cut -f"$2" "$1" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'
}
all_col() { cut -f"$2" "$1" | paste -sd/ -; }
miss_wall="$(median_col "$MISS" 2)"; miss_curl="$(median_col "$MISS" 3)"
miss_curl_med="$(median_col "$MISS" 4)"; miss_first="$(median_col "$MISS" 5)"
srv_handler="$(median_col "$MISS" 7)"; srv_read="$(median_col "$MISS" 8)"
srv_render="$(median_col "$MISS" 9)"; srv_store="$(median_col "$MISS" 10)"
bare_proc="$(median_col "$MISS" 11)"; bare_one="$(median_col "$MISS" 12)"
# Ratios are taken within each run (a miss and the bare renders seconds apart), then the median.
run_ratios() { awk -F'\t' -v a="$1" -v b="$2" '{printf "%.2f\n", $a / $b}' "$MISS"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# --- 4. report -----------------------------------------------------------------------------------
say "writing $REPORT"
field() { awk -F'\t' -v k="$1" -v c="$2" '$1 == k { print $c }' "$RESULTS"; }
rps() { field "$1" 4; }
verdict() { awk -v r="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == "ge") ? (r >= t) : (r <= t); print ok ? "yes" : "no" }'; }

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
nginx_v="$("$NGINX" -v 2>&1)"
wrk_v="$( (wrk -v 2>&1 || true) | head -n1 | sed 's/ *Copyright.*//')"
curl_v="$(curl --version | head -n1 | cut -d' ' -f1-2)"
rendition_v="$("$BIN" --version)"
commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | grep -q . && echo ' (with uncommitted changes in src/)' || true)"

{
  echo "# rendition serve under load"
  echo
  echo "Written by \`bench/serve_load.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Loopback only (127.0.0.1)."
  echo
  echo "- machine: $(nproc) CPUs, $cpu, $(uname -sr)"
  echo "- versions: $rendition_v (release build, commit $commit$dirty), $nginx_v, $wrk_v, $curl_v"
  echo "- file: \`$HIT_PATH\` ($HIT_BYTES bytes, webp 320 px wide from $(basename "$PHOTO"), $(stat -c %s "$PHOTO") bytes)"
  echo "- wrk: \`wrk -t1 -c$conns -d${duration}s --latency URL\` after a ${warmup} s warm-up; $runs runs per row, the row shows the run with the median req/s"
  echo
  echo "## Hits: a stored rendition served as a static file"
  echo
  echo "Goal: rendition ≥ 0.8× nginx's req/s on the same folder."
  echo
  echo "| tool | config | server threads (incl. blocking pool) / processes | req/s (median) | req/s of each run | p50 ms | p99 ms | non-2xx | socket errors | vs nginx |"
  echo "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | --- | --- |"
  while IFS=$'\t' read -r key tool config r p50 p99 reqs non2xx errs all threads; do
    case "$key" in
      rendition) vs="$(ratio "$r" "$(rps nginx-w1)")× of 1 worker, $(ratio "$r" "$(rps nginx-w2)")× of 2 workers" ;;
      pinned-rendition) vs="$(ratio "$r" "$(rps pinned-nginx-w1)")× of pinned nginx" ;;
      *) vs="—" ;;
    esac
    echo "| $tool | $config | $threads | $r | $all | $p50 | $p99 | $non2xx | $errs | $vs |"
  done <"$RESULTS"
  echo
  r1="$(ratio "$(rps rendition)" "$(rps nginx-w1)")"; r2="$(ratio "$(rps rendition)" "$(rps nginx-w2)")"
  echo "- rendition (2 cores) vs nginx with 1 worker: **${r1}×** — 0.8× reached: $(verdict "$r1" 0.8 ge)"
  echo "- rendition (2 cores) vs nginx with 2 workers: **${r2}×** — 0.8× reached: $(verdict "$r2" 0.8 ge)"
  if [ "$pinning" = 1 ]; then
    r3="$(ratio "$(rps pinned-rendition)" "$(rps pinned-nginx-w1)")"
    echo "- both pinned to one core (wrk on the other): **${r3}×** — 0.8× reached: $(verdict "$r3" 0.8 ge)"
  fi
  echo "- Unpinned rows share the machine's $(nproc) cores with wrk itself (one thread), so they measure server + client contention; the pinned rows give the server one core and wrk the other."
  echo
  echo "## Misses: render + store + serve, against a bare render"
  echo
  echo "Goal: a miss costs ≤ 1.3× a bare render. A run: a fresh \`rendition serve\` on a fresh folder answers $misses distinct signed paths (widths 300–$((300 + misses - 1)), webp), fetched one after another by curl (every one renders, stores the file under the folder and answers 200: checked); right after, the same renders without the server, in one \`rendition render\` process per width and in one process over $misses inputs. $miss_runs runs; a ratio is taken within each run, so that the machine's speed, which drifts by ±20 % on this shared VM over minutes, cancels out, and the median of the runs' ratios is the result."
  echo
  echo "| run | miss: mean of curl's time_total | median | first request | curl loop wall / $misses (starts curl) | bare: one process over $misses | bare: a process per width | **miss / bare (one process)** |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  while IFS=$'\t' read -r r wall cmean cmed first xr handler rd rn st bproc bone; do
    echo "| $r | $cmean | $cmed | $first | $wall | $bone | $bproc | $(ratio "$cmean" "$bone")× |"
  done <"$MISS"
  echo "| median | $miss_curl | $miss_curl_med | $miss_first | $miss_wall | $bare_one | $bare_proc | |"
  echo
  m1="$(run_ratios 3 12 | med_of)"; m2="$(run_ratios 3 11 | med_of)"; m3="$(run_ratios 4 9 | med_of)"
  echo "- miss / bare render in one process (no process start), median of the runs' ratios ($(run_ratios 3 12 | paste -sd' ' -)): **${m1}×** — within 1.3×: $(verdict "$m1" 1.3 le)"
  echo "- miss / bare render with its process start: **${m2}×** — within 1.3×: $(verdict "$m2" 1.3 le)"
  echo "- x-rendition header on the misses (first run): $(cut -f6 "$MISS" | head -n1)"
  echo "- the served width-$((300 + misses - 1)) file and the bare render's, byte for byte: ${same_bytes:-unchecked}"
  echo
  echo "Where a miss's time goes, from the server's own log (\`RUST_LOG=rendition=debug\`: the handler's time per request, and read/render/store per render), medians in ms:"
  echo
  echo "| run | curl time_total | handler | read the source | render (incl. the hop to the blocking pool) | store (mkdir, write, fdatasync, link) | curl − render |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  while IFS=$'\t' read -r r wall cmean cmed first xr handler rd rn st bproc bone; do
    echo "| $r | $cmed | $handler | $rd | $rn | $st | $(awk -v a="$cmed" -v b="$rn" 'BEGIN { printf "%.2f", a - b }') |"
  done <"$MISS"
  echo
  echo "- a miss's median over its own render's median in the same run (same process, same moment): **${m3}×** (runs: $(run_ratios 4 9 | paste -sd' ' -))"
  echo
  echo "## Commands"
  echo
  echo '```sh'
  echo "bench/serve_load.sh --runs $runs --duration $duration --misses $misses --miss-runs $miss_runs"
  echo "# the folder: \$DIR/photos/a.jpg = $PHOTO; one request renders and stores \$DIR$HIT_PATH"
  echo "RENDITION_KEYS=k1:<secret> rendition sign photos/a.jpg --width 320 --format webp"
  echo "RUST_LOG=rendition=warn RENDITION_KEYS=k1:<secret> [taskset -c 0] rendition serve --dir \$DIR --addr 127.0.0.1:\$PORT"
  echo "[taskset -c 0] nginx -p \$WORK/nginx/ -e \$WORK/nginx/error.log -c nginx-{1,2}.conf   # conf below"
  echo "[taskset -c 1] wrk -t1 -c$conns -d${warmup}s \$URL                  # warm-up, discarded"
  echo "[taskset -c 1] wrk -t1 -c$conns -d${duration}s --latency \$URL      # × $runs"
  echo "# misses, on a fresh folder and server per run (this one with RUST_LOG=rendition=debug):"
  echo "for w in 300..$((300 + misses - 1)): curl -s -o /dev/null -w '%{http_code} %{time_total}' http://127.0.0.1:\$PORT\$(rendition sign photos/a.jpg --width \$w --format webp)"
  echo "for w in 300..$((300 + misses - 1)): rendition render --width \$w --format webp --out-dir \$OUT \$DIR/photos/a.jpg"
  echo "rendition render --width 300 --format webp --out-dir \$OUT \$DIR/photos/a.jpg  # the same input listed $misses times"
  echo '```'
  echo
  echo "nginx.conf (\`worker_processes\` 1 or 2; paths shortened):"
  echo
  echo '```nginx'
  sed -e "s#$WORK#\$WORK#g" "$WORK/nginx/nginx-1.conf" | grep -v '_temp_path'
  echo '```'
  echo
  echo "\`keepalive_requests\` is raised from nginx's default 1000 so that, like rendition (hyper), it never closes wrk's keep-alive connections; the temp paths (left out above) point into the work folder. Raw wrk outputs: \`bench/out/serve_load/\` (not committed)."
} >"$REPORT"

cat "$REPORT"
