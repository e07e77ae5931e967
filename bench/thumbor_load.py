"""`rendition serve` against thumbor, both over the same folder of photos on loopback.

Run it through bench/thumbor_load.sh, which installs thumbor into bench/out/thumbor-venv and
runs this file with that venv's Python (thumbor, libthumbor and Pillow come from there).

A run starts each server fresh, on an empty result folder, fetches the miss set (every photo
at every width, in one seeded shuffled order, the same for every server) with --clients
concurrent keep-alive clients, then fetches the same set again --hit-rounds times as hits.
Every response is checked: 200, a JPEG of the requested width, and a hit's bytes equal to the
miss's. Measured per server: wall time of the miss pass, CPU of the server's process tree
(utime + stime from /proc/PID/stat) over the miss pass, peak RSS (VmHWM from
/proc/PID/status, summed over the tree) after the misses, and requests per second of the hit
pass. Writes bench/THUMBOR.md. Every process it starts is stopped on exit, however it exits.
"""
import argparse
import concurrent.futures
import datetime
import hashlib
import http.client
import io
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from PIL import Image, JpegImagePlugin
import PIL

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
VENV = os.path.join(OUT, "thumbor-venv")
TYPICAL = os.path.join(OUT, "sets", "typical")
OWN_PHOTOS = os.path.join(OUT, "thumbor", "photos")
BACKGROUNDS = "/usr/share/backgrounds"
REPORT = os.path.join(BENCH, "THUMBOR.md")

QUALITY = 80
REQUEST_TIMEOUT_S = 60      # one request
START_TIMEOUT_S = 30        # a server answering its first request
STOP_TIMEOUT_S = 10         # SIGTERM, then SIGKILL
THUMBOR_KEY = "thumbor-load-bench-security-key-0123456789"
RENDITION_KEYS = "k1:thumbor-load-bench-secret-0123456789"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The photos when bench/out/sets/typical is missing: bench/bench.py's "typical" recipe, made
# here so that this benchmark does not need bench/run's venv (numpy), from the list in
# photos.py: ten wallpaper photographs downscaled with Pillow (LANCZOS, from the full decode)
# to 1.3, 1.71, ... 5.0 MP, saved as baseline JPEG q90 4:2:0 without metadata, and two small
# wallpapers as they are. Same names and sizes; the bytes may differ with the Pillow version.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from photos import TYPICAL_AS_IS, TYPICAL_DOWNSCALED, make_typical  # noqa: E402


def log(*a):
    print(*a, flush=True)


# --- processes -------------------------------------------------------------------------------

STARTED = []  # Popen objects of every server started; stop_all() ends what is still running


