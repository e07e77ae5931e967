//! The miss path, independent of Lambda and of any HTTP server.
//!
//! [`Service::miss`] takes a method and a raw path and returns a complete HTTP response:
//! verify the signed path (no I/O before this), check the source prefix, then, once per key
//! however many requests arrive together, read the source within the byte limit, render on
//! the blocking pool within the time budget, and store the result create-only. How a success
//! is answered depends on the edge: `rendition serve` answers with the bytes, the Lambda with a
//! redirect to the same URL so the CDN serves the stored object from then on. Errors become
//! short responses with a short explicit max-age, and nothing is stored.

mod flight;
mod report;
mod respond;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Response};
use tokio::sync::Semaphore;

use flight::Flights;
pub use report::{Report, Timing};
use respond::Produced;
pub use respond::{error_response, options_response, Outcome};

use crate::auto::Output;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::render::{self, Deadline};
use crate::request::{is_rendition_key, KeyRing, RenderRequest};
use crate::store::{bare_etag, NewObject, Put, Store};

/// How a successful render is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 200 with the image (the local server, which is its own CDN).
    Bytes,
    /// 302 to the same URL with `Cache-Control: no-store`: the CDN fetches the stored object.
    Redirect,
    /// The image when it is at most this many bytes, else a redirect (a buffered Lambda
    /// response carries about 4.5 MB of binary after base64).
    Inline { max_bytes: usize },
}

/// Everything the service needs besides its store and keys.
#[derive(Debug, Clone)]
pub struct Config {
    pub limits: Limits,
    /// Source keys must start with one of these; empty allows every key outside `r/`.
    pub source_prefixes: Vec<String>,
    pub answer: Answer,
    /// Renders running at once; more wait their turn (memory is the limit, not CPU).
    pub max_concurrent_renders: usize,
    /// `max-age` of 4xx answers, in seconds.
    pub client_error_max_age: u32,
    /// `max-age` of 5xx answers, in seconds.
    pub server_error_max_age: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            source_prefixes: Vec::new(),
            answer: Answer::Bytes,
            max_concurrent_renders: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            client_error_max_age: 60,
            server_error_max_age: 5,
        }
    }
}

/// Counters since start, for logs, tests and a stats endpoint.
#[derive(Debug, Default)]
pub struct Stats {
    pub renders: AtomicU64,
    pub joined: AtomicU64,
    pub existing: AtomicU64,
    pub errors: AtomicU64,
    /// Renditions deleted right after being stored because their source changed meanwhile.
    pub stale: AtomicU64,
    /// Renders of a JPEG that the renderer's own decoder declined, so that `jpeg-decoder`
    /// decoded it instead, at full size or at 1/2, 1/4 or 1/8 (slower; the log says why).
    pub jpeg_fallbacks: AtomicU64,
    /// Lookups of a rendition key that failed (the store erred or stalled, not a plain miss);
    /// counted in `errors` too.
    pub lookup_errors: AtomicU64,
    /// Source bytes read by renders.
    pub bytes_in: AtomicU64,
    /// Rendition bytes answered (renders, joins and existing objects).
    pub bytes_out: AtomicU64,
    /// Time spent by renders in each stage, in microseconds.
    pub read_us: AtomicU64,
    pub render_us: AtomicU64,
    pub store_us: AtomicU64,
    /// Errors by code (`bad_request`, `forbidden`, `timeout`…).
    pub error_codes: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl Stats {
    /// Adds one request's report.
    pub fn add(&self, r: &Report) {
        let add = |c: &AtomicU64, v: u64| c.fetch_add(v, Ordering::Relaxed);
        add(&self.bytes_out, r.bytes_out);
        if let Some(t) = r.timing {
            add(&self.bytes_in, t.bytes_in);
            add(&self.read_us, t.read.as_micros() as u64);
            add(&self.render_us, t.render.as_micros() as u64);
            add(&self.store_us, t.store.as_micros() as u64);
        }
        if let Some(code) = r.code {
            let mut codes = self.error_codes.lock().unwrap_or_else(|p| p.into_inner());
            *codes.entry(code).or_default() += 1;
        }
    }
}

/// How long the check after storing (has the source changed meanwhile?) may take before it is
/// given up: it runs after the render budget, while the client waits for its answer, and the
/// purge's second pass catches what it misses.
const TAKE_BACK_TIMEOUT: Duration = Duration::from_secs(3);

/// What the edge passes on with a miss.
#[derive(Debug, Clone, Copy)]
struct Miss {
    /// When the edge itself must have answered (the Lambda's invocation deadline).
    deadline: Option<Instant>,
    /// Whether to look the key up before rendering: the CDN's miss may be stale (another
    /// request or function stored it since), but `rendition serve` has just looked itself.
    lookup: bool,
}

pub struct Service {
    /// Where renditions are stored (and, unless `sources` says otherwise, sources read).
    store: Arc<dyn Store>,
    /// Where sources are read: the same store, or another bucket (the user's own).
    sources: Arc<dyn Store>,
    keys: KeyRing,
    config: Config,
    flights: Flights<Result<Arc<Produced>>>,
    /// Held by the blocking render itself, so a request that gives up (timeout, disconnect)
    /// does not free a slot while its render still runs and holds memory.
    permits: Arc<Semaphore>,
    pub stats: Stats,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, keys: KeyRing, config: Config) -> Self {
        let permits = Arc::new(Semaphore::new(config.max_concurrent_renders.max(1)));
        Service {
            sources: store.clone(),
            store,
            keys,
            config,
            flights: Flights::default(),
            permits,
            stats: Stats::default(),
        }
    }

