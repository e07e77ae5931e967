//! `rendition serve`: one process that plays CDN, bucket and function over a store.
//!
//! An object that exists is served as a static file (Content-Type, ETag, conditional GET,
//! HEAD), as CloudFront would serve it from the bucket; a missing key under `/r/` goes to the
//! shared [`Service::miss`], as CloudFront's origin failover would. An auto path
//! (`…/w640.auto`) is first rewritten to its negotiated key from `Accept`, as the edge function
//! does, and answered with `Vary: Accept`. Nothing here knows how to render or verify: this
//! module only speaks HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::{header, Method, StatusCode};
use tokio::net::TcpListener;

use crate::auto::negotiate_path;
use crate::error::Error;
use crate::request::PREFIX;
use crate::service::{error_response, options_response, Service};
use crate::store::IMMUTABLE;

/// Path that answers the service's counters as JSON.
pub const STATS_PATH: &str = "/_rendition/stats";
/// How an info request's path ends (docs/url-format.md §14).
const INFO_SUFFIX: &str = ".json";

/// Serves `service` on an already bound listener until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().fallback(handle).with_state(service);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `addr` and serves in a background task; returns the bound address (for tests and
/// for printing the URL when the port was 0).
pub async fn spawn(addr: SocketAddr, service: Arc<Service>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = serve(listener, service, std::future::pending()).await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(local)
}

async fn handle(State(service): State<Arc<Service>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    // Format auto: the same rewrite as the edge function's, before the lookup, so the folder
    // holds the negotiated key, as the bucket would (docs/url-format.md §13.4).
    let negotiated = if path.starts_with(PREFIX) {
        let accept = req.headers().get_all(header::ACCEPT);
        negotiate_path(&path, accept.iter().filter_map(|v| v.to_str().ok()))
    } else {
        None
    };
    let routed = negotiated.as_deref().unwrap_or(&path);
    let mut response = route(&service, &method, routed, req.headers()).await;
    if negotiated.is_some() {
        // The answer depends on Accept while the URL does not: a shared cache must know.
        response
            .headers_mut()
            .append(header::VARY, http::HeaderValue::from_static("Accept"));
    }
    if routed.starts_with(PREFIX) && routed.ends_with(INFO_SUFFIX) {
        // Info requests may be fetched by a page of another origin, as the template's r/*.json
        // behaviour allows with CloudFront's SimpleCORS policy.
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            http::HeaderValue::from_static("*"),
        );
    }
    // How a rendition was answered, where browsers' Resource Timing can read it (the demo
    // page shows it): `rendition;desc="rendered";dur=…`, or `desc="hit"` for a stored file,
    // after a render's own stages (`read;dur=…, render;dur=…, store;dur=…`).
    if let Some(how) = response.headers().get("x-rendition").cloned() {
        let mut timing = format!(
            "rendition;desc=\"{}\";dur={:.1}",
            how.to_str().unwrap_or(""),
            started.elapsed().as_secs_f64() * 1000.0
        );
        if let Some(stages) = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
        {
            timing = format!("{timing}, {stages}");
        }
        if let Ok(v) = http::HeaderValue::from_str(&timing) {
            response.headers_mut().insert("server-timing", v);
        }
    }
    tracing::debug!(
        %method,
        path,
        status = response.status().as_u16(),
        us = started.elapsed().as_micros() as u64,
        "request"
    );
    response.map(Body::from)
}

