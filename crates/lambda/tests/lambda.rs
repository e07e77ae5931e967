//! The Lambda handler end to end against real S3-compatible servers (moto and s3s-fs, over HTTP
//! on loopback): events in, HTTP responses out, objects checked in the bucket. Each test runs
//! against both (`moto::NAME`, `s3s_fs::NAME`) but the two of concurrent misses on one key,
//! which need atomic writes: moto only.

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use common::{jpeg, keys, list_keys, Moto, S3Server};
use lambda_http::{Body, Response};
use rendition::ops::{Format, Ops};
use rendition::service::{Answer, Config};
use rendition::store::{S3Store, IMMUTABLE};
use rendition::Limits;
use rendition::Service;

const BUCKET: &str = "renditions";

/// A function-URL event (the shape CloudFront's origin request arrives in) for `path`.
fn event(method: &str, path: &str) -> lambda_http::Request {
    let template = std::fs::read_to_string(event_file("function-url-miss")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&template).unwrap();
    v["rawPath"] = path.into();
    v["requestContext"]["http"]["path"] = path.into();
    v["requestContext"]["http"]["method"] = method.into();
    lambda_http::request::from_str(&v.to_string()).expect("valid event")
}

fn fixture(name: &str) -> lambda_http::Request {
    let json = std::fs::read_to_string(event_file(name)).unwrap();
    lambda_http::request::from_str(&json).unwrap_or_else(|e| panic!("events/{name}.json: {e}"))
}

crate::each_s3_server! {
    (flavor = "multi_thread", worker_threads = 2) miss_redirects_stores_and_then_answers_bytes,
    (flavor = "multi_thread", worker_threads = 2) negotiated_keys_render_and_bare_auto_paths_are_refused,
    (flavor = "multi_thread", worker_threads = 2) inline_mode_answers_with_the_image,
    (flavor = "multi_thread", worker_threads = 2) every_error_status_writes_nothing,
    (flavor = "multi_thread", worker_threads = 2) event_fixtures_through_the_handler,
    (flavor = "current_thread") each_request_logs_one_json_line_and_one_metrics_record_without_secrets,
}

async fn setup(server: &S3Server) -> aws_sdk_s3::Client {
    let s3 = server.bucket(BUCKET).await;
    let put = |key: &'static str, bytes: Vec<u8>| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket(BUCKET)
                .key(key)
                .body(bytes.into())
                .send()
                .await
                .unwrap()
        }
    };
    put("photos/sample.jpg", jpeg(1200, 800)).await;
    put("photos/text.jpg", b"not an image at all".to_vec()).await;
    let mut truncated = jpeg(1200, 800);
    truncated.truncate(500);
    put("photos/truncated.jpg", truncated).await;
    put("photos/huge.jpg", jpeg(4000, 3000)).await;
    s3
}

fn service(s3: &aws_sdk_s3::Client, answer: Answer, limits: Limits) -> Service {
    let store = Arc::new(S3Store::new(s3.clone(), BUCKET));
    Service::new(
        store,
        keys(),
        Config {
            answer,
            limits,
            ..Config::default()
        },
    )
}

fn sign(source: &str, ops: Ops, format: impl Into<rendition::auto::Output>) -> String {
    keys().sign_new(source, ops, format).unwrap()
}

fn header<'a>(r: &'a Response<Body>, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

fn body_bytes(r: &Response<Body>) -> Vec<u8> {
    match r.body() {
        Body::Binary(b) => b.clone(),
        Body::Text(t) => t.as_bytes().to_vec(),
        Body::Empty => Vec::new(),
    }
}

async fn miss_redirects_stores_and_then_answers_bytes(server: &S3Server) {
    let s3 = setup(server).await;
    let svc = service(&s3, Answer::Redirect, Limits::default());
    let path = sign(
        "photos/sample.jpg",
        Ops {
            width: Some(300),
            height: Some(300),
            ..Ops::default()
        },
        Format::Webp,
    );

    let r = rendition_lambda::handle(&svc, event("GET", &path)).await;
    assert_eq!(r.status(), 302);
    assert_eq!(
        header(&r, "location"),
        path,
        "redirect to the very same URL"
    );
    assert_eq!(header(&r, "cache-control"), "no-store");

    let key = &path[1..];
    let head = s3
        .head_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("image/webp"));
    assert_eq!(head.cache_control(), Some(IMMUTABLE));
    let stored = s3
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let img = image::load_from_memory(&stored).unwrap();
    assert_eq!((img.width(), img.height()), (300, 300));

    // The object exists now: the loop breaker answers with its bytes, never another redirect.
    let r = rendition_lambda::handle(&svc, event("GET", &path)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-rendition"), "existing");
    assert_eq!(header(&r, "content-type"), "image/webp");
    assert_eq!(header(&r, "cache-control"), IMMUTABLE);
    assert_eq!(body_bytes(&r), stored.to_vec());

    // A fresh Lambda instance (no in-process state) behaves the same.
    let fresh = service(&s3, Answer::Redirect, Limits::default());
    assert_eq!(
        rendition_lambda::handle(&fresh, event("GET", &path))
            .await
            .status(),
        200
    );
}

