//! Pre-rendering (`rendition warm`): render renditions into the store before anyone asks, so a
//! site moving years of images behind rendition starts with its caches full.
//!
//! The work is a list of rendition paths, read from a list (one per line, full URLs allowed),
//! found in HTML files, or made by signing every source under a prefix with presets. Each path
//! goes through the same [`Service`] as a request would (verify, read, render, store
//! create-only), a bounded number at a time. A key already in the store is skipped after one
//! `HEAD`, so a run that stopped half-way resumes where it was. An auto path (§13 of the URL
//! format) warms its three negotiated keys. What went wrong is collected, never fatal: a
//! malformed line or a broken source is reported and the rest goes on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use tokio::sync::Semaphore;

use crate::auto::Output;
use crate::options::Options;
use crate::request::{is_rendition_key, RenderRequest, PREFIX};
use crate::service::Service;

/// One thing to warm, or why a line of input could not be one.
pub type Item = std::result::Result<String, Failure>;

/// Something that could not be warmed: what (a path, a line, a source) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub what: String,
    pub why: String,
}

/// What happened to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Rendered and stored now, this many bytes.
    Rendered(u64),
    /// Already in the store: nothing rendered.
    Existing,
    Failed(Failure),
}

/// The totals of a run.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub rendered: u64,
    pub existing: u64,
    /// Bytes stored by this run.
    pub bytes: u64,
    pub failed: Vec<Failure>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn add(&mut self, done: &Done) {
        match done {
            Done::Rendered(bytes) => {
                self.rendered += 1;
                self.bytes += bytes;
            }
            Done::Existing => self.existing += 1,
            Done::Failed(f) => self.failed.push(f.clone()),
        }
    }

    /// Paths handled so far, whatever their outcome.
    pub fn done(&self) -> u64 {
        self.rendered + self.existing + self.failed.len() as u64
    }
}

/// Reads a list: one rendition path per line (`/r/…`), a storage key (`r/…`) or a full URL
/// whose path is one; blank lines and lines starting with `#` are skipped. A line that is none
/// of these is a failure naming its line number; nothing else is checked here (the service
/// verifies each path as it would a request).
pub fn from_list(text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        items.push(path_of(line).ok_or_else(|| Failure {
            what: format!("line {}", i + 1),
            why: format!("{line:?} is not a rendition path (/r/…) or URL"),
        }));
    }
    items
}

/// The rendition path in `text`: itself, `/` + a storage key, or a URL's path without its
/// query and fragment.
fn path_of(text: &str) -> Option<String> {
    let path = match text.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            &rest[rest.find('/')?..]
        }
        Some(_) => return None,
        None => text,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.starts_with(PREFIX) {
        Some(path.to_string())
    } else if is_rendition_key(path) {
        Some(format!("/{path}"))
    } else {
        None
    }
}

/// Every rendition path in an HTML page (`src`, `srcset`, `href`, inline styles, scripts):
/// URLs whose path starts with `/r/` (relative, absolute or protocol-relative) and parses as a
/// rendition path, in order of first appearance, each once. Other `/r/` URLs (a forum's
/// `/r/rust`, a `/photos/r/` folder) are not ours and are skipped.
pub fn from_html(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = html.as_bytes();
    let is_path_byte = |b: &u8| b.is_ascii_alphanumeric() || b"-_.!/".contains(b);
    let mut at = 0;
    while let Some(i) = html[at..].find(PREFIX) {
        let start = at + i;
        let end = bytes[start..]
            .iter()
            .position(|b| !is_path_byte(b))
            .map_or(bytes.len(), |n| start + n);
        let candidate = &html[start..end];
        if starts_a_path(bytes, start) && RenderRequest::parse(candidate).is_ok() {
            if !found.iter().any(|f| f == candidate) {
                found.push(candidate.to_string());
            }
            at = end;
        } else {
            at = start + 1;
        }
    }
    found
}

/// Whether the `/` at `start` begins a URL's path: nothing URL-like before it (`src="/r/…`),
/// or only a scheme and host (`https://cdn.example.com/r/…`, `//cdn.example.com/r/…`), not
/// the end of a longer path (`/photos/r/…`).
fn starts_a_path(bytes: &[u8], start: usize) -> bool {
    let token_start = bytes[..start]
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || b"-_.!/:".contains(b)))
        .map_or(0, |i| i + 1);
    let token = &bytes[token_start..start];
    if token.is_empty() {
        return true;
    }
    let host = match token.windows(3).position(|w| w == b"://") {
        Some(i) if i > 0 => &token[i + 3..],
        Some(_) => return false,
        None => match token.strip_prefix(b"//") {
            Some(host) => host,
            None => return false,
        },
    };
    !host.is_empty() && !host.contains(&b'/')
}