def stop(proc):
    """SIGTERM to the process group the server leads, SIGKILL after STOP_TIMEOUT_S."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(STOP_TIMEOUT_S)


def stop_all():
    for proc in STARTED:
        try:
            stop(proc)
        except Exception as e:  # keep stopping the others
            log(f"thumbor_load: stopping {proc.pid}: {e}")


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid):
    """pid and its descendants, from /proc."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(rest[1]), []).append(int(d))
        except (OSError, IndexError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu_s(pid):
    """utime + stime (+ cutime + cstime of reaped children) of the tree, in seconds."""
    ticks = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is stat's field 3 (state): utime..cstime are fields 14..17
        ticks += sum(int(x) for x in fields[11:15])
    return ticks / CLK_TCK


def tree_hwm_kib(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def tree_threads(pid):
    n = 0
    for p in tree(pid):
        try:
            n += len(os.listdir(f"/proc/{p}/task"))
        except OSError:
            pass
    return n


def wait_ready(proc, port, path, errfile):
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    with open(errfile, errors="replace") as f:
        sys.stderr.write(f.read()[-4000:])
    raise SystemExit(f"thumbor_load: the server did not answer 200 on 127.0.0.1:{port}{path}")


# --- the servers ---------------------------------------------------------------------------

THUMBOR_CONF = """\
# thumbor {version}: file loader, FILE result storage, signed URLs only, Pillow engine
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = '{photos}'
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = 'thumbor.result_storages.file_storage'
RESULT_STORAGE_FILE_STORAGE_ROOT_PATH = '{results}'
RESULT_STORAGE_EXPIRATION_SECONDS = 0
SECURITY_KEY = '{key}'
ALLOW_UNSAFE_URL = False
ENGINE = 'thumbor.engines.pil'
QUALITY = {quality}
AUTO_WEBP = False
ENGINE_THREADPOOL_SIZE = {pool}
"""


class Server:
    """One server of one run: started fresh on an empty folder, stopped by stop()."""

    def __init__(self, cfg, work, photos, bin_path):
        self.cfg = cfg
        self.work = work
        self.port = free_port()
        os.makedirs(work)
        self.err = os.path.join(work, "server.err")
        out = open(os.path.join(work, "server.out"), "wb")
        err = open(self.err, "wb")
        if cfg["kind"] == "thumbor":
            self.results = os.path.join(work, "result_storage")
            os.makedirs(self.results)
            conf = os.path.join(work, "thumbor.conf")
            with open(conf, "w") as f:
                f.write(thumbor_conf(photos, self.results, cfg["pool"]))
            argv = [os.path.join(VENV, "bin", "thumbor"), "--ip", "127.0.0.1",
                    "--port", str(self.port), "--conf", conf, "--processes", "1",
                    "--log-level", "warning"]
            env = dict(os.environ)
            ready = "/healthcheck"
        else:
            site = os.path.join(work, "site")
            shutil.copytree(photos, os.path.join(site, "photos"))
            self.results = os.path.join(site, "r")
            argv = [bin_path, "serve", "--dir", site, "--addr", f"127.0.0.1:{self.port}"]
            env = dict(os.environ, RUST_LOG="rendition=warn", RENDITION_KEYS=RENDITION_KEYS)
            env.update(cfg.get("env", {}))
            ready = "/_rendition/stats"
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                     env=env, cwd=work, start_new_session=True)
        STARTED.append(self.proc)
        out.close()
        err.close()
        wait_ready(self.proc, self.port, ready, self.err)

    def stop(self):
        stop(self.proc)


def thumbor_conf(photos, results, pool):
    import thumbor
    return THUMBOR_CONF.format(version=thumbor.__version__, photos=photos, results=results,
                               key=THUMBOR_KEY, quality=QUALITY, pool=pool)


def thumbor_path(name, width):
    from libthumbor import CryptoURL
    return CryptoURL(key=THUMBOR_KEY).generate(width=width, height=0, image_url=name)


def rendition_paths(bin_path, jobs):
    """Signed paths for (name, width) pairs, one `rendition sign` per pair."""
    env = dict(os.environ, RENDITION_KEYS=RENDITION_KEYS)
    out = {}
    for name, w in jobs:
        p = subprocess.run([bin_path, "sign", f"photos/{name}", "--width", str(w), "--format",
                            "jpg", "--quality", str(QUALITY)], env=env, check=True, timeout=30,
                           capture_output=True, text=True).stdout.strip()
        if not p.startswith("/r/"):
            raise SystemExit(f"thumbor_load: unexpected signed path {p!r}")
        out[(name, w)] = p
    return out


# --- the clients ---------------------------------------------------------------------------

def fetch_all(port, paths, clients):
    """GETs every path with `clients` threads, each on its own keep-alive connection.
    Returns (wall seconds, [(status, x-rendition header, body)] in the order of paths)."""
    results = [None] * len(paths)
    lock = threading.Lock()
    nxt = [0]

    def worker():
        conn = None
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(paths):
                break
            for attempt in (1, 2):  # one reconnect if the server closed a kept-alive connection
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port,
                                                          timeout=REQUEST_TIMEOUT_S)
                    conn.request("GET", paths[i])
                    r = conn.getresponse()
                    body = r.read()
                    results[i] = (r.status, r.getheader("x-rendition", ""), body)
                    if r.getheader("connection", "").lower() == "close":
                        conn.close()
                        conn = None
                    break
                except (http.client.HTTPException, ConnectionError) as e:
                    if conn is not None:
                        conn.close()
                    conn = None
                    if attempt == 2:
                        results[i] = (0, f"error: {e}", b"")
                except OSError as e:  # a timeout: no retry
                    if conn is not None:
                        conn.close()
                    conn = None
                    results[i] = (0, f"error: {e}", b"")
                    break
        if conn is not None:
            conn.close()

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(worker) for _ in range(clients)]:
            f.result()
    return time.perf_counter() - t0, results