/// Format auto behind CloudFront: the viewer-request function rewrites `…/w300.auto` to a
/// negotiated key before the cache, so the function renders negotiated keys and redirects the
/// viewer back to the auto path; an auto path that arrives unrewritten is a 400.
async fn negotiated_keys_render_and_bare_auto_paths_are_refused(server: &S3Server) {
    let s3 = setup(server).await;
    let svc = service(&s3, Answer::Redirect, Limits::default());
    let ops = Ops {
        width: Some(300),
        ..Ops::default()
    };
    let auto = sign("photos/sample.jpg", ops, rendition::auto::Auto::Auto);
    let r = rendition_lambda::handle(&svc, event("GET", &auto)).await;
    assert_eq!(r.status(), 400);
    assert!(String::from_utf8_lossy(&body_bytes(&r)).contains("viewer-request function"));
    assert_eq!(list_keys(&s3, BUCKET, "r/").await, Vec::<String>::new());

    for (choice, content_type) in [
        ("avif", "image/avif"),
        ("webp", "image/webp"),
        ("jpg", "image/jpeg"),
    ] {
        let key = format!("{auto}.{choice}");
        let r = rendition_lambda::handle(&svc, event("GET", &key)).await;
        assert_eq!(r.status(), 302, "{choice}");
        assert_eq!(header(&r, "location"), auto, "{choice}");
        let head = s3
            .head_object()
            .bucket(BUCKET)
            .key(&key[1..])
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_type(), Some(content_type), "{choice}");
    }
    let mut stored = list_keys(&s3, BUCKET, "r/").await;
    stored.sort();
    assert_eq!(
        stored,
        ["avif", "jpg", "webp"].map(|c| format!("{}.{c}", &auto[1..]))
    );
    // A choice outside the auto format's is refused before any read.
    let r = rendition_lambda::handle(&svc, event("GET", &format!("{auto}.png"))).await;
    assert_eq!(r.status(), 400);
}

async fn inline_mode_answers_with_the_image(server: &S3Server) {
    let s3 = setup(server).await;
    let svc = service(
        &s3,
        Answer::Inline {
            max_bytes: 4_400_000,
        },
        Limits::default(),
    );
    let path = sign(
        "photos/sample.jpg",
        Ops {
            width: Some(200),
            ..Ops::default()
        },
        Format::Jpeg,
    );
    let r = rendition_lambda::handle(&svc, event("GET", &path)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), IMMUTABLE);
    assert_eq!(header(&r, "x-rendition"), "rendered");
    assert!(
        matches!(r.body(), Body::Binary(_)),
        "binary body, base64-encoded by the runtime"
    );
    let body = body_bytes(&r);
    let mut d = jpeg_decoder::Decoder::new(&body[..]);
    d.decode().unwrap();
    assert_eq!(d.info().unwrap().width, 200);
    assert_eq!(
        list_keys(&s3, BUCKET, "r/").await,
        vec![path[1..].to_string()],
        "stored as well"
    );

    // Too big to answer inline: stored, then redirected to.
    let svc = service(&s3, Answer::Inline { max_bytes: 100 }, Limits::default());
    let path = sign(
        "photos/sample.jpg",
        Ops {
            width: Some(201),
            ..Ops::default()
        },
        Format::Jpeg,
    );
    let r = rendition_lambda::handle(&svc, event("GET", &path)).await;
    assert_eq!(r.status(), 302);
}

