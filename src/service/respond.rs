//! How the miss path answers: the same responses on every edge (`rendition serve`, the Lambda).
//!
//! A success is the image, or a redirect to the same URL so the CDN serves the stored object;
//! an error is a short plain-text body with a short explicit max-age, so a CDN caches a refusal
//! briefly and a failure hardly at all.

use bytes::Bytes;
use http::{header, HeaderValue, Method, Response, StatusCode};

use super::Answer;
use crate::error::Error;
use crate::store::IMMUTABLE;

/// How a successful miss was satisfied; sent as the `x-rendition` response header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This request rendered and stored the object.
    Rendered,
    /// Another request in flight rendered it; this one waited and shares the result.
    Joined,
    /// The object was already stored when the request arrived (the Lambda's loop breaker).
    Existing,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Rendered => "rendered",
            Outcome::Joined => "joined",
            Outcome::Existing => "existing",
        }
    }
}

#[derive(Debug)]
pub(super) struct Produced {
    pub bytes: Bytes,
    pub content_type: String,
    pub etag: Option<String>,
    pub existing: bool,
    /// Where the render's time went, when this object was rendered (not found stored).
    pub timing: Option<super::Timing>,
}

/// The answer to a successful miss: the bytes, or a redirect to the same URL for the CDN.
pub(super) fn success(
    answer: Answer,
    method: &Method,
    path: &str,
    p: &Produced,
    outcome: Outcome,
) -> Response<Bytes> {
    let bytes_answer = match answer {
        Answer::Bytes => true,
        Answer::Redirect => false,
        Answer::Inline { max_bytes } => p.bytes.len() <= max_bytes,
    };
    // Loop breaker: an object that already exists is never answered with a redirect,
    // or a CDN that keeps missing it would bounce the browser forever.
    if bytes_answer || outcome == Outcome::Existing {
        let mut r = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, &p.content_type)
            .header(header::CACHE_CONTROL, IMMUTABLE)
            .header(header::CONTENT_LENGTH, p.bytes.len())
            .header("x-rendition", outcome.as_str());
        if let Some(etag) = &p.etag {
            r = r.header(header::ETAG, etag);
        }
        let body = if method == Method::HEAD {
            Bytes::new()
        } else {
            p.bytes.clone()
        };
        return r.body(body).expect("valid response");
    }
    Response::builder()
        .status(StatusCode::FOUND)
        .header(
            header::LOCATION,
            HeaderValue::from_str(path).unwrap_or(HeaderValue::from_static("/")),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .header("x-rendition", outcome.as_str())
        .body(Bytes::new())
        .expect("valid response")
}

/// The answer to OPTIONS, the same on every edge.
pub fn options_response() -> Response<Bytes> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ALLOW, "GET, HEAD, OPTIONS")
        .body(Bytes::new())
        .expect("valid response")
}

/// A short plain-text error response: status line reason and the error's message.
/// Internal errors get a generic text: their detail is for the log, not the client. A 503
/// carries `Retry-After` equal to its max-age (CloudFront caches an error for the larger of
/// the origin's max-age and the distribution's ErrorCachingMinTTL, so asking sooner would
/// only meet the cached answer).
pub fn error_response(method: &Method, e: &Error, max_age: u32) -> Response<Bytes> {
    let body = match e {
        Error::Internal(_) | Error::Config(_) => {
            format!("{} internal error\n", e.status().as_u16())
        }
        _ => format!("{} {}\n", e.status().as_u16(), e),
    };
    let mut r = Response::builder()
        .status(e.status())
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, format!("public, max-age={max_age}"))
        .header(header::CONTENT_LENGTH, body.len())
        // The body echoes parts of the request; never let a browser read it as anything else.
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header("x-rendition-error", e.code());
    if e.status() == StatusCode::METHOD_NOT_ALLOWED {
        r = r.header(header::ALLOW, "GET, HEAD, OPTIONS");
    }
    if e.status() == StatusCode::SERVICE_UNAVAILABLE {
        // When to ask again: no sooner than a CDN would serve this answer from its cache.
        r = r.header(header::RETRY_AFTER, max_age.max(1));
    }
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(body)
    };
    r.body(body).expect("valid response")
}