async fn route(
    service: &Service,
    method: &Method,
    path: &str,
    headers: &http::HeaderMap,
) -> http::Response<Bytes> {
    if method == Method::OPTIONS {
        return options_response();
    }
    if method != Method::GET && method != Method::HEAD {
        let e = Error::MethodNotAllowed(format!("{method} (use GET or HEAD)"));
        return service.error_response(method, &e);
    }
    if path == STATS_PATH {
        return stats(service);
    }
    let rendition = path.starts_with(PREFIX);
    if let Some(key) = static_key(path) {
        match service.store().get(&key, u64::MAX).await {
            Ok(obj) => {
                let cache = if rendition { IMMUTABLE } else { "no-cache" };
                let not_modified = headers
                    .get(header::IF_NONE_MATCH)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| etag_matches(v, &obj.meta.etag));
                let builder = http::Response::builder()
                    .header(header::ETAG, &obj.meta.etag)
                    .header(header::CACHE_CONTROL, cache)
                    .header(header::CONTENT_TYPE, &obj.meta.content_type);
                if not_modified {
                    return builder
                        .status(StatusCode::NOT_MODIFIED)
                        .body(Bytes::new())
                        .expect("valid response");
                }
                let body = if method == Method::HEAD {
                    Bytes::new()
                } else {
                    obj.bytes
                };
                return builder
                    .status(StatusCode::OK)
                    .header(header::CONTENT_LENGTH, obj.meta.size)
                    .header("x-rendition", "hit")
                    .body(body)
                    .expect("valid response");
            }
            Err(Error::NotFound(_)) => {}
            Err(e) => {
                use std::sync::atomic::Ordering::Relaxed;
                service.stats.errors.fetch_add(1, Relaxed);
                service.stats.lookup_errors.fetch_add(1, Relaxed);
                tracing::warn!(key, code = e.code(), error = %e, "lookup failed");
                return service.error_response(method, &e);
            }
        }
        if rendition {
            // Just looked up and not there: the service need not look again.
            return service.miss_looked_up(method, path).await;
        }
    }
    if rendition {
        return service.miss(method, path).await;
    }
    error_response(method, &Error::NotFound("no such file".into()), 0)
}

/// The store key for a static request path, or `None` when it can't name a stored file.
fn static_key(path: &str) -> Option<String> {
    if path.starts_with(PREFIX) {
        // Rendition keys are exactly the path; anything percent-encoded is not canonical and
        // goes to the miss path, which rejects it.
        return (!path.contains('%')).then(|| path[1..].to_string());
    }
    let decoded = percent_decode(path)?;
    let key = decoded.strip_prefix('/')?;
    let key = if key.is_empty() || key.ends_with('/') {
        format!("{key}index.html")
    } else {
        key.to_string()
    };
    Some(key)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn etag_matches(header_value: &str, etag: &str) -> bool {
    header_value.trim() == "*"
        || header_value.split(',').any(|t| {
            let t = t.trim();
            t.strip_prefix("W/").unwrap_or(t) == etag
        })
}

fn stats(service: &Service) -> http::Response<Bytes> {
    use std::sync::atomic::Ordering::Relaxed;
    let s = &service.stats;
    let body = serde_json::json!({
        "renders": s.renders.load(Relaxed),
        "joined": s.joined.load(Relaxed),
        "existing": s.existing.load(Relaxed),
        "errors": s.errors.load(Relaxed),
        "stale": s.stale.load(Relaxed),
        "jpeg_fallbacks": s.jpeg_fallbacks.load(Relaxed),
        "lookup_errors": s.lookup_errors.load(Relaxed),
        "error_codes": s.error_codes.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        "bytes_in": s.bytes_in.load(Relaxed),
        "bytes_out": s.bytes_out.load(Relaxed),
        "read_ms": s.read_us.load(Relaxed) / 1000,
        "render_ms": s.render_us.load(Relaxed) / 1000,
        "store_ms": s.store_us.load(Relaxed) / 1000,
    })
    .to_string();
    http::Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Bytes::from(body))
        .expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_keys() {
        assert_eq!(static_key("/").as_deref(), Some("index.html"));
        assert_eq!(static_key("/a/").as_deref(), Some("a/index.html"));
        assert_eq!(static_key("/a%20b.jpg").as_deref(), Some("a b.jpg"));
        assert_eq!(
            static_key("/r/a.jpg/k.x/-.png").as_deref(),
            Some("r/a.jpg/k.x/-.png")
        );
        assert_eq!(static_key("/r/a%2Ejpg/k.x/-.png"), None);
        assert_eq!(static_key("/%zz"), None);
    }

    #[test]
    fn etags() {
        assert!(etag_matches("\"a\"", "\"a\""));
        assert!(etag_matches("W/\"a\", \"b\"", "\"a\""));
        assert!(etag_matches("*", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }
}