async fn every_error_status_writes_nothing(server: &S3Server) {
    let s3 = setup(server).await;
    let limits = Limits {
        max_source_bytes: 2_000_000,
        max_source_pixels: 5_000_000,
        ..Limits::default()
    };
    let svc = service(&s3, Answer::Redirect, limits);
    let good = sign(
        "photos/sample.jpg",
        Ops {
            width: Some(100),
            ..Ops::default()
        },
        Format::Jpeg,
    );
    let other = rendition::KeyRing::from_spec("zz:0123456789abcdef0123456789abcdef").unwrap();
    let cases: Vec<(String, &str, u16)> = vec![
        (good.replace("w100", "w0100"), "GET", 400),
        (good.replace("/w100.jpg", "/w100.JPG"), "GET", 400),
        ("/r/garbage".into(), "GET", 400),
        (good.replace("w100", "w99"), "GET", 403),
        (
            other
                .sign_new("photos/sample.jpg", Ops::default(), Format::Jpeg)
                .unwrap(),
            "GET",
            403,
        ),
        (
            sign("r/t1.x/-/a.jpg", Ops::default(), Format::Jpeg),
            "GET",
            403,
        ),
        (
            sign(
                "photos/none.jpg",
                Ops {
                    width: Some(10),
                    ..Ops::default()
                },
                Format::Jpeg,
            ),
            "GET",
            404,
        ),
        (
            sign(
                "photos/huge.jpg",
                Ops {
                    width: Some(10),
                    ..Ops::default()
                },
                Format::Jpeg,
            ),
            "GET",
            413,
        ),
        (
            sign(
                "photos/sample.jpg",
                Ops {
                    width: Some(30_000),
                    enlarge: true,
                    ..Ops::default()
                },
                Format::Jpeg,
            ),
            "GET",
            413,
        ),
        (
            sign(
                "photos/text.jpg",
                Ops {
                    width: Some(10),
                    ..Ops::default()
                },
                Format::Jpeg,
            ),
            "GET",
            415,
        ),
        (
            sign(
                "photos/truncated.jpg",
                Ops {
                    width: Some(10),
                    ..Ops::default()
                },
                Format::Jpeg,
            ),
            "GET",
            422,
        ),
        (good.clone(), "POST", 405),
    ];
    for (path, method, status) in &cases {
        let r = rendition_lambda::handle(&svc, event(method, path)).await;
        assert_eq!(r.status().as_u16(), *status, "{method} {path}");
        assert!(
            header(&r, "cache-control").starts_with("public, max-age="),
            "{path}: short explicit max-age"
        );
        assert!(!header(&r, "x-rendition-error").is_empty());
    }

    // Pixel limit from the header: 4000x3000 is over 5 MP (with room under the byte limit).
    let svc_px = service(
        &s3,
        Answer::Redirect,
        Limits {
            max_source_pixels: 5_000_000,
            ..Limits::default()
        },
    );
    let r = rendition_lambda::handle(
        &svc_px,
        event(
            "GET",
            &sign(
                "photos/huge.jpg",
                Ops {
                    width: Some(9),
                    ..Ops::default()
                },
                Format::Jpeg,
            ),
        ),
    )
    .await;
    assert_eq!(r.status(), 413);

    // Over the time budget.
    let slow = service(
        &s3,
        Answer::Redirect,
        Limits {
            render_timeout_ms: 1,
            ..Limits::default()
        },
    );
    let path = sign(
        "photos/huge.jpg",
        Ops {
            width: Some(2000),
            ..Ops::default()
        },
        Format::Png,
    );
    assert_eq!(
        rendition_lambda::handle(&slow, event("GET", &path))
            .await
            .status(),
        504
    );

    // Storage failure: the renditions bucket does not exist or, on s3s-fs (which answers a
    // read in a missing bucket with NoSuchKey, a 404), the server refuses the function's key.
    let broken = match server.s3_with_wrong_secret() {
        Some(refused) if !server.kind.reports_missing_buckets() => S3Store::new(refused, BUCKET),
        _ => S3Store::new(s3.clone(), "no-such-bucket"),
    };
    let broken = Service::new(Arc::new(broken), keys(), Config::default());
    let r = rendition_lambda::handle(&broken, event("GET", &good)).await;
    assert_eq!(r.status(), 502);
    assert_eq!(header(&r, "cache-control"), "public, max-age=5");

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        list_keys(&s3, BUCKET, "r/").await.is_empty(),
        "an error wrote an object"
    );
}

// Concurrent misses on one key need atomic writes, which s3s-fs lacks (a concurrent reader can
// find the object before its Content-Type: `common::S3Impl::atomic_puts`): moto only.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_store_one_object() {
    let Some(server) = Moto::start() else { return };
    let s3 = setup(&server).await;
    let path = sign(
        "photos/sample.jpg",
        Ops {
            width: Some(640),
            height: Some(480),
            ..Ops::default()
        },
        Format::Webp,
    );
    // Four function instances (no shared memory), five concurrent requests each.
    let instances: Vec<Arc<Service>> = (0..4)
        .map(|_| Arc::new(service(&s3, Answer::Redirect, Limits::default())))
        .collect();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (svc, path) = (instances[i % 4].clone(), path.clone());
            tokio::spawn(async move { rendition_lambda::handle(&svc, event("GET", &path)).await })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        match r.status().as_u16() {
            302 => assert_eq!(header(&r, "location"), path),
            200 => assert_eq!(header(&r, "content-type"), "image/webp"),
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(
        list_keys(&s3, BUCKET, "r/").await,
        vec![path[1..].to_string()]
    );
}