/// The paths of `presets` for every source under `prefix` in the service's source store. A
/// preset that can't apply to a source (a format its extension can't give) is a failure for
/// that pair; keys under `r/` are never sources.
pub async fn from_presets(
    service: &Service,
    prefix: &str,
    presets: &[(String, Options)],
) -> crate::Result<Vec<Item>> {
    let mut items = Vec::new();
    for listed in service.sources().list(prefix).await? {
        if is_rendition_key(&listed.key) {
            continue;
        }
        for (name, options) in presets {
            let signed = options
                .resolve(&listed.key)
                .and_then(|(ops, output)| service.keys().sign_new(&listed.key, ops, output));
            items.push(signed.map_err(|e| Failure {
                what: format!("{} with preset {name}", listed.key),
                why: e.message().to_string(),
            }));
        }
    }
    Ok(items)
}

/// The keys a path warms: itself, or an auto path's negotiated keys.
pub fn expand(path: &str) -> Vec<String> {
    match RenderRequest::parse(path).map(|(req, _)| req.output) {
        Ok(Output::Auto(auto)) => auto
            .choices()
            .map(|f| format!("{path}.{}", f.extension()))
            .to_vec(),
        _ => vec![path.to_string()],
    }
}

/// Warms `items`, at most `jobs` at a time, calling `progress` after each with its outcome and
/// the totals so far. Never fails as a whole: every failure is in the summary.
pub async fn warm(
    service: Arc<Service>,
    items: Vec<Item>,
    jobs: usize,
    mut progress: impl FnMut(&str, &Done, &Summary),
) -> Summary {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut work = Vec::new();
    for item in items {
        match item {
            Ok(path) => work.extend(expand(&path)),
            Err(f) => {
                let done = Done::Failed(f);
                summary.add(&done);
                progress("", &done, &summary);
            }
        }
    }
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    // Which path each task warms, to name it should the task itself fail.
    let mut spawned = std::collections::HashMap::new();
    for path in work {
        let queued = path.clone();
        let permit = permits.clone().acquire_owned().await.expect("never closed");
        let service = service.clone();
        let id = tasks
            .spawn(async move {
                let done = warm_one(&service, &path).await;
                drop(permit);
                (path, done)
            })
            .id();
        spawned.insert(id, queued);
        // Report what has finished meanwhile, so progress moves while paths are queued.
        while let Some(joined) = tasks.try_join_next() {
            report(joined, &spawned, &mut summary, &mut progress);
        }
    }
    while let Some(joined) = tasks.join_next().await {
        report(joined, &spawned, &mut summary, &mut progress);
    }
    summary.elapsed = started.elapsed();
    summary
}

fn report(
    joined: std::result::Result<(String, Done), tokio::task::JoinError>,
    spawned: &std::collections::HashMap<tokio::task::Id, String>,
    summary: &mut Summary,
    progress: &mut impl FnMut(&str, &Done, &Summary),
) {
    let (path, done) = joined.unwrap_or_else(|e| {
        let path = spawned.get(&e.id()).cloned().unwrap_or_default();
        let f = Failure {
            what: path.clone(),
            why: format!("stopped: {e}"),
        };
        (path, Done::Failed(f))
    });
    summary.add(&done);
    progress(&path, &done, summary);
}