    /// Reads sources from `sources` instead of the rendition store (sources in the user's
    /// own bucket, renditions in the stack's).
    pub fn with_sources(mut self, sources: Arc<dyn Store>) -> Self {
        self.sources = sources;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Where sources are read (the rendition store unless [`Service::with_sources`] said).
    pub fn sources(&self) -> &Arc<dyn Store> {
        &self.sources
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answers a request for a rendition that the CDN did not find: looks the key up again
    /// (it may have been stored since), else renders it.
    pub async fn miss(&self, method: &Method, path: &str) -> Response<Bytes> {
        self.miss_before(method, path, None).await
    }

    /// Answers a request for a rendition the caller has just looked up in [`Service::store`]
    /// and not found (`rendition serve`): one lookup per miss, not two. A request that loses a
    /// race with another one storing the same key renders it again, and its create-only write
    /// finds the stored object.
    pub async fn miss_looked_up(&self, method: &Method, path: &str) -> Response<Bytes> {
        let miss = Miss {
            deadline: None,
            lookup: false,
        };
        self.answer(method, path, miss).await
    }

    /// Like [`Service::miss`], but the render also stops at `deadline` (the Lambda passes its
    /// invocation deadline, so a slow render answers 504 itself instead of being killed).
    pub async fn miss_before(
        &self,
        method: &Method,
        path: &str,
        deadline: Option<Instant>,
    ) -> Response<Bytes> {
        let miss = Miss {
            deadline,
            lookup: true,
        };
        self.answer(method, path, miss).await
    }

    async fn answer(&self, method: &Method, path: &str, miss: Miss) -> Response<Bytes> {
        if method == Method::OPTIONS {
            return options_response();
        }
        let started = Instant::now();
        let mut report = Report {
            path: path.to_string(),
            ..Report::default()
        };
        let mut response = match self.try_miss(method, path, miss, &mut report).await {
            Ok((produced, outcome)) => {
                // A negotiated key's redirect names the auto path the viewer asked for, so the
                // browser and the caches keep one URL; the edge rewrites it again, to a hit.
                let location = crate::auto::auto_path_of(path).unwrap_or(path);
                let mut r = self.success(method, location, &produced, outcome);
                report.outcome = outcome.as_str();
                report.bytes_out = produced.bytes.len() as u64;
                if outcome == Outcome::Rendered {
                    report.timing = produced.timing;
                }
                if let Some(t) = report.timing {
                    if let Ok(v) = http::HeaderValue::from_str(&t.server_timing()) {
                        r.headers_mut()
                            .insert(http::header::HeaderName::from_static("server-timing"), v);
                    }
                }
                r
            }
            Err(e) => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                report.outcome = "error";
                report.code = Some(e.code());
                report.error = Some(e.to_string());
                self.error_response(method, &e)
            }
        };
        report.status = response.status().as_u16();
        report.total = started.elapsed();
        self.stats.add(&report);
        // One line per request, on every edge.
        report.log();
        response.extensions_mut().insert(report);
        response
    }

    async fn try_miss(
        &self,
        method: &Method,
        path: &str,
        miss: Miss,
        report: &mut Report,
    ) -> Result<(Arc<Produced>, Outcome)> {
        if method != Method::GET && method != Method::HEAD {
            return Err(Error::MethodNotAllowed(format!(
                "{method} (use GET or HEAD)"
            )));
        }
        let req = self.keys.verify(path)?;
        report.source = Some(req.source.clone());
        report.ops = Some(req.file_name());
        if req.output.content_type().is_none() {
            return Err(unnegotiated(&req));
        }
        self.check_source_allowed(&req.source)?;
        let key = path[1..].to_string();
        self.store.check_key(&key)?;

        let (result, ran) = self
            .flights
            .run(&key, || self.produce(&req, &key, miss))
            .await;
        let produced = result?;
        let outcome = match (produced.existing, ran) {
            (true, _) => Outcome::Existing,
            (false, true) => Outcome::Rendered,
            (false, false) => Outcome::Joined,
        };
        match outcome {
            Outcome::Existing => self.stats.existing.fetch_add(1, Ordering::Relaxed),
            Outcome::Joined => self.stats.joined.fetch_add(1, Ordering::Relaxed),
            Outcome::Rendered => self.stats.renders.fetch_add(1, Ordering::Relaxed),
        };
        Ok((produced, outcome))
    }

    fn check_source_allowed(&self, source: &str) -> Result<()> {
        if is_rendition_key(source) {
            return Err(Error::Forbidden("renditions cannot be sources".into()));
        }
        let prefixes = &self.config.source_prefixes;
        if !prefixes.is_empty() && !prefixes.iter().any(|p| source.starts_with(p.as_str())) {
            return Err(Error::Forbidden(
                "source is outside the allowed prefixes".into(),
            ));
        }
        Ok(())
    }

    /// Renders and stores one key; runs once per key among concurrent requests. Everything from
    /// the lookup to the stored result runs within the render budget, so a stalled store is
    /// answered 504 in time rather than holding the request.
    async fn produce(&self, req: &RenderRequest, key: &str, miss: Miss) -> Result<Arc<Produced>> {
        let deadline = miss.deadline;
        let configured = Duration::from_millis(self.config.limits.render_timeout_ms);
        let budget = match deadline {
            Some(d) => configured.min(d.saturating_duration_since(Instant::now())),
            None => configured,
        };
        let budget_ms = budget.as_millis() as u64;
        let deadline = Instant::now() + budget;
        let work = async {
            if miss.lookup {
                if let Some(existing) = self.lookup(key).await? {
                    return Ok((existing, None));
                }
            }
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| Error::Busy("renderer is shutting down".into()))?;
            let started = Instant::now();
            let limits = self.config.limits.clone();
            let source = self
                .sources
                .get(&req.source, limits.max_source_bytes)
                .await
                .map_err(|e| match e {
                    Error::NotFound(_) => Error::NotFound("source image does not exist".into()),
                    other => other,
                })?;
            let read = started.elapsed();
            let bytes_in = source.bytes.len() as u64;
            // Recorded on the rendition, so a purge can tell it from renditions of an older source.
            let source_etag = source.meta.etag.clone();
            let (ops, output) = (req.ops.clone(), req.output);
            let made = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let passed = move || Instant::now() >= deadline;
                let deadline = Deadline::new(budget_ms, &passed);
                render::make(&source.bytes, &ops, output, &limits, deadline)
            })
            .await
            .map_err(|e| Error::Internal(format!("render task: {e}")))??;
            let rendered_at = started.elapsed();
            if let Some(reason) = made.jpeg_fallback {
                self.stats.jpeg_fallbacks.fetch_add(1, Ordering::Relaxed);
                tracing::info!(key, %reason, "jpeg source decoded by jpeg-decoder");
            }
            let content_type = made.content_type.to_string();
            let bytes = Bytes::from(made.bytes);
            let new = NewObject::new(&content_type).rendered_from(&source_etag);
            let etag = match self.store.put_new(key, bytes.clone(), new).await? {
                Put::Created(meta) => Some(meta.etag),
                // Another writer got there first with the same rendition; ours is identical.
                Put::Exists => None,
            };
            let stored_from = etag.is_some().then_some(source_etag);
            tracing::debug!(
                key,
                bytes = bytes.len(),
                ms = started.elapsed().as_millis() as u64,
                read_us = read.as_micros() as u64,
                render_us = (rendered_at - read).as_micros() as u64,
                store_us = (started.elapsed() - rendered_at).as_micros() as u64,
                "rendered"
            );
            let produced = Arc::new(Produced {
                bytes,
                content_type,
                etag,
                existing: false,
                timing: Some(Timing {
                    bytes_in,
                    read,
                    render: rendered_at - read,
                    store: started.elapsed() - rendered_at,
                }),
            });
            Ok((produced, stored_from))
        };
        let (produced, stored_from) = tokio::time::timeout(budget, work)
            .await
            .unwrap_or(Err(Error::Timeout(budget_ms)))?;
        // Outside the budget: the rendition is stored, so this answer is a success whatever
        // the check finds (one lookup, given up after TAKE_BACK_TIMEOUT, or sooner when the
        // edge must have answered by then).
        if let Some(source_etag) = stored_from {
            let limit = match miss.deadline {
                Some(d) => TAKE_BACK_TIMEOUT.min(d.saturating_duration_since(Instant::now())),
                None => TAKE_BACK_TIMEOUT,
            };
            self.take_back_if_stale(req, key, &source_etag, limit).await;
        }
        Ok(produced)
    }

    /// The object already stored at `key`, if any. Another request (or another Lambda) may
    /// have stored it since the CDN looked; one read answers both questions (is it there, and
    /// what is it).
    async fn lookup(&self, key: &str) -> Result<Option<Arc<Produced>>> {
        match self.store.get(key, u64::MAX).await {
            Ok(obj) => Ok(Some(Arc::new(Produced {
                bytes: obj.bytes,
                content_type: obj.meta.content_type,
                etag: Some(obj.meta.etag),
                existing: true,
                timing: None,
            }))),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => {
                self.stats.lookup_errors.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    /// Deletes the rendition just stored at `key` when its source changed (or went away)
    /// while it was being rendered: a purge that ran in the meantime could not see it, and it
    /// would otherwise outlive its source. The answer to this request still carries it; the
    /// next request renders the new original. If the source can't be checked, the purge's own
    /// second pass (`lifecycle`) is what catches it.
    async fn take_back_if_stale(
        &self,
        req: &RenderRequest,
        key: &str,
        source_etag: &str,
        limit: Duration,
    ) {
        let head = tokio::time::timeout(limit, self.sources.head(&req.source));
        let now = match head.await {
            Ok(Ok(now)) => now,
            Ok(Err(e)) => {
                tracing::warn!(key, error = %e, "could not check the source after storing");
                return;
            }
            Err(_) => {
                tracing::warn!(key, "checking the source after storing took too long");
                return;
            }
        };
        let unchanged = now.is_some_and(|m| bare_etag(&m.etag) == bare_etag(source_etag));
        if unchanged {
            return;
        }
        self.stats.stale.fetch_add(1, Ordering::Relaxed);
        match self.store.delete(&[key.to_string()]).await {
            Ok(()) => tracing::info!(key, "source changed while rendering; rendition taken back"),
            Err(e) => tracing::warn!(key, error = %e, "could not take back a stale rendition"),
        }
    }

    fn success(
        &self,
        method: &Method,
        path: &str,
        p: &Produced,
        outcome: Outcome,
    ) -> Response<Bytes> {
        respond::success(self.config.answer, method, path, p, outcome)
    }

    /// A short plain-text error with a short explicit max-age.
    pub fn error_response(&self, method: &Method, e: &Error) -> Response<Bytes> {
        error_response(method, e, self.max_age_for(e))
    }

    fn max_age_for(&self, e: &Error) -> u32 {
        if e.status().is_server_error() {
            self.config.server_error_max_age
        } else {
            self.config.client_error_max_age
        }
    }
}

/// The 400 for an auto path that reached the origin as it is: the edge chooses its format
/// from `Accept` before the cache (docs/url-format.md §13.4), so it never should.
fn unnegotiated(req: &RenderRequest) -> Error {
    let auto = req.output.auto().map_or("auto", |a| a.extension());
    let choices = match req.output {
        Output::Auto(a) => a
            .choices()
            .map(|f| format!(".{auto}.{}", f.extension()))
            .join(", "),
        _ => String::new(),
    };
    Error::BadRequest(format!(
        "format {auto} is chosen from the viewer's Accept header before the cache, by the \
         viewer-request function (or rendition serve), which rewrites the path to end in one of \
         {choices}; this path reached the origin unrewritten (is the function associated?)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Format, Ops};
    use crate::store::MemoryStore;
    use crate::store::IMMUTABLE;
    use http::{header, StatusCode};

    fn keys() -> KeyRing {
        KeyRing::from_spec("t1:0123456789abcdef0123456789abcdef").unwrap()
    }

    fn jpeg() -> Vec<u8> {
        let rgb = vec![200u8; 64 * 48 * 3];
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(&rgb, 64, 48, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    fn service(answer: Answer) -> (Arc<MemoryStore>, Service) {
        let store = Arc::new(MemoryStore::new());
        store.insert("img/a.jpg", jpeg());
        let config = Config {
            answer,
            ..Config::default()
        };
        (store.clone(), Service::new(store, keys(), config))
    }

    fn enlarged(source: &str, width: u32) -> String {
        let ops = Ops {
            width: Some(width),
            enlarge: true,
            ..Ops::default()
        };
        keys().sign_new(source, ops, Format::Png).unwrap()
    }

    fn path(source: &str, width: u32) -> String {
        keys()
            .sign_new(
                source,
                Ops {
                    width: Some(width),
                    ..Ops::default()
                },
                Format::Png,
            )
            .unwrap()
    }

    #[tokio::test]
    async fn redirect_mode_stores_then_redirects_then_serves_bytes() {
        let (store, svc) = service(Answer::Redirect);
        let p = path("img/a.jpg", 32);
        let r = svc.miss(&Method::GET, &p).await;
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(r.headers()[header::LOCATION], p.as_str());
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert!(store.keys().contains(&p[1..].to_string()));
        // The object exists now: the answer is its bytes, never another redirect.
        let r = svc.miss(&Method::GET, &p).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-rendition"], "existing");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "image/png");
    }

    #[tokio::test]
    async fn info_requests_are_stored_as_json_and_fail_as_renders_do() {
        use crate::auto::Output;
        let (store, svc) = service(Answer::Redirect);
        store.insert("img/broken.jpg", jpeg()[..60].to_vec());
        let info = keys()
            .sign_new("img/a.jpg", Ops::default(), Output::Info)
            .unwrap();
        assert!(info.ends_with("/-.json"), "{info}");
        let r = svc.miss(&Method::GET, &info).await;
        assert_eq!(r.status(), StatusCode::FOUND);
        let stored = store.get(&info[1..], u64::MAX).await.unwrap();
        assert_eq!(stored.meta.content_type, "application/json");
        let doc: serde_json::Value = serde_json::from_slice(&stored.bytes).unwrap();
        assert_eq!(
            (doc["width"].as_u64(), doc["height"].as_u64()),
            (Some(64), Some(48))
        );
        assert_eq!(doc["format"], "jpeg");
        let r = svc.miss(&Method::GET, &info).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(r.headers()[header::CACHE_CONTROL], IMMUTABLE);

        // An undecodable or missing source: the status a render of it gets, nothing stored.
        for source in ["img/broken.jpg", "img/missing.jpg"] {
            let info = keys()
                .sign_new(source, Ops::default(), Output::Info)
                .unwrap();
            let render = path(source, 32);
            let (a, b) = (
                svc.miss(&Method::GET, &info).await.status(),
                svc.miss(&Method::GET, &render).await.status(),
            );
            assert!(a.is_client_error(), "{source}: {a}");
            assert_eq!(a, b, "{source}");
            assert!(store
                .keys()
                .iter()
                .all(|k| !k.starts_with(&format!("r/{source}"))));
        }
        // Operations other than a version are refused before anything is read.
        let sized = info.replace("/-.json", "/w32.json");
        assert_eq!(
            svc.miss(&Method::GET, &sized).await.status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[tokio::test]
    async fn the_origin_renders_negotiated_keys_redirects_to_their_auto_path_and_refuses_auto_paths(
    ) {
        use crate::auto::Auto;
        let (store, svc) = service(Answer::Redirect);
        let ops = Ops {
            width: Some(32),
            ..Ops::default()
        };
        let auto = keys().sign_new("img/a.jpg", ops, Auto::Auto).unwrap();
        // Unrewritten, an auto path means the edge function is missing: 400, nothing stored.
        let r = svc.miss(&Method::GET, &auto).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body = String::from_utf8(r.body().to_vec()).unwrap();
        assert!(body.contains(".auto.avif, .auto.webp, .auto.jpg"), "{body}");
        assert!(store.keys().iter().all(|k| !k.starts_with("r/")));
        // Forged, it is a 403 like any path.
        let forged = auto.replace("w32.auto", "w33.auto");
        assert_eq!(
            svc.miss(&Method::GET, &forged).await.status(),
            StatusCode::FORBIDDEN
        );

        for (choice, content_type) in [
            ("avif", "image/avif"),
            ("webp", "image/webp"),
            ("jpg", "image/jpeg"),
        ] {
            let key = format!("{auto}.{choice}");
            let r = svc.miss(&Method::GET, &key).await;
            assert_eq!(r.status(), StatusCode::FOUND, "{choice}");
            // The viewer asked for the auto path: it keeps that URL, and the edge rewrites it
            // again, this time to a stored object.
            assert_eq!(r.headers()[header::LOCATION], auto.as_str(), "{choice}");
            let r = svc.miss(&Method::GET, &key).await;
            assert_eq!(r.headers()[header::CONTENT_TYPE], content_type, "{choice}");
        }
        let mut stored: Vec<String> = store
            .keys()
            .into_iter()
            .filter(|k| k.starts_with("r/"))
            .collect();
        stored.sort();
        assert_eq!(
            stored,
            ["avif", "jpg", "webp"].map(|c| format!("{}.{c}", &auto[1..]))
        );
    }

    #[tokio::test]
    async fn renditions_record_the_etag_of_their_source() {
        let (store, svc) = service(Answer::Bytes);
        let p = path("img/a.jpg", 16);
        assert_eq!(svc.miss(&Method::GET, &p).await.status(), StatusCode::OK);
        let source = store.head("img/a.jpg").await.unwrap().unwrap();
        let rendition = store.head(&p[1..]).await.unwrap().unwrap();
        assert_eq!(
            rendition.source_etag.as_deref(),
            Some(crate::store::bare_etag(&source.etag))
        );
        assert_eq!(source.source_etag, None);
    }

    #[tokio::test]
    async fn inline_mode_answers_small_images_with_bytes() {
        let (_, svc) = service(Answer::Inline { max_bytes: 1 << 20 });
        let r = svc.miss(&Method::GET, &path("img/a.jpg", 16)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CACHE_CONTROL], IMMUTABLE);
        let (_, svc) = service(Answer::Inline { max_bytes: 10 });
        let r = svc.miss(&Method::GET, &path("img/a.jpg", 16)).await;
        assert_eq!(r.status(), StatusCode::FOUND);
    }

    #[tokio::test]
    async fn errors_write_nothing() {
        let (store, svc) = service(Answer::Bytes);
        let good = path("img/a.jpg", 16);
        store.insert("img/not-an-image.jpg", b"hello".to_vec());
        let cases = [
            (good.replace("w16", "w016"), 400),
            (good.replace("/t1.", "/t1.A"), 400),
            (path("img/a.jpg", 17).replace("w17", "w16"), 403),
            (path("img/missing.jpg", 16), 404),
            (path("r/x.jpg", 16), 403),
            (enlarged("img/a.jpg", 20_000), 413),
            (path("img/not-an-image.jpg", 16), 415),
        ];
        for (p, status) in cases {
            let r = svc.miss(&Method::GET, &p).await;
            assert_eq!(r.status().as_u16(), status, "{p}");
            assert!(r.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .starts_with("public, max-age="));
        }
        assert_eq!(store.keys(), vec!["img/a.jpg", "img/not-an-image.jpg"]);
    }

    #[tokio::test]
    async fn source_prefixes_are_enforced() {
        let store = Arc::new(MemoryStore::new());
        store.insert("img/a.jpg", jpeg());
        store.insert("private/a.jpg", jpeg());
        let config = Config {
            source_prefixes: vec!["img/".into()],
            ..Config::default()
        };
        let svc = Service::new(store, keys(), config);
        assert_eq!(
            svc.miss(&Method::GET, &path("img/a.jpg", 8)).await.status(),
            StatusCode::OK
        );
        let refused = svc.miss(&Method::GET, &path("private/a.jpg", 8)).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(refused.headers()["x-content-type-options"], "nosniff");
        assert_eq!(refused.headers()["x-rendition-error"], "forbidden");
    }

    #[test]
    fn a_503_says_when_to_ask_again() {
        let e = Error::Busy("storage is throttling requests".into());
        let r = error_response(&Method::GET, &e, 5);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
        assert_eq!(r.headers()[header::CACHE_CONTROL], "public, max-age=5");
        let r = error_response(&Method::GET, &Error::Storage("x".into()), 5);
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
    }

    #[tokio::test]
    async fn an_edge_deadline_shortens_the_budget() {
        let (store, svc) = service(Answer::Bytes);
        let p = path("img/a.jpg", 40);
        // A deadline already passed: both the async timeout and the renderer's own check refuse.
        let r = svc
            .miss_before(&Method::GET, &p, Some(Instant::now()))
            .await;
        assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(store.keys(), vec!["img/a.jpg"]);
        assert!(svc.flights.is_empty(), "no flight left behind");
    }

    #[tokio::test]
    async fn internal_details_stay_in_the_log() {
        let r = error_response(
            &Method::GET,
            &Error::Internal("task 7 panicked at src/x.rs".into()),
            5,
        );
        let body = String::from_utf8(r.into_body().to_vec()).unwrap();
        assert_eq!(body, "500 internal error\n");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_render_once() {
        let (_, svc) = service(Answer::Bytes);
        let svc = Arc::new(svc);
        let p = path("img/a.jpg", 24);
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (svc, p) = (svc.clone(), p.clone());
                tokio::spawn(async move { svc.miss(&Method::GET, &p).await })
            })
            .collect();
        let mut bodies = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            bodies.push(r.into_body());
        }
        assert_eq!(svc.stats.renders.load(Ordering::Relaxed), 1);
        assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    }

    /// A store that counts every call, to prove that refused paths never reach it.
    struct Counting {
        inner: MemoryStore,
        calls: AtomicU64,
    }

    #[async_trait::async_trait]
    impl Store for Counting {
        async fn get(&self, key: &str, max_bytes: u64) -> Result<crate::store::Object> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.inner.get(key, max_bytes).await
        }
        async fn head(&self, key: &str) -> Result<Option<crate::store::ObjectMeta>> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.inner.head(key).await
        }
        async fn put_new(&self, key: &str, bytes: Bytes, new: NewObject<'_>) -> Result<Put> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.inner.put_new(key, bytes, new).await
        }
        async fn list(&self, prefix: &str) -> Result<Vec<crate::store::Listed>> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.inner.list(prefix).await
        }
        async fn delete(&self, keys: &[String]) -> Result<()> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.inner.delete(keys).await
        }
        fn describe(&self) -> String {
            "counting".into()
        }
    }

    /// Every single-byte change of a valid signed path (replaced by each printable ASCII byte
    /// and a few others, deleted, or doubled), and the usual hostile forms, is refused with a
    /// 4xx before any storage call.
    #[tokio::test]
    async fn hostile_paths_are_refused_before_any_storage_read() {
        let store = Arc::new(Counting {
            inner: MemoryStore::new(),
            calls: AtomicU64::new(0),
        });
        store.inner.insert("img/a.jpg", jpeg());
        // t1 signs; t0 is retired from this ring (a path it signed is as good as forged).
        let retired = KeyRing::from_spec("t0:fedcba9876543210fedcba9876543210").unwrap();
        let svc = Service::new(store.clone(), keys(), Config::default());
        let valid = path("img/a.jpg", 32);
        let (sig_at, sig_len) = {
            let seg = valid.split('/').nth(3).unwrap();
            (valid.find(seg).unwrap(), seg.len())
        };

        let mut hostile: Vec<String> = Vec::new();
        let bytes = valid.as_bytes();
        let replacements: Vec<u8> = (0x20..0x7f).chain([0x00, 0x0a, 0x80, 0xff]).collect();
        for i in 0..bytes.len() {
            for &b in &replacements {
                if b != bytes[i] {
                    let mut v = bytes.to_vec();
                    v[i] = b;
                    hostile.push(String::from_utf8_lossy(&v).into_owned());
                }
            }
            let mut deleted = bytes.to_vec();
            deleted.remove(i);
            hostile.push(String::from_utf8_lossy(&deleted).into_owned());
            let mut doubled = bytes.to_vec();
            doubled.insert(i, bytes[i]);
            hostile.push(String::from_utf8_lossy(&doubled).into_owned());
        }
        let sig_end = sig_at + sig_len;
        hostile.extend([
            // Truncated and over-long signatures.
            format!("{}{}", &valid[..sig_end - 1], &valid[sig_end..]),
            format!("{}{}", &valid[..sig_at + 3], &valid[sig_end..]),
            format!("{}AAAA{}", &valid[..sig_end], &valid[sig_end..]),
            format!("{}{}", &valid[..sig_at], &valid[sig_end..]),
            // Unknown and retired keys.
            valid.replacen("/t1.", "/k9.", 1),
            retired
                .sign_new(
                    "img/a.jpg",
                    Ops {
                        width: Some(32),
                        ..Ops::default()
                    },
                    Format::Png,
                )
                .unwrap(),
            // Dot segments, encoded segments, doubled slashes, a trailing slash.
            valid.replacen("/img/", "/img/./", 1),
            valid.replacen("/img/", "/img/../img/", 1),
            valid.replacen("/img/", "/img%2F", 1),
            valid.replacen("a.jpg", "a%2Ejpg", 1),
            valid.replacen("/r/", "/r//", 1),
            valid.replacen("/r/", "//r/", 1),
            format!("{valid}/"),
            format!("{valid}?x=1"),
            // Over-long paths.
            format!("{valid}{}", "a".repeat(10_000)),
            valid.replacen("/img/", &format!("/{}/", "d".repeat(5_000)), 1),
        ]);
        let n = hostile.len();
        for p in hostile {
            let r = svc.miss(&Method::GET, &p).await;
            assert!(
                r.status().is_client_error(),
                "{p:?} answered {}",
                r.status()
            );
        }
        assert_eq!(store.calls.load(Ordering::Relaxed), 0, "{n} hostile paths");
        assert!(n > 4_000, "{n}");
        // The valid path itself does reach the store (so the count above could have failed).
        assert_eq!(
            svc.miss(&Method::GET, &valid).await.status(),
            StatusCode::OK
        );
        assert!(store.calls.load(Ordering::Relaxed) > 0);
    }
}