def check(results, jobs, label):
    """Every response 200 and a JPEG of the requested width; returns the output sizes."""
    bad = []
    sizes = []
    for (status, xr, body), (name, w) in zip(results, jobs):
        if status != 200:
            bad.append(f"{name} w{w}: status {status} {xr} {body[:200]!r}")
            continue
        try:
            with Image.open(io.BytesIO(body)) as im:
                fmt, width = im.format, im.width
        except Exception as e:
            bad.append(f"{name} w{w}: not an image ({e})")
            continue
        if fmt != "JPEG" or width != w:
            bad.append(f"{name} w{w}: {fmt} {width} px wide")
        sizes.append(len(body))
    if bad:
        raise SystemExit(f"thumbor_load: {label}: {len(bad)} bad responses:\n  "
                         + "\n  ".join(bad[:20]))
    return sizes


def stored_files(folder):
    """{path: (inode, mtime_ns)} of the regular files under folder."""
    out = {}
    for d, _, files in os.walk(folder):
        for f in files:
            st = os.stat(os.path.join(d, f))
            out[os.path.join(d, f)] = (st.st_ino, st.st_mtime_ns)
    return out


def jpeg_props(body):
    with Image.open(io.BytesIO(body)) as im:
        sampling = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}.get(
            JpegImagePlugin.get_sampling(im), "?")
        return ("progressive" if im.info.get("progressive") else "baseline") + ", " + sampling


# --- one run of one server -----------------------------------------------------------------

def one(cfg, run, work, photos, bin_path, jobs, paths, clients, hit_rounds):
    srv = Server(cfg, os.path.join(work, f"run{run}-{cfg['key']}"), photos, bin_path)
    try:
        pid = srv.proc.pid
        threads0 = tree_threads(pid)
        rss0 = tree_hwm_kib(pid)
        # misses
        c0, u0 = tree_cpu_s(pid), resource.getrusage(resource.RUSAGE_SELF)
        wall, res = fetch_all(srv.port, paths, clients)
        c1, u1 = tree_cpu_s(pid), resource.getrusage(resource.RUSAGE_SELF)
        rss = tree_hwm_kib(pid)
        threads = tree_threads(pid)
        sizes = check(res, jobs, f"run {run}, {cfg['label']}, misses")
        miss_bodies = [hashlib.sha256(b).hexdigest() for _, _, b in res]
        if cfg["kind"] == "rendition":
            xr = {x for _, x, _ in res}
            if xr != {"rendered"}:
                raise SystemExit(f"thumbor_load: misses answered x-rendition {xr}")
        stored = stored_files(srv.results)
        if len(stored) != len(jobs):
            raise SystemExit(f"thumbor_load: {cfg['label']}: {len(stored)} results stored "
                             f"after {len(jobs)} misses")
        props = jpeg_props(res[0][2])
        # hits: the same paths, hit_rounds times
        hpaths = paths * hit_rounds
        hjobs = jobs * hit_rounds
        c2, u2 = tree_cpu_s(pid), resource.getrusage(resource.RUSAGE_SELF)
        hwall, hres = fetch_all(srv.port, hpaths, clients)
        c3, u3 = tree_cpu_s(pid), resource.getrusage(resource.RUSAGE_SELF)
        check(hres, hjobs, f"run {run}, {cfg['label']}, hits")
        for k, (_, x, b) in enumerate(hres):
            if hashlib.sha256(b).hexdigest() != miss_bodies[k % len(jobs)]:
                raise SystemExit(f"thumbor_load: {cfg['label']}: a hit's bytes differ from "
                                 f"its miss's ({hjobs[k]})")
            if cfg["kind"] == "rendition" and x != "hit":
                raise SystemExit(f"thumbor_load: a hit answered x-rendition {x!r}")
        # a hit re-rendered would have replaced its stored file (new inode or mtime)
        if stored_files(srv.results) != stored:
            raise SystemExit(f"thumbor_load: {cfg['label']}: the hit pass rewrote stored files")
        rss_after_hits = tree_hwm_kib(pid)
        errors = os.path.getsize(srv.err)
    finally:
        srv.stop()
    n, h = len(jobs), len(hpaths)
    client_cpu = lambda a, b: (b.ru_utime + b.ru_stime) - (a.ru_utime + a.ru_stime)
    return {
        "run": run, "key": cfg["key"], "wall": wall, "mps": n / wall,
        "cpu_ms": (c1 - c0) * 1000 / n, "rss_mib": rss / 1024, "rss0_mib": rss0 / 1024,
        "rss_hits_mib": rss_after_hits / 1024, "threads0": threads0, "threads": threads,
        "hwall": hwall, "hps": h / hwall, "hcpu_ms": (c3 - c2) * 1000 / h,
        "client_cpu_miss": client_cpu(u0, u1), "client_cpu_hit": client_cpu(u2, u3),
        "bytes": statistics.mean(sizes), "props": props, "stderr_bytes": errors,
    }


