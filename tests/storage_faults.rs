//! Storage faults: a fault-injecting proxy on loopback between rendition's S3 store and an
//! S3-compatible server (moto's and s3s-fs, each test against both: `moto::NAME`,
//! `s3s_fs::NAME`). Each kind of call the miss path makes (the lookup of the rendition key, the
//! source read, the create-only write, the source check after storing) meets each kind of
//! fault (500, 503 SlowDown, a reset mid-body, a body shorter than its Content-Length, a stall
//! before the answer and one inside the body), once and for good. A fault once is retried
//! away: the answer is the image. A fault for good gets a bounded answer (502, 503 with
//! Retry-After, 504) within the budget plus a small margin, never a hang. Either way whatever
//! is stored under the rendition's key is the whole, right image, and once the fault is gone
//! the same URL renders.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{jpeg, S3Server};
use http::{Method, StatusCode};
use rendition::ops::{Format, Ops};
use rendition::service::{Answer, Config};
use rendition::store::{S3Store, Timeouts};
use rendition::{Limits, Service};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BUCKET: &str = "faults";
/// The render budget of these tests: short, so that stalls end quickly, with room for the
/// slowest case that must still answer the image (a stall, the 1-s client limit, a backoff,
/// then a render and a store, 48 cases at once in a debug build): 4 s failed 1 to 12 cases on
/// a 2-core machine with one other busy process.
const BUDGET_MS: u64 = 8000;
/// How long a stalled connection is held before the proxy lets it go (bounds every stall).
const STALL: Duration = Duration::from_secs(30);

/// Short client limits, so that a stall is noticed within the budget. The operation limit
/// leaves a whole attempt after one that timed out: a stall inside an error answer (the 404 of
/// a lookup, which the SDK reads whole) is caught by the attempt limit, and with 3 s for the
/// operation, the retry had 1 s left, which a loaded 2-core machine missed about once in ten
/// runs (`Lookup × StallMidBody × once` answered 502 at 3,001 ms).
fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(1),
        first_byte: Duration::from_secs(1),
        attempt: Duration::from_secs(2),
        operation: Duration::from_secs(4),
        body_idle: Duration::from_secs(1),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// GET of a rendition key.
    Lookup,
    /// GET of a source.
    SourceRead,
    /// PUT of a rendition.
    Put,
    /// HEAD of a source (the check after storing).
    Head,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    InternalError,
    SlowDown,
    /// The answer cut in the middle of its body by a TCP reset.
    Reset,
    /// The answer cut in the middle of its body by a clean close.
    ShortBody,
    /// No answer at all.
    Stall,
    /// The head and half the body, then nothing.
    StallMidBody,
}

const CALLS: [Call; 4] = [Call::Lookup, Call::SourceRead, Call::Put, Call::Head];
const FAULTS: [Fault; 6] = [
    Fault::InternalError,
    Fault::SlowDown,
    Fault::Reset,
    Fault::ShortBody,
    Fault::Stall,
    Fault::StallMidBody,
];

struct Rule {
    call: Call,
    /// Only requests whose target contains this (each case has its own source).
    needle: String,
    fault: Fault,
    remaining: u32,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    /// Every classified request seen, with its target.
    seen: Vec<(Call, String)>,
}

/// A loopback proxy that forwards one request per connection to `upstream` unless a rule
/// says otherwise.
struct Proxy {
    endpoint: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(relay(conn, upstream, shared.clone()));
            }
        });
        Proxy {
            endpoint,
            state,
            task,
        }
    }

    fn inject(&self, call: Call, needle: &str, fault: Fault, times: u32) {
        self.state.lock().unwrap().rules.push(Rule {
            call,
            needle: needle.to_string(),
            fault,
            remaining: times,
        });
    }

    fn clear(&self, needle: &str) {
        self.state
            .lock()
            .unwrap()
            .rules
            .retain(|r| r.needle != needle);
    }

    fn count(&self, call: Call, needle: &str) -> usize {
        let state = self.state.lock().unwrap();
        state
            .seen
            .iter()
            .filter(|(c, t)| *c == call && t.contains(needle))
            .count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Whether `body` holds a whole chunked body (through the last chunk and its trailers).
fn chunked_complete(body: &[u8]) -> bool {
    let mut pos = 0;
    for _ in 0..100_000 {
        let Some(eol) = find(&body[pos..], b"\r\n") else {
            return false;
        };
        let line = String::from_utf8_lossy(&body[pos..pos + eol]);
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16);
        let Ok(size) = size else { return false };
        pos += eol + 2;
        if size == 0 {
            let rest = &body[pos..];
            return rest.starts_with(b"\r\n") || find(rest, b"\r\n\r\n").is_some();
        }
        pos += size + 2;
        if pos > body.len() {
            return false;
        }
    }
    false
}

