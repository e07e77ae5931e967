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

fn sign(source: &str, ops: Ops, format: impl Into<rendition::auto::Output>) -> String {
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
async fn info_requests_answer_json_with_a_placeholder_and_are_stored() {
    use base64::Engine as _;
    let dir = folder();
    // A transparent PNG beside the opaque JPEG: a disc on a clear background.
    let disc = image::RgbaImage::from_fn(300, 200, |x, y| {
        let (dx, dy) = (x as i32 - 150, y as i32 - 100);
        let inside = dx * dx + dy * dy < 80 * 80;
        image::Rgba([20, 120, 220, if inside { 255 } else { 0 }])
    });
    disc.save(dir.path().join("img/disc.png")).unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    let b64 = base64::engine::general_purpose::STANDARD;
    for (source, size, alpha) in [
        ("img/photo.jpg", (640, 480), false),
        ("img/disc.png", (300, 200), true),
    ] {
        let path = sign(source, Ops::default(), rendition::auto::Output::Info);
        let r = c.get(server.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{source}");
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let body = r.bytes().await.unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["width"].as_u64(), Some(size.0), "{source}: {doc}");
        assert_eq!(doc["height"].as_u64(), Some(size.1), "{source}");
        assert_eq!(doc["alpha"], alpha, "{source}");
        assert_eq!(doc["frames"], 1);
        assert!(b64.decode(doc["thumbhash"].as_str().unwrap()).is_ok());
        let png = doc["placeholder"]
            .as_str()
            .and_then(|u| u.strip_prefix("data:image/png;base64,"))
            .unwrap_or_else(|| panic!("{source}: placeholder is a PNG data URL: {doc}"));
        let ph = image::load_from_memory(&b64.decode(png).unwrap()).unwrap();
        // The placeholder keeps the aspect ratio, roughly, and the transparency.
        let (pw, phh) = (ph.width(), ph.height());
        assert!(pw > phh && pw <= 32, "{source}: {pw}x{phh}");
        assert_eq!(ph.color().has_alpha(), alpha, "{source}");
        // Stored under its key, served as a file from then on.
        assert_eq!(std::fs::read(dir.path().join(&path[1..])).unwrap(), body);
        let r = c.get(server.url(&path)).send().await.unwrap();
        assert_eq!(r.headers()["x-rendition"], "hit");
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
    }
    // Images need no CORS.
    let image = sign("img/photo.jpg", width(32), Format::Png);
    let r = c.get(server.url(&image)).send().await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // A missing source is 404 as for a render, and nothing is stored; an info path with
    // operations is 400.
    let missing = sign(
        "img/none.jpg",
        Ops::default(),
        rendition::auto::Output::Info,
    );
    let r = c.get(server.url(&missing)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(!dir.path().join(&missing[1..]).exists());
    let sized = missing.replace("/-.json", "/w64.json");
    assert_eq!(
        c.get(server.url(&sized)).send().await.unwrap().status(),
        400
    );
    // A purge deletes the info with the source's renditions, and leaves other sources' alone.
    drop(server);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_rendition"))
        .args(["purge", "img/photo.jpg", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let left: Vec<String> = files_under(dir.path())
        .into_iter()
        .filter(|f| f.starts_with("r/"))
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("r/img/disc.png/") && left[0].ends_with("/-.json"));
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
        (good.replace("/w100.", "/w100_w100."), 400, "repeated op"),
        (
            good.replace("/w100.jpg", "/w100.jpeg"),
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
            sign(
                "img/photo.jpg",
                Ops {
                    enlarge: true,
                    ..width(9000)
                },
                Format::Jpeg,
            ),
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

/// 100 concurrent misses on one key, then 1,000 requests over 50 keys with 50 in flight:
/// one render and one file per key, every answer the same image for its key, no error, and
/// memory bounded by the render permits (one render per CPU at a time, whatever the load).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_misses_on_one_key_and_a_thousand_over_fifty_keys() {
    let dir = folder();
    std::fs::write(dir.path().join("img/large.jpg"), jpeg(2400, 1600)).unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    let path_for = |w: u32| sign("img/large.jpg", width(w), Format::Jpeg);
    let run = |paths: Vec<String>| {
        let (c, base) = (c.clone(), server.url(""));
        async move {
            let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(50));
            let mut tasks = tokio::task::JoinSet::new();
            for path in paths {
                let (c, url, permits) = (c.clone(), format!("{base}{path}"), permits.clone());
                tasks.spawn(async move {
                    let _turn = permits.acquire_owned().await.unwrap();
                    let r = c.get(&url).send().await.unwrap();
                    assert_eq!(r.status(), 200, "{url}");
                    (path, r.bytes().await.unwrap())
                });
            }
            let mut bodies = std::collections::HashMap::<String, Vec<bytes::Bytes>>::new();
            while let Some(done) = tasks.join_next().await {
                let (path, body) = done.unwrap();
                bodies.entry(path).or_default().push(body);
            }
            bodies
        }
    };
    let bodies = run(vec![path_for(1000); 100]).await;
    assert_eq!(bodies[&path_for(1000)].len(), 100);
    assert!(bodies[&path_for(1000)].windows(2).all(|w| w[0] == w[1]));

    let widths: Vec<u32> = (0..50).map(|i| 200 + i * 13).collect();
    let mixed: Vec<String> = (0..1000).map(|i| path_for(widths[(i * 37) % 50])).collect();
    let bodies = run(mixed).await;
    assert_eq!(bodies.len(), 50);
    for (path, same) in &bodies {
        assert_eq!(same.len(), 20, "{path}");
        assert!(
            same.windows(2).all(|w| w[0] == w[1]),
            "{path}: different bytes"
        );
    }
    let stats: serde_json::Value = c
        .get(server.url("/_rendition/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // One render per key, give or take a request that looked in the folder just before
    // another stored the key and asked for its render just after that render ended: it
    // renders again and its create-only write finds the file (one file per key regardless).
    let renders = stats["renders"].as_u64().unwrap();
    assert!((51..=56).contains(&renders), "{stats}");
    assert_eq!(stats["errors"], 0, "{stats}");
    let renditions = files_under(dir.path())
        .into_iter()
        .filter(|f| f.starts_with("r/"))
        .count();
    assert_eq!(renditions, 51);
    // Each render of a 3.8 MP source holds about 40 MB; without the permits, 50 at once would
    // hold 2 GB.
    let peak_mib = server.peak_rss_kib() / 1024;
    eprintln!("serve: peak RSS {peak_mib} MiB over 1,100 requests");
    assert!(peak_mib < 600, "peak RSS {peak_mib} MiB");
}

/// Polls `f` every 50 ms for up to 10 s (the watcher reacts within a fraction of a second).
async fn eventually<F: std::future::Future<Output = bool>>(mut f: impl FnMut() -> F) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn image_size(c: &reqwest::Client, url: &str) -> (u16, (u32, u32)) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    let size = image::load_from_memory(&bytes)
        .map(|i| (i.width(), i.height()))
        .unwrap_or((0, 0));
    (status, size)
}

#[tokio::test]
async fn a_replaced_source_renders_anew_and_a_deleted_one_answers_404() {
    let dir = folder();
    std::fs::write(dir.path().join("img/other.jpg"), jpeg(200, 100)).unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    let url = server.url(&sign("img/photo.jpg", width(100), Format::Jpeg));
    let webp = server.url(&sign("img/photo.jpg", width(64), Format::Webp));
    let other = sign("img/other.jpg", width(50), Format::Jpeg);
    assert_eq!(image_size(&c, &url).await, (200, (100, 75)));
    assert_eq!(image_size(&c, &webp).await.0, 200);
    assert_eq!(image_size(&c, &server.url(&other)).await.0, 200);
    let renditions_of_photo = || {
        files_under(dir.path())
            .into_iter()
            .filter(|f| f.starts_with("r/img/photo.jpg/"))
            .count()
    };
    assert_eq!(renditions_of_photo(), 2);

    // Replaced (written to a temporary name and renamed over it, as editors and rsync do):
    // the same URL gives the new, square picture.
    let tmp = dir.path().join("img/.photo.jpg.tmp");
    std::fs::write(&tmp, jpeg(300, 300)).unwrap();
    std::fs::rename(&tmp, dir.path().join("img/photo.jpg")).unwrap();
    assert!(
        eventually(|| async { renditions_of_photo() == 0 }).await,
        "renditions of a replaced source were not purged: {:?}",
        files_under(dir.path())
    );
    assert_eq!(image_size(&c, &url).await, (200, (100, 100)));
    // Written in place too.
    std::fs::write(dir.path().join("img/photo.jpg"), jpeg(200, 400)).unwrap();
    assert!(eventually(|| async { renditions_of_photo() == 0 }).await);
    assert_eq!(image_size(&c, &url).await, (200, (100, 200)));

    // Deleted: its renditions go and its URLs answer 404; other sources keep theirs.
    std::fs::remove_file(dir.path().join("img/photo.jpg")).unwrap();
    assert!(eventually(|| async { renditions_of_photo() == 0 }).await);
    assert_eq!(image_size(&c, &url).await.0, 404);
    assert!(dir.path().join(&other[1..]).exists());
    assert_eq!(renditions_of_photo(), 0, "a 404 stores nothing");
}

#[tokio::test]
async fn purge_deletes_exactly_a_sources_renditions_and_dry_run_nothing() {
    let dir = folder();
    std::fs::create_dir_all(dir.path().join("img/photo.jpg.d")).unwrap();
    // A source whose key starts like the purged one's. (A key that continues it, as
    // `img/photo.jpg/b.png` does in S3, can't sit beside a file of that name in a folder;
    // tests/lifecycle.rs checks that case against S3.)
    std::fs::write(dir.path().join("img/photo.jpg.d/b.png"), jpeg(64, 64)).unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    let paths = [
        sign("img/photo.jpg", width(100), Format::Jpeg),
        sign("img/photo.jpg", width(64), Format::Png),
        sign("img/photo.jpg.d/b.png", width(32), Format::Png),
    ];
    for p in &paths {
        assert_eq!(image_size(&c, &server.url(p)).await.0, 200, "{p}");
    }
    drop(server);
    let purge = |extra: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_rendition"))
            .args(["purge", "img/photo.jpg", "--dir"])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            String::from_utf8(o.stdout).unwrap(),
            String::from_utf8(o.stderr).unwrap(),
        )
    };
    let before = files_under(dir.path());
    let (out, err) = purge(&["--dry-run"]);
    assert_eq!(files_under(dir.path()), before, "a dry run changes nothing");
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("would delete r/img/photo.jpg/"))
            .count(),
        2,
        "{out}"
    );
    assert!(
        err.contains("would delete 2 renditions of 1 source"),
        "{err}"
    );
    let (out, _) = purge(&[]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("deleted ")).count(),
        2,
        "{out}"
    );
    let after = files_under(dir.path());
    assert!(
        !after.iter().any(|f| f.starts_with("r/img/photo.jpg/")),
        "{after:?}"
    );
    assert!(after.contains(&paths[2][1..].to_string()), "{after:?}");
    assert!(
        after.contains(&"img/photo.jpg".to_string()),
        "the source itself stays"
    );
    // Nothing left: a no-op.
    let (out, err) = purge(&[]);
    assert!(
        out.is_empty() && err.contains("deleted 0 renditions"),
        "{out}{err}"
    );
}

