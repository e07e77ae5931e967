//! The demo's pages in headless Chromium: every image of the gallery loads at the size its URL
//! asked for, and the playground signs, renders and refuses as the JavaScript client does when
//! driven like a person would.

mod common;

use std::io::{Read as _, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{available, files_under, Server};

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// What Chromium needs to run headless here, in a test: no sandbox (containers), no GPU, and
/// nothing that reaches out to the network on its own.
const FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Loads `url` in headless Chromium and returns the DOM after the page settled.
fn dump_dom(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args(FLAGS)
        .args(["--virtual-time-budget=60000", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How long one DevTools call may take, page loads and renders included.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
/// JSON messages, each ended by a NUL byte, read from fd 3 and written to fd 4), so the test
/// needs no port and no WebSocket client. One page, attached as a flattened session.
struct Browser {
    child: Child,
    to_browser: ChildStdin,
    from_browser: Receiver<Value>,
    next_id: u64,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start(browser: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        // bash hands our pipes to Chromium as fds 3 (commands) and 4 (answers).
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null"#)
            .arg(browser)
            .args(FLAGS)
            .arg("--remote-debugging-pipe")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        let to_browser = child.stdin.take().unwrap();
        let mut pipe = child.stdout.take().unwrap();
        let (tx, from_browser) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (mut pending, mut chunk) = (Vec::new(), [0u8; 65536]);
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                pending.extend_from_slice(&chunk[..n]);
                while let Some(end) = pending.iter().position(|&b| b == 0) {
                    let message: Vec<u8> = pending.drain(..=end).collect();
                    let Ok(value) = serde_json::from_slice::<Value>(&message[..end]) else {
                        return;
                    };
                    if tx.send(value).is_err() {
                        return;
                    }
                }
            }
        });
        let mut b = Browser {
            child,
            to_browser,
            from_browser,
            next_id: 0,
            session: String::new(),
            _profile: profile,
        };
        let target = b.call("Target.createTarget", json!({ "url": "about:blank" }));
        let attached = b.call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        // A known layout: a desktop window at one device pixel per CSS pixel.
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": false }),
        );
        b
    }

    /// Sends one command (to the page once attached) and returns its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    /// [`Browser::call`], with the browser's refusal as an error (a page navigating away, say).
    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to_browser.write_all(&bytes).expect("chromium reads");
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                // Events (no id) and answers to other calls are not ours.
                Ok(answer) if answer["id"] == id => {
                    return match answer.get("error") {
                        Some(error) => Err(error.to_string()),
                        None => Ok(answer["result"].clone()),
                    };
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{method}: no answer within {CALL_TIMEOUT:?}")
                }
                Err(RecvTimeoutError::Disconnected) => panic!("{method}: chromium exited"),
            }
        }
    }

    /// The value of a JavaScript expression in the page, promises awaited.
    fn eval(&mut self, expression: &str) -> Value {
        let out = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
        );
        if let Some(e) = out.get("exceptionDetails") {
            panic!("{expression} threw: {e}");
        }
        out["result"]["value"].clone()
    }

    /// Loads `url` and waits until the page has run its scripts (a playground page: until it
    /// has `window.playground`).
    fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        let wanted = serde_json::to_string(url).unwrap();
        let ready = format!(
            "document.readyState === 'complete' && location.href === {wanted} \
             && (location.protocol !== 'http:' || typeof window.playground === 'object')"
        );
        // While the old document goes, an evaluation may fail: that is "not yet".
        let params = json!({ "expression": ready, "returnByValue": true });
        let ok = common::wait_for(CALL_TIMEOUT, || {
            let out = self.try_call("Runtime.evaluate", params.clone()).ok()?;
            (out["result"]["value"] == true).then_some(())
        });
        assert!(ok.is_some(), "{url} did not load within {CALL_TIMEOUT:?}");
    }

    /// The playground's report once it shows the form's latest state.
    fn settled(&mut self) -> Value {
        let report = self.eval("playground.settled()");
        assert!(
            report["crash"].is_null(),
            "the playground crashed: {report:#}"
        );
        report
    }

    /// Types `text` into the form field `name` as a person does: click into it, select what it
    /// holds, delete it, type.
    fn type_into(&mut self, name: &str, text: &str) {
        self.eval(&format!(
            "(() => {{ const f = document.forms.options.elements[{}]; f.focus(); f.select(); }})()",
            serde_json::to_string(name).unwrap()
        ));
        for kind in ["rawKeyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({ "type": kind, "key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8 }),
            );
        }
        if !text.is_empty() {
            self.call("Input.insertText", json!({ "text": text }));
        }
        let value = self.field(name);
        assert_eq!(value, text, "typed into {name}");
    }

    /// Chooses `value` in the `<select>` named `name`, as a person picking from its list does.
    fn choose(&mut self, name: &str, value: &str) {
        self.eval(&format!(
            "(() => {{ const f = document.forms.options.elements[{}]; f.focus(); f.value = {}; \
             for (const e of ['input', 'change']) f.dispatchEvent(new Event(e, {{ bubbles: true }})); }})()",
            serde_json::to_string(name).unwrap(),
            serde_json::to_string(value).unwrap()
        ));
        assert_eq!(self.field(name), value, "chose {value} in {name}");
    }

    fn field(&mut self, name: &str) -> String {
        let value = self.eval(&format!(
            "document.forms.options.elements[{}].value",
            serde_json::to_string(name).unwrap()
        ));
        value.as_str().unwrap().to_string()
    }

    /// Clicks with the mouse at (`fx`, `fy`), fractions of the width and height of the element
    /// `selector`.
    fn click(&mut self, selector: &str, fx: f64, fy: f64) {
        let rect = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); e.scrollIntoView({{ block: 'center' }}); \
             const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }})()",
            serde_json::to_string(selector).unwrap()
        ));
        let r: Vec<f64> = rect
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let (x, y) = (r[0] + r[2] * fx, r[1] + r[3] * fy);
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            );
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ask it to close (so its helper processes go too), then make sure.
        let _ = self
            .to_browser
            .write_all(b"{\"id\":0,\"method\":\"Browser.close\"}\0");
        let child = &mut self.child;
        if common::wait_for(Duration::from_secs(5), || child.try_wait().ok().flatten()).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
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