/// Reads one request: its head and its whole body, as framed on the wire.
async fn read_request(conn: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    if header_value(&head, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .ok()?;
    }
    let mut body = buf[head_end..].to_vec();
    let length = header_value(&head, "content-length").and_then(|v| v.parse::<usize>().ok());
    let chunked = header_value(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked"));
    loop {
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => chunked_complete(&body),
            None => true,
        };
        if done {
            return Some((head, body));
        }
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
}

fn classify(head: &str) -> Option<(Call, String)> {
    let mut parts = head.split(' ');
    let method = parts.next()?;
    let target = parts.next()?.to_string();
    let path = target.split('?').next()?;
    // Path-style: /bucket/key.
    let key = path.strip_prefix(&format!("/{BUCKET}/"))?;
    let call = match method {
        "GET" if key.starts_with("r/") => Call::Lookup,
        "GET" if !target.contains("list-type") => Call::SourceRead,
        "PUT" => Call::Put,
        "HEAD" => Call::Head,
        _ => return None,
    };
    Some((call, target))
}

/// The request as sent upstream: on its own connection, closed after the answer.
fn upstream_head(head: &str) -> String {
    let mut out = String::new();
    for line in head.trim_end_matches("\r\n").split("\r\n") {
        let name = line.split(':').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("expect") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

async fn forward(upstream: SocketAddr, head: &str, body: &[u8]) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).await.ok()?;
    up.write_all(upstream_head(head).as_bytes()).await.ok()?;
    up.write_all(body).await.ok()?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), up.read_to_end(&mut answer))
        .await
        .ok()?
        .ok()?;
    Some(answer)
}

/// Where to cut an answer: in the middle of its body, or of its head when it has no body.
fn cut_point(answer: &[u8]) -> usize {
    let head = find(answer, b"\r\n\r\n").map_or(answer.len(), |i| i + 4);
    let body = answer.len() - head;
    if body > 1 {
        head + body / 2
    } else {
        head / 2
    }
}

fn error_answer(status: &str, code: &str, with_body: bool) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>injected</Message><RequestId>1</RequestId></Error>"
    );
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    if with_body {
        out.push_str(&body);
    }
    out.into_bytes()
}

async fn relay(mut conn: TcpStream, upstream: SocketAddr, state: Arc<Mutex<State>>) {
    let Some((head, body)) = read_request(&mut conn).await else {
        return;
    };
    let classified = classify(&head);
    let fault = classified.as_ref().and_then(|(call, target)| {
        let mut state = state.lock().unwrap();
        state.seen.push((*call, target.clone()));
        let rule = state
            .rules
            .iter_mut()
            .find(|r| r.call == *call && r.remaining > 0 && target.contains(&r.needle))?;
        rule.remaining -= 1;
        Some(rule.fault)
    });
    let with_body = !head.starts_with("HEAD ");
    let answer = match fault {
        Some(Fault::InternalError) => {
            error_answer("500 Internal Server Error", "InternalError", with_body)
        }
        Some(Fault::SlowDown) => error_answer("503 Slow Down", "SlowDown", with_body),
        Some(Fault::Stall) => {
            tokio::time::sleep(STALL).await;
            return;
        }
        _ => match forward(upstream, &head, &body).await {
            Some(answer) => answer,
            None => return,
        },
    };
    match fault {
        Some(Fault::Reset) => {
            let _ = conn.write_all(&answer[..cut_point(&answer)]).await;
            let _ = conn.set_zero_linger();
        }
        Some(Fault::ShortBody) => {
            let _ = conn.write_all(&answer[..cut_point(&answer)]).await;
            let _ = conn.shutdown().await;
        }
        Some(Fault::StallMidBody) => {
            let _ = conn.write_all(&answer[..cut_point(&answer)]).await;
            tokio::time::sleep(STALL).await;
        }
        _ => {
            let _ = conn.write_all(&answer).await;
            let _ = conn.shutdown().await;
        }
    }
}

fn service(endpoint: &str) -> Service {
    let client = S3Store::client_with(&common::sdk_config(endpoint), true, timeouts());
    let store = S3Store::new(client, BUCKET).with_body_idle_timeout(timeouts().body_idle);
    let config = Config {
        limits: Limits {
            render_timeout_ms: BUDGET_MS,
            ..Limits::default()
        },
        answer: Answer::Bytes,
        ..Config::default()
    };
    Service::new(Arc::new(store), common::keys(), config)
}