/// 100 concurrent misses on one key, then 1,000 requests over 50 keys (20 each, 50 in
/// flight), across four function instances over S3: one object per key, every answer a clean
/// redirect or the image, no error. Against moto only, as the test above.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_misses_on_one_key_and_a_thousand_over_fifty_keys() {
    let Some(server) = Moto::start() else { return };
    let s3 = setup(&server).await;
    let instances: Vec<Arc<Service>> = (0..4)
        .map(|_| Arc::new(service(&s3, Answer::Redirect, Limits::default())))
        .collect();
    let path_for = |w: u32| {
        sign(
            "photos/sample.jpg",
            Ops {
                width: Some(w),
                ..Ops::default()
            },
            Format::Jpeg,
        )
    };
    let run = |paths: Vec<String>| {
        let instances = instances.clone();
        async move {
            let permits = Arc::new(tokio::sync::Semaphore::new(50));
            let mut tasks = tokio::task::JoinSet::new();
            for (i, path) in paths.into_iter().enumerate() {
                let (svc, permits) = (instances[i % 4].clone(), permits.clone());
                tasks.spawn(async move {
                    let _turn = permits.acquire_owned().await.unwrap();
                    let r = rendition_lambda::handle(&svc, event("GET", &path)).await;
                    (path, r)
                });
            }
            let mut answered = 0;
            while let Some(done) = tasks.join_next().await {
                let (path, r) = done.unwrap();
                match r.status().as_u16() {
                    302 => assert_eq!(header(&r, "location"), path),
                    200 => assert_eq!(header(&r, "content-type"), "image/jpeg"),
                    other => panic!("{path}: unexpected status {other}"),
                }
                answered += 1;
            }
            answered
        }
    };
    assert_eq!(run(vec![path_for(500); 100]).await, 100);
    assert_eq!(
        list_keys(&s3, BUCKET, "r/").await,
        vec![path_for(500)[1..].to_string()]
    );

    let widths: Vec<u32> = (0..50).map(|i| 100 + i * 7).collect();
    let mixed: Vec<String> = (0..1000).map(|i| path_for(widths[(i * 37) % 50])).collect();
    assert_eq!(run(mixed).await, 1000);
    let mut expected: Vec<String> = widths
        .iter()
        .map(|&w| path_for(w)[1..].to_string())
        .collect();
    expected.push(path_for(500)[1..].to_string());
    expected.sort();
    expected.dedup();
    assert_eq!(list_keys(&s3, BUCKET, "r/").await, expected);
    // Every stored object is a whole JPEG of its width.
    for (w, key) in widths.iter().map(|&w| (w, path_for(w)[1..].to_string())) {
        let out = s3
            .get_object()
            .bucket(BUCKET)
            .key(&key)
            .send()
            .await
            .unwrap();
        let bytes = out.body.collect().await.unwrap().into_bytes();
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!(img.width(), w, "{key}");
    }
}

async fn event_fixtures_through_the_handler(server: &S3Server) {
    let s3 = setup(server).await;
    let svc = service(&s3, Answer::Redirect, Limits::default());
    // The "hit" fixtures name an object that is already stored.
    let hit = rendition_lambda::key_path(&fixture("function-url-hit"));
    let first = rendition_lambda::handle(&svc, fixture("function-url-hit")).await;
    assert_eq!(first.status(), 302, "first call stores {hit}");

    // API Gateway first (stage `prod`), then the function URL for the same keys.
    for origin in ["apigw-v2", "function-url"] {
        let expect = [
            ("miss", 302),
            ("hit", 200),
            ("bad-signature", 403),
            ("missing-source", 404),
            ("head", 302),
        ];
        for (name, status) in expect {
            let event = fixture(&format!("{origin}-{name}"));
            let path = rendition_lambda::key_path(&event);
            assert!(
                path.starts_with("/r/photos/"),
                "{origin}-{name}: stage stripped, got {path}"
            );
            let r = rendition_lambda::handle(&svc, event).await;
            // The API Gateway run stored the misses; the function-URL run finds them.
            let status = if origin == "function-url" && matches!(name, "miss" | "head") {
                200
            } else {
                status
            };
            assert_eq!(r.status().as_u16(), status, "{origin}-{name}");
            if status == 302 {
                // The redirect goes back to the URL the client used, stage included.
                let prefix = if origin == "apigw-v2" {
                    "/prod/r/"
                } else {
                    "/r/"
                };
                assert_eq!(
                    header(&r, "location"),
                    format!(
                        "{}{}",
                        prefix.trim_end_matches("r/").trim_end_matches('/'),
                        path
                    )
                );
            }
            if name == "head" {
                assert!(matches!(r.body(), Body::Empty), "HEAD has no body");
            }
        }
    }
    // Both origins map to the same storage keys: nothing was stored twice.
    let keys = list_keys(&s3, BUCKET, "r/").await;
    assert_eq!(keys.len(), 3, "{keys:?}");
}

