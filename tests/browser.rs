//! The demo page in headless Chromium: every image loads, at the size its URL asked for.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{available, files_under, Server};

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// Loads `url` in headless Chromium and returns the DOM after the page settled.
fn dump_dom(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=60000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn demo_page_images_all_load_at_their_expected_size() {
    let browser = chromium();
    if !available(browser.is_some(), "Debian's chromium") {
        return;
    }
    let browser = browser.unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let server = Server::start_demo(cwd.path());
    let dom = dump_dom(browser, &server.url("/"));
    let report = dom
        .split("<pre id=\"report\" hidden=\"\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!(
                "no report in the page; DOM was:\n{}",
                &dom[..dom.len().min(2000)]
            )
        });
    let report: serde_json::Value =
        serde_json::from_str(&report.replace("&quot;", "\"").replace("&amp;", "&"))
            .unwrap_or_else(|e| panic!("report is not JSON ({e}): {report}"));
    let total = report["total"].as_u64().unwrap();
    assert!(
        total >= 10,
        "the gallery shows at least 10 renditions, got {total}"
    );
    let failures: Vec<_> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ok"] != true)
        .collect();
    assert!(
        failures.is_empty(),
        "images failed to load at the expected size: {failures:#?}"
    );
    assert_eq!(report["ok"].as_u64().unwrap(), total);
    // The page says how each image was answered (Server-Timing) and its size: all rendered
    // now, on this first visit.
    for r in report["results"].as_array().unwrap() {
        assert!(
            matches!(r["how"].as_str(), Some("rendered" | "joined")),
            "first visit: {r}"
        );
        assert!(r["bytes"].as_u64().unwrap() > 0, "{r}");
    }

    // Every image was rendered lazily and stored under its own key in the demo folder.
    let stored = common::wait_for(Duration::from_secs(5), || {
        let n = files_under(&server.dir)
            .iter()
            .filter(|f| f.starts_with("r/"))
            .count();
        (n as u64 == total).then_some(n)
    });
    assert_eq!(
        stored,
        Some(total as usize),
        "one stored rendition per image"
    );

    // A second visit is served entirely from the folder: no new render.
    let dom = dump_dom(browser, &server.url("/"));
    assert!(
        dom.contains(&format!("\"ok\":{total}")),
        "second visit still loads every image"
    );
    assert_eq!(
        dom.matches("class=\"how\">served as a file").count() as u64,
        total,
        "the second visit shows every image as served from the folder"
    );
    let client = reqwest::blocking::Client::new();
    let stats: serde_json::Value = client
        .get(server.url("/_rendition/stats"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        stats["renders"].as_u64().unwrap(),
        total,
        "the second visit rendered nothing"
    );
    assert_eq!(stats["errors"].as_u64().unwrap(), 0);
}