fn rendition_path(source: &str) -> String {
    let ops = Ops {
        width: Some(120),
        ..Ops::default()
    };
    common::keys().sign_new(source, ops, Format::Png).unwrap()
}

/// Whatever is stored under `key` is the whole, right rendition: a PNG that decodes to 120×80.
async fn check_stored(s3: &aws_sdk_s3::Client, key: &str) -> Option<Vec<u8>> {
    let out = s3.get_object().bucket(BUCKET).key(key).send().await.ok()?;
    let bytes = out.body.collect().await.unwrap().into_bytes().to_vec();
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{key} is stored but does not decode: {e}"));
    assert_eq!(
        (img.width(), img.height()),
        (120, 80),
        "{key} has the wrong size"
    );
    Some(bytes)
}

#[derive(Debug)]
struct Outcome {
    case: String,
    status: StatusCode,
    elapsed: Duration,
    failure: Option<String>,
}

/// One call × fault × times on a source of its own; returns what went wrong, if anything.
async fn run_case(
    proxy: Arc<Proxy>,
    s3: aws_sdk_s3::Client,
    call: Call,
    fault: Fault,
    times: u32,
) -> Outcome {
    let source = format!("src/{call:?}-{fault:?}-{times}.jpg");
    s3.put_object()
        .bucket(BUCKET)
        .key(&source)
        .body(jpeg(600, 400).into())
        .send()
        .await
        .unwrap();
    let path = rendition_path(&source);
    let needle = format!("{call:?}-{fault:?}-{times}.jpg");
    proxy.inject(call, &needle, fault, times);
    let svc = service(&proxy.endpoint);
    let started = Instant::now();
    let r = svc.miss(&Method::GET, &path).await;
    let elapsed = started.elapsed();
    let status = r.status();
    let case = format!(
        "{call:?} × {fault:?} × {}",
        if times == 1 { "once" } else { "for good" }
    );
    let mut failure = Vec::new();

    // Bounded: the budget, plus the source check after storing for a fault there, plus a margin.
    let bound = Duration::from_millis(BUDGET_MS)
        + if call == Call::Head {
            Duration::from_secs(3)
        } else {
            Duration::ZERO
        }
        + Duration::from_millis(1500);
    if elapsed > bound {
        failure.push(format!("answered after {elapsed:?}, over {bound:?}"));
    }
    let once = times == 1;
    // The source check after storing never turns a stored rendition into an error. A write
    // whose answer is cut reached S3 whole: the SDK's retry is refused with 412 (If-None-Match),
    // and the status line of that answer arrives before its cut body, so the rendition is
    // known to be stored and is answered.
    let expect_success = once
        || call == Call::Head
        || (call == Call::Put && matches!(fault, Fault::Reset | Fault::ShortBody));
    if expect_success {
        if status != StatusCode::OK {
            failure.push(format!("{status} where the image was expected"));
        }
    } else {
        let allowed: &[StatusCode] = match fault {
            Fault::InternalError | Fault::Reset | Fault::ShortBody => &[StatusCode::BAD_GATEWAY],
            Fault::SlowDown => &[StatusCode::SERVICE_UNAVAILABLE],
            Fault::Stall | Fault::StallMidBody => {
                &[StatusCode::BAD_GATEWAY, StatusCode::GATEWAY_TIMEOUT]
            }
        };
        if !allowed.contains(&status) {
            failure.push(format!("{status}, expected one of {allowed:?}"));
        }
        let cache = r
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap());
        if cache != Some("public, max-age=5") {
            failure.push(format!("cache-control {cache:?}"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE
            && r.headers().get("retry-after").map(|v| v.to_str().unwrap()) != Some("5")
        {
            failure.push("a 503 without Retry-After: 5".into());
        }
    }
    if status == StatusCode::OK {
        let img = image::load_from_memory(r.body()).map(|i| (i.width(), i.height()));
        if img.ok() != Some((120, 80)) {
            failure.push("answered with something other than the 120×80 image".into());
        }
    }
    check_stored(&s3, &path[1..]).await;

    // The fault is gone: the same URL renders (or finds what a cut-off answer stored).
    proxy.clear(&needle);
    let again = service(&proxy.endpoint).miss(&Method::GET, &path).await;
    if again.status() != StatusCode::OK {
        failure.push(format!("{} once the fault was gone", again.status()));
    }
    let stored = check_stored(&s3, &path[1..]).await;
    if stored.as_deref() != Some(&again.body()[..]) {
        failure.push("the stored object is not what was answered".into());
    }
    Outcome {
        case,
        status,
        elapsed,
        failure: (!failure.is_empty()).then(|| failure.join("; ")),
    }
}

/// How many `run_all`s run at once, whatever the number of servers: each starts 24 cases with
/// tight time limits, and four at once on 2 cores (two servers × once, for good) would eat the
/// margin the limits leave.
static RUNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Where the proxy sends what it lets through: the server's loopback address.
fn address_of(server: &S3Server) -> SocketAddr {
    let address = server.endpoint.trim_start_matches("http://");
    address
        .parse()
        .expect("the server's endpoint is http://IP:PORT")
}

async fn run_all(server: &S3Server, times: u32) {
    let _turn = RUNS.acquire().await.expect("never closed");
    let s3 = server.bucket(BUCKET).await;
    let upstream = address_of(server);
    let proxy = Arc::new(Proxy::start(upstream).await);
    let mut cases = tokio::task::JoinSet::new();
    for call in CALLS {
        for fault in FAULTS {
            cases.spawn(run_case(proxy.clone(), s3.clone(), call, fault, times));
        }
    }
    let mut failures = Vec::new();
    while let Some(outcome) = cases.join_next().await {
        let o = outcome.expect("case ran");
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "{:32} {} in {:>5} ms{}",
            o.case,
            o.status.as_u16(),
            o.elapsed.as_millis(),
            o.failure
                .as_deref()
                .map(|f| format!(": {f}"))
                .unwrap_or_default()
        );
        if let Some(f) = o.failure {
            failures.push(format!("{}: {f}", o.case));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

crate::each_s3_server! {
    (flavor = "multi_thread", worker_threads = 4) a_fault_once_is_retried_away,
    (flavor = "multi_thread", worker_threads = 4) a_fault_for_good_gets_a_bounded_answer_and_stores_nothing_wrong,
    (flavor = "multi_thread", worker_threads = 2) serve_looks_up_once_per_miss_and_counts_failed_lookups,
}

async fn a_fault_once_is_retried_away(server: &S3Server) {
    run_all(server, 1).await;
}

async fn a_fault_for_good_gets_a_bounded_answer_and_stores_nothing_wrong(server: &S3Server) {
    run_all(server, u32::MAX).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_is_down_answers_502_quickly() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let svc = service(&format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    let r = svc.miss(&Method::GET, &rendition_path("src/a.jpg")).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(started.elapsed() < Duration::from_millis(BUDGET_MS));
    assert_eq!(r.headers()["cache-control"], "public, max-age=5");
}

/// `rendition serve`'s HTTP server looks a key up once per miss (not once in the server and
/// again in the service), counts a failed lookup, and answers it in bounded time.
async fn serve_looks_up_once_per_miss_and_counts_failed_lookups(server: &S3Server) {
    let s3 = server.bucket(BUCKET).await;
    let upstream = address_of(server);
    let proxy = Proxy::start(upstream).await;
    for name in ["once.jpg", "stalled.jpg"] {
        s3.put_object()
            .bucket(BUCKET)
            .key(format!("src/{name}"))
            .body(jpeg(600, 400).into())
            .send()
            .await
            .unwrap();
    }
    let service = Arc::new(service(&proxy.endpoint));
    let addr = rendition::server::spawn("127.0.0.1:0".parse().unwrap(), service.clone())
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");

    let path = rendition_path("src/once.jpg");
    let r = client.get(url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-rendition"], "rendered");
    assert_eq!(
        proxy.count(Call::Lookup, "once.jpg"),
        1,
        "one lookup per miss"
    );
    let r = client.get(url(&path)).send().await.unwrap();
    assert_eq!(r.headers()["x-rendition"], "hit");
    assert_eq!(proxy.count(Call::Lookup, "once.jpg"), 2);

    let path = rendition_path("src/stalled.jpg");
    proxy.inject(Call::Lookup, "stalled.jpg", Fault::Stall, u32::MAX);
    let started = Instant::now();
    let r = client.get(url(&path)).send().await.unwrap();
    assert!([502, 504].contains(&r.status().as_u16()), "{}", r.status());
    assert!(started.elapsed() < Duration::from_millis(BUDGET_MS + 1500));
    let stats: serde_json::Value = client
        .get(url("/_rendition/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["lookup_errors"], 1, "{stats}");
    assert_eq!(stats["errors"], 1, "{stats}");
}