# --- the renders alone, without a server ------------------------------------------------------

def thumbor_engine_cpu(photos, jobs):
    """In a child process (this file with --thumbor-engine): thumbor's Pillow engine alone,
    as its handler drives it for a miss (load, resize, read as JPEG q80), over every job.
    Returns CPU ms per render."""
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--thumbor-engine", photos,
                        json.dumps(jobs)], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise SystemExit(f"thumbor_load: the thumbor engine measurement failed:\n{p.stderr}")
    return float(p.stdout.strip().splitlines()[-1])


def thumbor_engine_main(photos, jobs_json):
    from thumbor.config import Config
    from thumbor.context import Context
    from thumbor.engines.pil import Engine
    jobs = json.loads(jobs_json)
    ctx = Context(config=Config(QUALITY=QUALITY))
    bufs = {}
    for n, _ in jobs:
        if n not in bufs:
            with open(os.path.join(photos, n), "rb") as f:
                bufs[n] = f.read()
    t0 = time.process_time()
    for n, w in jobs:
        e = Engine(ctx)
        e.load(bufs[n], ".jpg")
        e.resize(w, round(e.image.height * w / e.image.width))
        e.read(".jpg", QUALITY)
    print((time.process_time() - t0) * 1000 / len(jobs))


def rendition_render_cpu(bin_path, photos, jobs, work):
    """`rendition render`, one process per width over the photos of that width: CPU ms per
    render (the processes' user + system time, from their rusage; 10 process starts
    included)."""
    by_w = {}
    for n, w in jobs:
        by_w.setdefault(w, []).append(os.path.join(photos, n))
    out = os.path.join(work, "render-alone")
    shutil.rmtree(out, ignore_errors=True)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for w, files in sorted(by_w.items()):
        d = os.path.join(out, str(w))
        os.makedirs(d)
        subprocess.run([bin_path, "render", "--width", str(w), "--format", "jpg", "--quality",
                        str(QUALITY), "--out-dir", d, *files], check=True, timeout=600,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    made = sum(len(fs) for _, _, fs in os.walk(out))
    if made != len(jobs):
        raise SystemExit(f"thumbor_load: rendition render wrote {made} of {len(jobs)} files")
    shutil.rmtree(out, ignore_errors=True)
    return ((r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)) * 1000 / len(jobs)


# --- photos --------------------------------------------------------------------------------

def photos_dir():
    """bench/out/sets/typical when bench/run made it, else the same recipe into OWN_PHOTOS."""
    have = sorted(f for f in os.listdir(TYPICAL) if f.endswith(".jpg")) \
        if os.path.isdir(TYPICAL) else []
    if len(have) == 12 and os.path.exists(os.path.join(OUT, "sets", ".recipe")):
        return TYPICAL, "bench/out/sets/typical (made by bench/bench.py)"
    want = TYPICAL_DOWNSCALED + TYPICAL_AS_IS
    stamp = os.path.join(OWN_PHOTOS, ".made")
    if not (os.path.exists(stamp) and sorted(os.listdir(OWN_PHOTOS)) == sorted(want + [".made"])):
        log(f"bench/out/sets/typical is missing: making the same 12 photos in {OWN_PHOTOS}")
        shutil.rmtree(OWN_PHOTOS, ignore_errors=True)
        os.makedirs(OWN_PHOTOS)
        make_typical(BACKGROUNDS, OWN_PHOTOS)
        with open(stamp, "w") as f:
            f.write("typical recipe 3\n")
    return OWN_PHOTOS, ("bench/out/thumbor/photos: bench/out/sets/typical was missing, so the "
                        "same recipe (bench/bench.py's typical set) was applied here with the "
                        f"thumbor venv's Pillow {PIL.__version__}")


# --- report --------------------------------------------------------------------------------

def med(rows, key, field):
    return statistics.median(r[field] for r in rows if r["key"] == key)


def run_ratios(rows, a, b, field):
    out = []
    for run in sorted({r["run"] for r in rows}):
        ra = [r for r in rows if r["run"] == run and r["key"] == a]
        rb = [r for r in rows if r["run"] == run and r["key"] == b]
        if ra and rb:
            out.append(ra[0][field] / rb[0][field])
    return out


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                              shell=isinstance(cmd, str)).stdout.strip()
    except Exception:
        return "unknown"