/// Warms one path: skipped when its key is stored, else rendered through the service exactly
/// as a request would be.
async fn warm_one(service: &Service, path: &str) -> Done {
    let failed = |why: String| {
        Done::Failed(Failure {
            what: path.to_string(),
            why,
        })
    };
    if let Some(key) = path.strip_prefix('/') {
        match service.store().head(key).await {
            Ok(Some(_)) => return Done::Existing,
            Ok(None) => {}
            Err(e) => return failed(format!("{} {e}", e.status().as_u16())),
        }
    }
    let response = service.miss_looked_up(&Method::GET, path).await;
    let status = response.status();
    if status.is_success() {
        // Another writer may have stored it meanwhile ("joined" or "existing"): not ours.
        return match response.headers().get("x-rendition").map(|v| v.as_bytes()) {
            Some(b"rendered") => Done::Rendered(response.body().len() as u64),
            _ => Done::Existing,
        };
    }
    let body = String::from_utf8_lossy(response.body());
    failed(body.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_take_paths_keys_and_urls_and_name_bad_lines() {
        let items = from_list(
            "# renditions\n/r/a.jpg/k1.x/w1.webp\n\n r/b.jpg/k1.x/-.png \nhttps://cdn.example.com/r/c.jpg/k1.x/w2.jpg?v=1#top\nphotos/d.jpg\nftp://x/r/e.jpg/k1.x/-.png\n",
        );
        assert_eq!(items[0], Ok("/r/a.jpg/k1.x/w1.webp".into()));
        assert_eq!(items[1], Ok("/r/b.jpg/k1.x/-.png".into()));
        assert_eq!(items[2], Ok("/r/c.jpg/k1.x/w2.jpg".into()));
        let bad: Vec<&str> = items[3..]
            .iter()
            .map(|i| i.as_ref().unwrap_err().what.as_str())
            .collect();
        assert_eq!(bad, ["line 6", "line 7"]);
    }

    #[test]
    fn html_yields_each_rendition_path_once() {
        let keys = crate::KeyRing::from_spec("k1:0123456789abcdef0123456789abcdef").unwrap();
        let ops = |w| crate::Ops {
            width: Some(w),
            ..crate::Ops::default()
        };
        let a = keys
            .sign_new("a.jpg", ops(320), crate::Format::Webp)
            .unwrap();
        let b = keys
            .sign_new("a.jpg", ops(640), crate::Format::Webp)
            .unwrap();
        let html = format!(
            r#"<img src="https://cdn.example.com{a}" srcset="{a} 320w, {b} 640w" alt="">
               <a href="https://reddit.com/r/rust/">not ours</a><div style="background:url('{b}')">"#
        );
        assert_eq!(from_html(&html), [a.clone(), b.clone()]);
        // A source key with an `r` folder holds a well-formed tail; only the whole path counts,
        // and a `/r/` at the end of a longer path is not one of ours.
        let nested = keys
            .sign_new("img/r/a.jpg", ops(320), crate::Format::Webp)
            .unwrap();
        let html = format!(
            r#"<img src="{nested}"><img src="//cdn.example.com{b}"><a href="/photos{a}">x</a>."#
        );
        assert_eq!(from_html(&html), [nested, b]);
    }

    /// A source store that counts the reads in progress, each held for a moment.
    struct Counting {
        inner: crate::store::MemoryStore,
        now: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl crate::store::Store for Counting {
        async fn get(&self, key: &str, max: u64) -> crate::Result<crate::store::Object> {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.now.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            tokio::time::sleep(Duration::from_millis(30)).await;
            let got = self.inner.get(key, max).await;
            self.now.fetch_sub(1, SeqCst);
            got
        }
        async fn head(&self, key: &str) -> crate::Result<Option<crate::store::ObjectMeta>> {
            self.inner.head(key).await
        }
        async fn put_new(
            &self,
            key: &str,
            bytes: bytes::Bytes,
            new: crate::store::NewObject<'_>,
        ) -> crate::Result<crate::store::Put> {
            self.inner.put_new(key, bytes, new).await
        }
        async fn list(&self, prefix: &str) -> crate::Result<Vec<crate::store::Listed>> {
            self.inner.list(prefix).await
        }
        async fn delete(&self, keys: &[String]) -> crate::Result<()> {
            self.inner.delete(keys).await
        }
        fn describe(&self) -> String {
            "counting".into()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_jobs_paths_run_at_once() {
        let keys = crate::KeyRing::from_spec("k1:0123456789abcdef0123456789abcdef").unwrap();
        let sources = Counting {
            inner: crate::store::MemoryStore::new(),
            now: Default::default(),
            most: Default::default(),
        };
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 80)
            .encode(&[90u8; 32 * 24 * 3], 32, 24, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let mut items = Vec::new();
        for i in 0..8 {
            let name = format!("s{i}.jpg");
            sources.inner.insert(&name, jpeg.clone());
            items.push(Ok(keys
                .sign_new(&name, crate::Ops::default(), crate::Format::Png)
                .unwrap()));
        }
        let sources = Arc::new(sources);
        let service = Service::new(
            Arc::new(crate::store::MemoryStore::new()),
            keys,
            crate::service::Config {
                max_concurrent_renders: 8,
                ..crate::service::Config::default()
            },
        )
        .with_sources(sources.clone());
        let summary = warm(Arc::new(service), items, 3, |_, _, _| {}).await;
        assert_eq!(
            (summary.rendered, summary.failed.len()),
            (8, 0),
            "{summary:?}"
        );
        let most = sources.most.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            most, 3,
            "at most --jobs reads at once, and that many when there is work"
        );
    }

    #[test]
    fn auto_paths_warm_their_three_choices() {
        let keys = crate::KeyRing::from_spec("k1:0123456789abcdef0123456789abcdef").unwrap();
        let auto = keys
            .sign_new("a.jpg", crate::Ops::default(), crate::auto::Auto::Auto)
            .unwrap();
        assert_eq!(
            expand(&auto),
            ["avif", "webp", "jpg"].map(|c| format!("{auto}.{c}"))
        );
        assert_eq!(expand("/r/whatever"), ["/r/whatever"]);
    }
}
