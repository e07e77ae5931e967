"""Lambda cold start: exec -> first response, under a minimal runtime API on loopback.

Usage: python3 bench/coldstart.py BINARY EVENT.json [RUNS]
Starts BINARY RUNS times (default 10) with AWS_LAMBDA_RUNTIME_API pointing at a one-shot
runtime API server on 127.0.0.1, hands it EVENT, and reports the time from exec to the posted
response. The function's own configuration (RENDITION_*, AWS_*) comes from the environment,
for example a local S3-compatible server via AWS_ENDPOINT_URL.
"""
import http.server, json, os, subprocess, sys, threading, time

event = open(sys.argv[2]).read().encode()
binary = sys.argv[1]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
results = []

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path.endswith("/invocation/next"):
            if self.server.served:
                time.sleep(30); return
            self.server.served = True
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "req-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 25000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:rendition")
            self.send_header("Content-Type", "application/json")
            self.end_headers(); self.wfile.write(event)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0)); body = self.rfile.read(n)
        self.server.done = time.perf_counter(); self.server.body = body
        self.send_response(202); self.end_headers()

for i in range(runs):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.served = False; srv.done = None
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{srv.server_address[1]}",
               AWS_LAMBDA_FUNCTION_NAME="rendition", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1769",
               AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_LOG_STREAM_NAME="x", AWS_LAMBDA_LOG_GROUP_NAME="x")
    t0 = time.perf_counter()
    p = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = t0 + 20
    while srv.done is None and time.perf_counter() < deadline:
        time.sleep(0.0005)
    p.kill(); p.wait(); srv.shutdown()
    if srv.done is None:
        print("no response within 20 s"); sys.exit(1)
    results.append((srv.done - t0) * 1000)
    status = json.loads(srv.body).get("statusCode")
results.sort()
print(f"cold start (exec -> first response), {runs} runs: median {results[len(results)//2]:.1f} ms, min {results[0]:.1f} ms, max {results[-1]:.1f} ms; last status {status}")