def write_report(args, configs, rows, alone, photos, photos_note, jobs, example_paths, widths,
                 started, elapsed, confs, rendition_argv):
    import thumbor
    import tornado
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]) or "unknown"
    dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "Cargo.toml",
                "Cargo.lock"])
    binary_age = ""
    if dirty:
        binary_age = ("; the work tree had uncommitted changes in src/, and the binary is "
                      "the release build found at target/release/rendition, built "
                      + datetime.datetime.fromtimestamp(os.path.getmtime(args.rendition),
                                                        datetime.timezone.utc)
                      .strftime("%Y-%m-%d %H:%M UTC"))
    rver = sh([args.rendition, "--version"])
    names = sorted({n for n, _ in jobs})
    L = []
    p = L.append
    p("# `rendition serve` against thumbor")
    p("")
    p(f"Written by `bench/thumbor_load.sh` on {started.strftime('%Y-%m-%d %H:%M UTC')} "
      f"({elapsed / 60:.1f} minutes). Loopback only (127.0.0.1). Issue 19.")
    p("")
    p(f"- machine: {os.cpu_count()} CPUs, {cpu}, {mem}, {platform.system()} "
      f"{platform.release()}; shared, so compare the ratios within a run, not absolute "
      f"figures across reports")
    p(f"- versions: {rver} (release build, commit {commit}{binary_age}). thumbor "
      f"{thumbor.__version__} with its Pillow engine, Pillow {PIL.__version__}, tornado "
      f"{tornado.version}, Python {platform.python_version()} (bench/out/thumbor-venv, "
      f"pinned in `bench/thumbor-requirements.txt`)")
    p(f"- photos: {len(names)} JPEGs from {photos_note}:")
    p("")
    p("  | photo | size | MP | bytes |")
    p("  | --- | --- | ---: | ---: |")
    for n in names:
        with Image.open(os.path.join(photos, n)) as im:
            w, h = im.size
        p(f"  | {n} | {w}×{h} | {w * h / 1e6:.2f} | {os.path.getsize(os.path.join(photos, n))} |")
    p("")
    p(f"- the miss set: {len(names)} photos × {len(widths)} widths "
      f"({', '.join(map(str, widths))} px; height follows the aspect ratio) = {len(jobs)} "
      f"distinct renditions, JPEG q{QUALITY}, in one order shuffled with seed {args.seed} "
      f"(the same order for every server and run), fetched by {args.clients} concurrent "
      f"clients (Python threads in one process, each on its own keep-alive connection, "
      f"{REQUEST_TIMEOUT_S} s timeout per request). Then the hit pass: the same {len(jobs)} "
      f"paths {args.hit_rounds} times over ({len(jobs) * args.hit_rounds} requests), same "
      f"clients.")
    p("- checked for every response: status 200, a JPEG exactly the requested width (Pillow); "
      "after the misses, one stored file per rendition; every hit's bytes equal to its "
      "miss's, and no stored file rewritten during the hit pass (same inode and mtime), so "
      "hits were served from the result folder, not rendered again; rendition's "
      "`x-rendition` header says `rendered` on every miss and `hit` on every hit.")
    p(f"- {args.runs} run(s); in each, every server is started fresh on an empty result "
      "folder (the servers one after another, never two at once; the order alternates from "
      "run to run). The table gives the median over the runs of each figure; the ratios are "
      "taken within each run, then the median.")
    p("")
    p("## Results")
    p("")
    p("| server | config | misses/s | miss pass wall s | CPU ms per miss | peak RSS MiB after "
      "the misses | hits/s | CPU ms per hit | threads (idle → after misses) | mean output "
      "bytes | output JPEG |")
    p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |")
    for c in configs:
        k = c["key"]
        rr = [r for r in rows if r["key"] == k]
        p(f"| {c['server']} | {c['label']} | {med(rows, k, 'mps'):.2f} | "
          f"{med(rows, k, 'wall'):.2f} | {med(rows, k, 'cpu_ms'):.1f} | "
          f"{med(rows, k, 'rss_mib'):.1f} | {med(rows, k, 'hps'):.0f} | "
          f"{med(rows, k, 'hcpu_ms'):.2f} | {rr[0]['threads0']} → {rr[0]['threads']} | "
          f"{med(rows, k, 'bytes'):.0f} | {rr[0]['props']} |")
    p("")
    p("Ratios, rendition / thumbor (median of the runs' ratios; the issue's targets: CPU per "
      "miss ≤ 0.5× thumbor's, peak RSS ≤ thumbor's; for misses/s and hits/s above 1 means "
      "rendition is faster):")
    p("")
    p("| rendition row | thumbor row | CPU per miss | target ≤ 0.5 | peak RSS | target ≤ 1 | "
      "misses/s | hits/s |")
    p("| --- | --- | ---: | --- | ---: | --- | ---: | ---: |")
    label = {c["key"]: c["label"] for c in configs}
    for a in [c["key"] for c in configs if c["kind"] == "rendition"]:
        for b in [c["key"] for c in configs if c["kind"] == "thumbor"]:
            cpu_r = statistics.median(run_ratios(rows, a, b, "cpu_ms"))
            rss_r = statistics.median(run_ratios(rows, a, b, "rss_mib"))
            mps_r = statistics.median(run_ratios(rows, a, b, "mps"))
            hps_r = statistics.median(run_ratios(rows, a, b, "hps"))
            p(f"| {label[a]} | {label[b]} | **{cpu_r:.2f}×** | "
              f"{'met' if cpu_r <= 0.5 else 'not met'} | **{rss_r:.2f}×** | "
              f"{'met' if rss_r <= 1 else 'not met'} | {mps_r:.2f}× | {hps_r:.2f}× |")
    p("")
    p("Where the CPU goes: the same 120 renders without a server, in the same run (thumbor's "
      "Pillow engine driven as its handler drives it for a miss: load, resize, read as JPEG "
      f"q{QUALITY}, in one Python process; `rendition render`, one process per width over the "
      "12 photos), against each server's CPU per miss; the difference is what serving a miss "
      "adds (HTTP, signature, reading the source, storing the result, the event loop):")
    p("")
    p("| server row | CPU ms per miss | CPU ms per render alone | serving adds, ms per miss "
      "| miss / render alone |")
    p("| --- | ---: | ---: | ---: | ---: |")
    for c in configs:
        k = c["key"]
        per = []
        for a in alone:
            r = [x for x in rows if x["run"] == a["run"] and x["key"] == k][0]
            per.append((r["cpu_ms"], a[c["kind"]]))
        m = statistics.median(x for x, _ in per)
        e = statistics.median(y for _, y in per)
        p(f"| {c['label']} | {m:.1f} | {e:.1f} | {statistics.median(x - y for x, y in per):.1f} "
          f"| {statistics.median(x / y for x, y in per):.2f}× |")
    e_ratio = statistics.median(a["rendition"] / a["thumbor"] for a in alone)
    p("")
    p(f"- rendition's render alone / thumbor's engine alone: **{e_ratio:.2f}×** CPU. Both "
      "decode JPEG at a reduced DCT scale when the output is small enough (thumbor through "
      "Pillow's `draft`: the 2739-px sunset photo asked for at 320 px is decoded at 343 px, 1/8 "
      "scale), so neither pays for a full decode at small widths.")
    p("")
    p("Every run (the client's own CPU, all four threads, is in the last two columns: on 2 "
      "cores it competes with the server, and the hit pass is mostly the client's Python):")
    p("")
    p("| run | config | miss wall s | misses/s | CPU ms/miss | peak RSS MiB (at start → after "
      "misses → after hits) | hits/s | CPU ms/hit | client CPU s, misses | client CPU s, "
      "hits |")
    p("| ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        p(f"| {r['run']} | {label[r['key']]} | {r['wall']:.2f} | {r['mps']:.2f} | "
          f"{r['cpu_ms']:.1f} | {r['rss0_mib']:.1f} → {r['rss_mib']:.1f} → "
          f"{r['rss_hits_mib']:.1f} | {r['hps']:.0f} | {r['hcpu_ms']:.2f} | "
          f"{r['client_cpu_miss']:.2f} | {r['client_cpu_hit']:.2f} |")
    p("")
    p("## What was measured, exactly")
    p("")
    p("- **misses/s**: the miss set's size over the wall time from the first request sent to "
      "the last response read.")
    p("- **CPU per miss**: utime + stime (and cutime + cstime) of the server's process tree, "
      "read from `/proc/PID/stat` just before and just after the miss pass, over the number "
      "of misses. Both servers are one process here (thumbor `--processes 1`; its thread "
      f"pool's threads are in its process's figure); clock ticks are 1/{CLK_TCK} s.")
    p("- **peak RSS**: `VmHWM` from `/proc/PID/status`, summed over the tree, read right after "
      "the miss pass (the per-run table also has it at start and after the hits).")
    p("- **hits/s**: the hit pass's requests over its wall time; the client is Python, so this "
      "row says more about the client than about nginx-class servers (`bench/SERVE.md` "
      "measures rendition's hits with wrk).")
    p("")
    p("## Configurations")
    p("")
    p("thumbor, started as (the rows differ in `ENGINE_THREADPOOL_SIZE` only; paths shortened):")
    p("")
    p("```sh")
    p("bench/out/thumbor-venv/bin/thumbor --ip 127.0.0.1 --port $PORT --conf thumbor.conf "
      "--processes 1 --log-level warning")
    p("```")
    p("")
    p("```python")
    p(confs[0].rstrip())
    p("```")
    p("")
    p("- URLs are signed with the security key (HMAC-SHA1, libthumbor's `CryptoURL`), "
      "`ALLOW_UNSAFE_URL = False`: both servers verify a signature on every request. "
      f"Shape: `/<signature>/<width>x0/<photo>`, e.g. `{example_paths['thumbor']}` "
      "(height 0: follows the aspect ratio; no crop, no filters, no smart detection).")
    p("- `STORAGE = no_storage`: thumbor's default storage would copy every source it loads "
      "into /tmp/thumbor/storage; with the file loader the sources are already local, and "
      "rendition keeps no such copy either.")
    p("- thumbor's other settings are its defaults, among them `PROGRESSIVE_JPEG = True` (with "
      "`optimize`, so its JPEGs are progressive with optimized Huffman tables: slower to encode "
      "and smaller), `RESPECT_ORIENTATION = False` (none of these photos has an EXIF "
      "orientation), `PILLOW_RESAMPLING_FILTER = 'LANCZOS'`, and the JPEG draft mode "
      "(DCT scaling on decode) its Pillow engine asks for before resizing. Its file result "
      "storage writes a temporary file and renames it, without fsync.")
    p("- the `ENGINE_THREADPOOL_SIZE = 2` row runs the Pillow work on 2 threads beside tornado's "
      "event loop (Pillow releases the GIL while it decodes, resizes and encodes), which is "
      "thumbor's way to use 2 cores in one process; the default 0 does it on the event loop.")
    p("")
    p("rendition, started as:")
    p("")
    p("```sh")
    p(f"RUST_LOG=rendition=warn RENDITION_KEYS=k1:<secret> [MALLOC_ARENA_MAX=2] "
      f"{' '.join(rendition_argv)}")
    p("```")
    p("")
    p(f"- over a folder `$DIR` holding the photos under `photos/`; renditions are stored under "
      f"`$DIR/r/` (the folder store: a temporary file, fdatasync, a link into place). Paths "
      f"from `rendition sign photos/<photo> --width <w> --format jpg --quality {QUALITY}`, e.g. "
      f"`{example_paths['rendition']}`; renders run at most as many at once as there are CPUs "
      f"(the default).")
    p("- the `MALLOC_ARENA_MAX=2` row is the same binary with glibc's malloc limited to 2 "
      "arenas (its default on 64-bit is 8 per CPU), which bounds the memory that freed "
      "render buffers leave behind in per-thread arenas.")
    p("")
    p("## Rerun")
    p("")
    p("```sh")
    p(f"bench/thumbor_load.sh --runs {args.runs}   # --runs N (default 3), --hit-rounds N, "
      "--clients N, --keep; --help")
    p("```")
    p("")
    p("It installs thumbor into `bench/out/thumbor-venv` from `bench/thumbor-requirements.txt` "
      "(once; again when that file changes), uses `target/release/rendition` as it is (never "
      "builds it), takes the photos from `bench/out/sets/typical` (made by `bench/run --sets "
      "typical`; when that is missing, the same recipe is applied into "
      "`bench/out/thumbor/photos`), and leaves its work folders under `bench/out/thumbor/` "
      "only with `--keep`.")
    with open(REPORT, "w") as f:
        f.write("\n".join(L) + "\n")


