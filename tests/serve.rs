//! `rendition serve` end to end: the real binary on 127.0.0.1:0, over real HTTP.

mod common;

use std::time::Duration;

use common::{files_under, jpeg, keys, Server};
use rendition::ops::{Format, Ops};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn sign(source: &str, ops: Ops, format: Format) -> String {
    keys().sign_new(source, ops, format).unwrap()
}

fn width(w: u32) -> Ops {
    Ops {
        width: Some(w),
        ..Ops::default()
    }
}

fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("img")).unwrap();
    std::fs::write(dir.path().join("img/photo.jpg"), jpeg(640, 480)).unwrap();
    dir
}

#[tokio::test]
async fn existing_files_are_served_statically_with_conditional_get() {
    let dir = folder();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    let r = c.get(server.url("/img/photo.jpg")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.headers()["x-rendition"], "hit");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(r.bytes().await.unwrap().len(), jpeg(640, 480).len());

    let r = c
        .get(server.url("/img/photo.jpg"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = c.head(server.url("/img/photo.jpg")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-length"],
        jpeg(640, 480).len().to_string().as_str()
    );
    assert_eq!(
        c.get(server.url("/img/nothing.jpg"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        c.get(server.url("/img/../../etc/passwd"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        c.post(server.url("/img/photo.jpg"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
}

#[tokio::test]
async fn a_miss_renders_stores_and_then_hits() {
    let dir = folder();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    let path = sign(
        "img/photo.jpg",
        Ops {
            width: Some(200),
            height: Some(100),
            ..Ops::default()
        },
        Format::Webp,
    );
    assert!(!dir.path().join(&path[1..]).exists());

    let r = c.get(server.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/webp");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.headers()["x-rendition"], "rendered");
    let first = r.bytes().await.unwrap();
    let img = image::load_from_memory(&first).unwrap();
    assert_eq!((img.width(), img.height()), (200, 100));

    // The object is now a file under the requested key, and the next request is a hit.
    let stored = std::fs::read(dir.path().join(&path[1..])).unwrap();
    assert_eq!(stored, first);
    let r = c.get(server.url(&path)).send().await.unwrap();
    assert_eq!(r.headers()["x-rendition"], "hit");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.bytes().await.unwrap(), first);

    // The query string plays no part.
    let r = c
        .get(server.url(&format!("{path}?w=9999")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap(), first);
    // Nothing but the object itself was written: no temporary files left behind.
    let files = files_under(dir.path());
    assert_eq!(
        files,
        vec!["img/photo.jpg".to_string(), path[1..].to_string()]
    );
}

#[tokio::test]
async fn head_on_a_miss_renders_without_a_body() {
    let dir = folder();
    let server = Server::start(dir.path(), &[]);
    let path = sign("img/photo.jpg", width(64), Format::Png);
    let r = client().head(server.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(r.bytes().await.unwrap().is_empty());
    assert!(dir.path().join(&path[1..]).exists());
}

#[tokio::test]
async fn every_error_status_writes_nothing() {
    let dir = folder();
    let d = dir.path();
    std::fs::write(d.join("img/text.jpg"), b"this is not an image").unwrap();
    let mut truncated = jpeg(640, 480);
    truncated.truncate(300);
    std::fs::write(d.join("img/truncated.jpg"), truncated).unwrap();
    std::fs::write(d.join("img/big.jpg"), jpeg(3000, 2000)).unwrap();
    std::fs::create_dir_all(d.join("private")).unwrap();
    std::fs::write(d.join("private/a.jpg"), jpeg(64, 64)).unwrap();
    let server = Server::start(
        d,
        &[
            "--max-source-pixels",
            "5000000",
            "--max-source-bytes",
            "400000",
            "--source-prefixes",
            "img/",
        ],
    );
    let before = files_under(d);
    let good = sign("img/photo.jpg", width(100), Format::Jpeg);
    let other_key = rendition::KeyRing::from_spec("t9:0123456789abcdef0123456789abcdef").unwrap();
    let cases: Vec<(String, u16, &str)> = vec![
        (good.replace("w100", "w0100"), 400, "non-canonical number"),
        (good.replace("/w100/", "/w100_w100/"), 400, "repeated op"),
        (
            good.replace(".jpg.jpg", ".jpg.jpeg"),
            400,
            "non-canonical extension",
        ),
        (good.replace("photo", "ph%6Fto"), 400, "percent-encoded"),
        ("/r/nonsense".to_string(), 400, "malformed"),
        (good.replace("w100", "w101"), 403, "tampered"),
        (
            sign(
                &format!("img/{}.jpg", "é".repeat(100)),
                width(10),
                Format::Jpeg,
            ),
            400,
            "name too long for a folder",
        ),
        (
            other_key
                .sign_new("img/photo.jpg", width(100), Format::Jpeg)
                .unwrap(),
            403,
            "unknown key id",
        ),
        (
            sign("private/a.jpg", width(10), Format::Jpeg),
            403,
            "outside source prefixes",
        ),
        (
            sign("img/missing.jpg", width(10), Format::Jpeg),
            404,
            "missing source",
        ),
        (
            sign("img/big.jpg", width(10), Format::Jpeg),
            413,
            "over the byte limit",
        ),
        (
            sign("img/photo.jpg", width(9000), Format::Jpeg),
            413,
            "over the output limit",
        ),
        (
            sign("img/text.jpg", width(10), Format::Jpeg),
            415,
            "not an image",
        ),
        (
            sign("img/truncated.jpg", width(10), Format::Jpeg),
            422,
            "truncated",
        ),
    ];
    let c = client();
    for (path, status, why) in &cases {
        let r = c.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), *status, "{why}: {path}");
        let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
        assert!(
            cache.starts_with("public, max-age="),
            "{why}: error responses carry a short max-age"
        );
        let body = r.text().await.unwrap();
        assert!(
            body.starts_with(&status.to_string()) && body.len() < 300,
            "{why}: short body {body:?}"
        );
    }
    let r = c.delete(server.url(&good)).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(files_under(d), before, "an error wrote something");
    drop(server);

    // Pixel limit: the header says 3000x2000, over a 5 MP limit, with no byte limit in the way.
    let server = Server::start(d, &["--max-source-pixels", "5000000"]);
    let r = c
        .get(server.url(&sign("img/big.jpg", width(10), Format::Jpeg)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    drop(server);

    // Render over its time budget: 504.
    let server = Server::start(d, &["--render-timeout-ms", "1"]);
    let r = c
        .get(server.url(&sign("img/big.jpg", width(1500), Format::Png)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    drop(server);

    // Storage failure: `r` is a file, so no rendition directory can be made under it.
    std::fs::write(d.join("r"), b"in the way").unwrap();
    let server = Server::start(d, &[]);
    let r = c.get(server.url(&good)).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("public, max-age="));
    std::fs::remove_file(d.join("r")).unwrap();
    assert_eq!(files_under(d), before, "an error wrote something");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_on_one_key_render_once() {
    let dir = folder();
    std::fs::write(dir.path().join("img/large.jpg"), jpeg(2400, 1600)).unwrap();
    let server = Server::start(dir.path(), &[]);
    let path = sign(
        "img/large.jpg",
        Ops {
            width: Some(800),
            height: Some(800),
            ..Ops::default()
        },
        Format::Webp,
    );
    let c = client();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (c, url) = (c.clone(), server.url(&path));
            tokio::spawn(async move {
                let r = c.get(url).send().await.unwrap();
                assert_eq!(r.status(), 200);
                let how = r.headers()["x-rendition"].to_str().unwrap().to_string();
                (how, r.bytes().await.unwrap())
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let rendered = results.iter().filter(|(how, _)| how == "rendered").count();
    assert_eq!(
        rendered,
        1,
        "{:?}",
        results.iter().map(|r| &r.0).collect::<Vec<_>>()
    );
    assert!(results
        .iter()
        .all(|(how, _)| matches!(how.as_str(), "rendered" | "joined" | "hit" | "existing")));
    assert!(
        results.windows(2).all(|w| w[0].1 == w[1].1),
        "20 identical images"
    );
    let stats: serde_json::Value = c
        .get(server.url("/_rendition/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["renders"], 1);
}