/// A sample event of the repository's `events/` folder (shared with `sam local invoke`).
fn event_file(name: &str) -> String {
    format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"))
}

/// Where the test's log lines go.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Observability: each request is one JSON log line with what it did (and never a secret),
/// one Embedded Metric Format record, and a render says where its time went in Server-Timing.
async fn each_request_logs_one_json_line_and_one_metrics_record_without_secrets(server: &S3Server) {
    let s3 = setup(server).await;
    let svc = service(
        &s3,
        Answer::Inline { max_bytes: 1 << 20 },
        Limits::default(),
    );
    let captured = Captured::default();
    let writer = captured.clone();
    let _guard =
        tracing::subscriber::set_default(rendition_lambda::logging_to(move || writer.clone()));
    // With a single subscriber registered, tracing asks only the current thread's subscriber
    // about a call site met for the first time, so another test's thread meeting the request
    // log first would switch it off for this one; a second, silent subscriber makes it ask
    // every registered one.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let good = sign(
        "photos/sample.jpg",
        Ops {
            width: Some(64),
            ..Ops::default()
        },
        Format::Webp,
    );
    let forged = good.replace("w64", "w65");
    let broken = sign(
        "photos/text.jpg",
        Ops {
            width: Some(64),
            ..Ops::default()
        },
        Format::Webp,
    );
    let mut reports = Vec::new();
    for (path, status) in [(&good, 200), (&good, 200), (&forged, 403), (&broken, 415)] {
        let r = rendition_lambda::handle(&svc, event("GET", path)).await;
        assert_eq!(r.status(), status, "{path}");
        let report = r
            .extensions()
            .get::<rendition::service::Report>()
            .expect("a report")
            .clone();
        if report.outcome == "rendered" {
            let timing = header(&r, "server-timing");
            assert!(
                timing.starts_with("read;dur=")
                    && timing.contains(", render;dur=")
                    && timing.contains(", store;dur="),
                "{timing}"
            );
        }
        reports.push(report);
    }
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .filter(|v: &serde_json::Value| v["message"] == "request")
        .collect();
    assert_eq!(lines.len(), 4, "one line per request:\n{text}");
    let outcomes: Vec<&str> = lines
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["rendered", "existing", "error", "error"]);
    let first = &lines[0];
    assert_eq!(first["source"], "photos/sample.jpg");
    assert_eq!(first["ops"], "w64.webp");
    assert_eq!(first["status"], 200);
    assert!(first["bytes_in"].as_u64().unwrap() > 1000, "{first}");
    assert!(first["bytes_out"].as_u64().unwrap() > 10, "{first}");
    assert!(first["render_ms"].as_f64().unwrap() > 0.0, "{first}");
    assert_eq!(lines[2]["code"], "forbidden");
    assert_eq!(lines[3]["code"], "unsupported");
    // No key secret, in any form, anywhere in the log.
    for secret in common::KEYS
        .split(',')
        .map(|k| k.split_once(':').unwrap().1)
    {
        assert!(!text.contains(secret), "a secret reached the log");
    }

    let emf: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            serde_json::from_str(&rendition_lambda::metrics_line(r, "rendition-test")).unwrap()
        })
        .collect();
    assert_eq!(
        emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "rendition-test"
    );
    assert_eq!(
        (emf[0]["Renders"].as_u64(), emf[0]["Code"].as_str()),
        (Some(1), Some("ok"))
    );
    assert_eq!(
        (emf[1]["Renders"].as_u64(), emf[1]["Outcome"].as_str()),
        (Some(0), Some("existing"))
    );
    assert_eq!(
        (emf[2]["Errors"].as_u64(), emf[2]["Code"].as_str()),
        (Some(1), Some("forbidden"))
    );
    assert!(emf[0]["RenderMs"].as_f64().is_some() && emf[2].get("RenderMs").is_none());
}