# --- main ----------------------------------------------------------------------------------

def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--thumbor-engine":
        return thumbor_engine_main(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hit-rounds", type=int, default=25)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--widths", default="320,427,533,640,747,853,960,1067,1173,1280")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--rendition", default=os.path.join(ROOT, "target", "release", "rendition"))
    ap.add_argument("--no-arena-row", action="store_true",
                    help="leave out the rendition MALLOC_ARENA_MAX=2 row")
    ap.add_argument("--keep", action="store_true", help="keep the work folders")
    args = ap.parse_args()
    for name, v, hi in (("--runs", args.runs, 10), ("--hit-rounds", args.hit_rounds, 50),
                        ("--clients", args.clients, 32)):
        if not 1 <= v <= hi:
            raise SystemExit(f"thumbor_load: {name} must be 1..{hi}")
    widths = [int(w) for w in args.widths.split(",")]
    if not widths or len(widths) > 40 or not all(16 <= w <= 4096 for w in widths):
        raise SystemExit("thumbor_load: --widths: 1 to 40 widths of 16..4096 px")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.monotonic()
    os.makedirs(os.path.join(OUT, "thumbor"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="work.", dir=os.path.join(OUT, "thumbor"))
    try:
        src, photos_note = photos_dir()
        # A snapshot for this run of the script: bench/run may remake bench/out/sets meanwhile.
        photos = os.path.join(work, "photos")
        os.makedirs(photos)
        for f in sorted(os.listdir(src)):
            if f.endswith(".jpg"):
                shutil.copyfile(os.path.join(src, f), os.path.join(photos, f))
        names = sorted(f for f in os.listdir(photos) if f.endswith(".jpg"))
        if len(names) != 12:
            raise SystemExit(f"thumbor_load: {src} holds {len(names)} JPEGs, not 12")
        narrow = []
        for n in names:
            with Image.open(os.path.join(photos, n)) as im:
                if im.width < max(widths):
                    narrow.append(f"{n} ({im.width} px)")
        if narrow:
            raise SystemExit("thumbor_load: photos narrower than the widest width (neither "
                             "server would give the width asked for): " + ", ".join(narrow))
        jobs = [(n, w) for n in names for w in widths]
        random.Random(args.seed).shuffle(jobs)
        rpaths = rendition_paths(args.rendition, jobs)
        paths = {"thumbor": [thumbor_path(n, w) for n, w in jobs],
                 "rendition": [rpaths[j] for j in jobs]}
        example_paths = {k: v[0] for k, v in paths.items()}

        configs = [
            {"key": "thumbor", "kind": "thumbor", "server": "thumbor", "pool": 0,
             "label": "thumbor, ENGINE_THREADPOOL_SIZE=0 (default)"},
            {"key": "thumbor-pool2", "kind": "thumbor", "server": "thumbor", "pool": 2,
             "label": "thumbor, ENGINE_THREADPOOL_SIZE=2"},
            {"key": "rendition", "kind": "rendition", "server": "rendition",
             "label": "rendition serve"},
        ]
        if not args.no_arena_row:
            configs.append({"key": "rendition-arena2", "kind": "rendition",
                            "server": "rendition", "env": {"MALLOC_ARENA_MAX": "2"},
                            "label": "rendition serve, MALLOC_ARENA_MAX=2"})
        rows, alone = [], []
        for run in range(1, args.runs + 1):
            order = configs if run % 2 else list(reversed(configs))
            for cfg in order:
                log(f"== run {run}/{args.runs}: {cfg['label']}")
                r = one(cfg, run, work, photos, args.rendition, jobs,
                        paths[cfg["kind"]], args.clients, args.hit_rounds)
                log(f"   {r['mps']:.2f} misses/s ({r['wall']:.2f} s), {r['cpu_ms']:.1f} ms "
                    f"CPU per miss, peak RSS {r['rss_mib']:.1f} MiB, {r['hps']:.0f} hits/s, "
                    f"{r['bytes']:.0f} bytes per output")
                rows.append(r)
            alone.append({"run": run,
                          "thumbor": thumbor_engine_cpu(photos, jobs),
                          "rendition": rendition_render_cpu(args.rendition, photos, jobs, work)})
            log(f"   renders alone: thumbor's engine {alone[-1]['thumbor']:.1f} ms CPU per "
                f"render, rendition render {alone[-1]['rendition']:.1f} ms")
        confs = [thumbor_conf("$PHOTOS", "$WORK/result_storage", p) for p in (0,)]
        rendition_argv = ["rendition", "serve", "--dir", "$DIR", "--addr", "127.0.0.1:$PORT"]
        write_report(args, configs, rows, alone, photos, photos_note, jobs, example_paths,
                     widths, started, time.monotonic() - t_start, confs, rendition_argv)
        with open(os.path.join(OUT, "thumbor", "rows.json"), "w") as f:
            json.dump({"rows": rows, "alone": alone}, f, indent=1)
        log(f"wrote {REPORT} ({(time.monotonic() - t_start) / 60:.1f} minutes)")
    finally:
        stop_all()
        if args.keep:
            log(f"thumbor_load: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