#[tokio::test]
async fn jpegs_the_own_decoder_declines_are_counted_in_the_stats() {
    // A CMYK JPEG (print assets reach the web this way): the renderer's own decoder declines
    // four components, jpeg-decoder renders it instead, and the stats count it.
    let dir = folder();
    let (w, h) = (64u16, 48u16);
    let cmyk: Vec<u8> = (0..usize::from(w) * usize::from(h))
        .flat_map(|i| [(i % 256) as u8, 40, 200, 10])
        .collect();
    let mut bytes = Vec::new();
    jpeg_encoder::Encoder::new(&mut bytes, 90)
        .encode(&cmyk, w, h, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    std::fs::write(dir.path().join("img/cmyk.jpg"), bytes).unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    for source in ["img/photo.jpg", "img/cmyk.jpg"] {
        let r = c
            .get(server.url(&sign(source, width(32), Format::Png)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{source}");
    }
    let stats: serde_json::Value = c
        .get(server.url("/_rendition/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["renders"], 2);
    assert_eq!(stats["jpeg_fallbacks"], 1);
}

/// SIGTERM, as systemd, Docker and Kubernetes stop a server: new connections are refused, the
/// request in flight gets its image, nothing temporary is left, and the exit status is 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish_and_exits_0() {
    let dir = folder();
    // Large enough that its AVIF rendition takes a good second: the signal arrives mid-render.
    std::fs::write(dir.path().join("img/large.jpg"), jpeg(6000, 4000)).unwrap();
    // The render budget is raised so that a machine busy with other tests can't turn the
    // render in flight into a 504 (at 3000 px it once took over the default 20 s in CI).
    let mut server = Server::start(dir.path(), &["--render-timeout-ms", "60000"]);
    let path = sign("img/large.jpg", width(2000), Format::Avif);
    let (url, c) = (server.url(&path), client());
    let started = std::time::Instant::now();
    let in_flight = tokio::spawn(async move {
        let r = c.get(url).send().await.unwrap();
        (r.status(), r.bytes().await.unwrap().len())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = reqwest::Client::new()
        .get(server.url("/img/photo.jpg"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(refused.is_err(), "a new request after SIGTERM was answered");
    let (status, bytes) = in_flight.await.unwrap();
    assert_eq!(status, 200);
    assert!(bytes > 0);
    assert!(
        started.elapsed() > Duration::from_millis(500),
        "the render ended before the signal, so this proved nothing"
    );
    let exit = tokio::task::spawn_blocking(move || server.exit_status(Duration::from_secs(25)))
        .await
        .unwrap();
    assert_eq!(exit.and_then(|s| s.code()), Some(0), "{exit:?}");
    let files = files_under(dir.path());
    assert!(
        files.iter().all(|f| !f.contains(".tmp-")),
        "temporary files left: {files:?}"
    );
    assert!(files.contains(&path[1..].to_string()), "{files:?}");
}

/// Format auto (docs/url-format.md §13): `serve` rewrites an auto path from Accept exactly as
/// the edge function does, stores the negotiated key, and answers with `Vary: Accept`.
#[tokio::test]
async fn auto_paths_are_negotiated_from_accept_and_stored_under_their_choice() {
    use rendition::auto::Auto;
    let dir = folder();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    let path = sign("img/photo.jpg", width(160), Auto::Auto);
    assert!(path.ends_with("/w160.auto"), "{path}");
    let browsers = [
        (
            Some("image/avif,image/webp,image/apng,image/*,*/*;q=0.8"),
            "avif",
        ),
        (
            Some("image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"),
            "webp",
        ),
        (Some("*/*"), "jpg"),
        (None, "jpg"),
        (Some("image/avif;q=0,image/webp;q=0,image/*"), "jpg"),
    ];
    for (accept, choice) in browsers {
        let mut request = c.get(server.url(&path));
        if let Some(a) = accept {
            request = request.header("accept", a);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 200, "{accept:?}");
        assert_eq!(r.headers()["vary"], "Accept", "{accept:?}");
        let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
        let bytes = r.bytes().await.unwrap();
        let want = match choice {
            "jpg" => "image/jpeg",
            other => &format!("image/{other}"),
        };
        assert_eq!(content_type, want, "{accept:?}");
        if choice != "avif" {
            let img = image::load_from_memory(&bytes).unwrap();
            assert_eq!((img.width(), img.height()), (160, 120), "{accept:?}");
        }
        // Stored under the negotiated key, the same file CloudFront would find in S3.
        let stored = dir.path().join(format!("{}.{choice}", &path[1..]));
        assert_eq!(std::fs::read(&stored).unwrap(), bytes, "{accept:?}");
    }
    let mut files = files_under(dir.path());
    files.sort();
    let mut want: Vec<String> = ["avif", "jpg", "webp"]
        .iter()
        .map(|c| format!("{}.{c}", &path[1..]))
        .collect();
    want.insert(0, "img/photo.jpg".into());
    want.sort();
    assert_eq!(files, want, "one object per choice, none for the auto path");

    // The second Chrome request is a hit on the stored AVIF, still with Vary.
    let r = c
        .get(server.url(&path))
        .header("accept", "image/avif,image/webp,*/*")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-rendition"], "hit");
    assert_eq!(r.headers()["vary"], "Accept");
    // A negotiated key asked for directly is one format for everyone: no Vary.
    let r = c
        .get(server.url(&format!("{path}.webp")))
        .header("accept", "image/avif")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/webp");
    assert!(r.headers().get("vary").is_none());
    // Nor does a path of one concrete format, rendered or hit.
    let concrete = sign("img/photo.jpg", width(160), Format::Webp);
    for _ in 0..2 {
        let r = c
            .get(server.url(&concrete))
            .header("accept", "image/avif")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("vary").is_none());
    }

    // auto-alpha falls back to PNG; a forged auto path is refused whatever Accept says.
    let alpha = sign("img/photo.jpg", width(80), Auto::AutoAlpha);
    let r = c
        .get(server.url(&alpha))
        .header("accept", "*/*")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    let forged = path.replace("/w160.auto", "/w161.auto");
    let r = c
        .get(server.url(&forged))
        .header("accept", "image/avif")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(!dir.path().join(format!("{}.avif", &forged[1..])).exists());
    let wrong_choice = format!("{path}.png");
    let r = c.get(server.url(&wrong_choice)).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

/// A render says where its time went (Server-Timing), and the stats add up every miss's bytes,
/// stage times and error codes.
#[tokio::test]
async fn renders_report_their_stages_and_the_stats_add_them_up() {
    let dir = folder();
    std::fs::write(dir.path().join("img/broken.jpg"), b"not an image").unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = client();
    let path = sign("img/photo.jpg", width(100), Format::Webp);
    let r = c.get(server.url(&path)).send().await.unwrap();
    let timing = r.headers()["server-timing"].to_str().unwrap().to_string();
    let out = r.bytes().await.unwrap().len() as u64;
    assert!(
        timing.starts_with("rendition;desc=\"rendered\";dur="),
        "{timing}"
    );
    for stage in [", read;dur=", ", render;dur=", ", store;dur="] {
        assert!(timing.contains(stage), "{timing}");
    }
    // A hit has no render stages.
    let r = c.get(server.url(&path)).send().await.unwrap();
    let timing = r.headers()["server-timing"].to_str().unwrap();
    assert!(
        timing.starts_with("rendition;desc=\"hit\"") && !timing.contains("render;"),
        "{timing}"
    );
    let forged = path.replace("w100", "w99");
    assert_eq!(
        c.get(server.url(&forged)).send().await.unwrap().status(),
        403
    );
    let broken = sign("img/broken.jpg", width(10), Format::Webp);
    assert_eq!(
        c.get(server.url(&broken)).send().await.unwrap().status(),
        415
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
    assert_eq!(stats["bytes_out"], out, "{stats}");
    assert_eq!(stats["bytes_in"], jpeg(640, 480).len() as u64, "{stats}");
    assert_eq!(
        stats["error_codes"],
        serde_json::json!({"forbidden": 1, "unsupported": 1})
    );
    assert!(stats["render_ms"].is_u64(), "{stats}");
}