/// Checks the playground's result: the rendition loaded at the size its `<img>`'s width and
/// height promise, and the `<picture>` markup's chosen candidate at the size its descriptor says.
fn assert_shown(report: &Value) {
    let result = &report["result"];
    assert_eq!(result["status"], "loaded", "{report:#}");
    assert_eq!(
        result["ok"], true,
        "natural size = width/height: {report:#}"
    );
    assert_eq!(result["natural"], report["expected"], "{report:#}");
    assert!(result["bytes"].as_u64().unwrap() > 0, "{report:#}");
    let picture = &report["picture"];
    assert_eq!(picture["status"], "loaded", "{report:#}");
    assert_eq!(picture["ok"], true, "the markup's image: {report:#}");
    let markup = report["markup"].as_str().unwrap();
    let attributes = &picture["attributes"];
    assert!(
        markup.contains(&format!(
            "width=\"{}\" height=\"{}\"",
            attributes[0], attributes[1]
        )),
        "{markup}"
    );
}

#[test]
fn playground_signs_renders_and_refuses_as_the_client_does() {
    let browser = chromium();
    if !available(browser.is_some(), "Debian's chromium") {
        return;
    }
    let cwd = tempfile::tempdir().unwrap();
    let server = Server::start_demo(cwd.path());
    let mut b = Browser::start(browser.unwrap());
    b.open(&server.url("/playground.html"));

    // As it opens: the first source at 640x400 (cover), signed with the development key.
    let r = b.settled();
    assert!(r["error"].is_null(), "{r:#}");
    let url = r["url"].as_str().unwrap();
    assert!(
        url.starts_with("/r/sources/") && url.contains("/dev."),
        "{url}"
    );
    assert!(url.ends_with("/w640_h400.jpg"), "{url}");
    assert_eq!(r["expected"], json!([640, 400]));
    assert!(
        matches!(r["result"]["how"].as_str(), Some("rendered" | "joined")),
        "a first view renders: {r:#}"
    );
    assert_shown(&r);
    assert!(r["srcset"].as_str().unwrap().contains(" 320w, "), "{r:#}");
    assert!(r["markup"]
        .as_str()
        .unwrap()
        .starts_with("<picture><source type=\"image/avif\""));

    // A person picks the sideways portrait, types a 240x240 box, picks WebP, and clicks the
    // source at 50% across and 20% down to put the focal point there.
    b.choose("source", "sources/portrait.jpg");
    b.type_into("width", "240");
    b.type_into("height", "240");
    b.choose("format", "webp");
    b.settled();
    b.click("#source-preview img", 0.5, 0.2);
    let r = b.settled();
    assert!(r["error"].is_null(), "{r:#}");
    let url = r["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("/r/sources/portrait.jpg/dev."), "{url}");
    assert!(url.ends_with("/w240_h240_g-50-20.webp"), "{url}");
    assert_eq!(r["expected"], json!([240, 240]));
    assert_shown(&r);
    let fragment = r["fragment"].as_str().unwrap();
    for part in [
        "width=240",
        "height=240",
        "gravity=focal",
        "fx=50",
        "fy=20",
        "format=webp",
    ] {
        assert!(fragment.contains(part), "the URL keeps {part}: {fragment}");
    }
    // The signed URL verifies: the server serves what the page rendered, no 403.
    let client = reqwest::blocking::Client::new();
    let answer = client.get(server.url(&url)).send().unwrap();
    assert_eq!(answer.status(), 200, "{url}");
    assert_eq!(answer.headers()["x-rendition"], "hit");
    assert_eq!(answer.headers()["content-type"], "image/webp");

    // Contain without a height: the signer refuses, naming the option, and nothing renders.
    b.choose("fit", "contain");
    b.type_into("height", "");
    let r = b.settled();
    assert_eq!(r["error"]["option"], "fit", "{r:#}");
    assert!(r["url"].is_null() && r["result"].is_null(), "{r:#}");
    let shown = b.eval("document.getElementById('refusal').textContent");
    assert_eq!(
        shown,
        "The signer refuses: fit: contain needs both width and height"
    );
    assert_eq!(
        b.eval("document.forms.options.elements.fit.getAttribute('aria-invalid')"),
        "true"
    );
    assert_eq!(
        b.eval("[document.getElementById('url-box').hidden, document.getElementById('url').textContent]"),
        json!([true, ""])
    );

    // With the height back, the refusal goes and the contained rendition shows.
    b.type_into("height", "240");
    let r = b.settled();
    assert!(r["error"].is_null(), "{r:#}");
    let url = r["url"].as_str().unwrap().to_string();
    assert!(
        url.ends_with("/w240_h240_fit-contain_g-50-20.webp"),
        "{url}"
    );
    assert_shown(&r);
    assert_eq!(b.eval("document.getElementById('refusal').textContent"), "");
    assert_eq!(
        b.eval("document.querySelectorAll('[aria-invalid]').length"),
        0
    );

    // The page's URL holds its state. Opened again, the browser has the rendition already;
    // shared with someone else, their browser gets it from the folder: a file now.
    let page = b.eval("location.href").as_str().unwrap().to_string();
    b.open("about:blank");
    b.open(&page);
    let r = b.settled();
    assert_eq!(r["url"], url.as_str());
    assert_eq!(r["result"]["how"], "cache", "{r:#}");
    assert_shown(&r);
    drop(b);
    let mut b = Browser::start(browser.unwrap());
    b.open(&page);
    let r = b.settled();
    assert_eq!(r["url"], url.as_str());
    assert_eq!(r["result"]["how"], "hit", "{r:#}");
    assert_shown(&r);

    let stats: Value = client
        .get(server.url("/_rendition/stats"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(stats["errors"], 0, "{stats:#}");
}

#[test]
fn playground_is_off_and_holds_no_key_when_the_demo_signs_with_rendition_keys() {
    let browser = chromium();
    if !available(browser.is_some(), "Debian's chromium") {
        return;
    }
    let cwd = tempfile::tempdir().unwrap();
    let client = reqwest::blocking::Client::new();
    // With its development key, the page signs with that key: it is in the page.
    let server = Server::start_demo(cwd.path());
    let dev_key = std::fs::read_to_string(server.dir.join(".rendition-dev-key")).unwrap();
    let dev_secret = dev_key.trim().split_once(':').unwrap().1.to_string();
    let page = client
        .get(server.url("/playground.html"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains(&dev_secret),
        "the page signs with the dev key"
    );
    drop(server);

    // The same folder served with a real key: no secret anywhere in a page or a served file.
    let server = Server::start_demo_with_keys(cwd.path(), Some(common::KEYS));
    let page = client.get(server.url("/playground.html")).send().unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert!(page.contains("The playground is off"), "{page}");
    let secrets = [
        dev_secret.as_str(),
        "0123456789abcdef0123456789abcdef",
        "fedcba9876543210fedcba9876543210",
    ];
    for file in files_under(&server.dir) {
        if file.starts_with('.') || file.starts_with("sources/") {
            continue;
        }
        let text =
            String::from_utf8_lossy(&std::fs::read(server.dir.join(&file)).unwrap()).into_owned();
        for secret in secrets {
            assert!(!text.contains(secret), "{file} holds a secret");
        }
    }

    // In a browser it says so, and shows no form.
    let mut b = Browser::start(browser.unwrap());
    b.open(&server.url("/playground.html"));
    let r = b.settled();
    assert!(
        r["off"].as_str().unwrap().contains("RENDITION_KEYS"),
        "{r:#}"
    );
    assert_eq!(
        b.eval(
            "[document.getElementById('off').hidden, document.getElementById('playground').hidden]"
        ),
        json!([false, true])
    );
}

/// The info request (issue 17, item 5): the playground signs it with the JavaScript client,
/// fetches it, and paints its placeholder while the result loads.
#[test]
fn playground_shows_the_placeholder_while_the_result_loads() {
    let browser = chromium();
    if !available(browser.is_some(), "Debian's chromium") {
        return;
    }
    let cwd = tempfile::tempdir().unwrap();
    let server = Server::start_demo(cwd.path());
    let mut b = Browser::start(browser.unwrap());
    b.open(&server.url("/playground.html"));
    let r = b.settled();
    let placeholder = &r["placeholder"];
    assert_eq!(placeholder["status"], "shown", "{r:#}");
    let info = &placeholder["info"];
    let source = b.eval(&format!(
        "JSON.parse(document.getElementById('config').textContent).sources.find(s => s.key === {})",
        r["source"]
    ));
    assert_eq!(
        [&info["width"], &info["height"]],
        [&source["width"], &source["height"]]
    );
    assert!(info["placeholder"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));
    // Shown in its panel, and behind the result while it loaded.
    assert_eq!(
        b.eval("document.querySelector('#placeholder img').naturalWidth > 0"),
        true
    );
    assert_eq!(r["result"]["placeholderShown"], true, "{r:#}");
    assert_shown(&r);
    let answer = reqwest::blocking::get(server.url(placeholder["url"].as_str().unwrap())).unwrap();
    assert_eq!(answer.status(), 200);
}
