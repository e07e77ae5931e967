//! Renditions follow their source: purge on change and deletion, pre-render on upload.
//!
//! Every rendition of a source lies under one prefix ([`rendition_prefix`]), so its renditions
//! can be found by listing that prefix and keeping the keys that parse back to exactly that
//! source (a source `a.jpg/b.png` also lies under `a.jpg`'s prefix, and is left alone).
//!
//! [`Lifecycle::reconcile`] is the one operation everything here comes down to. It does not
//! trust the event that triggered it: it looks at the source **as it is now** and removes every
//! rendition that was not rendered from that object, so events may arrive twice, late or out
//! of order. A rendition records the ETag of the source it was rendered from (S3 user metadata,
//! written by the service); a source that no longer exists keeps none, a replaced one keeps
//! only those rendered from its current ETag, so a late event for an older object never purges
//! a newer object's renditions. When anything was deleted, one CDN invalidation covers the
//! prefix.
//!
//! A render that read the old source and stores its result after the purge would leave a stale
//! rendition behind. Two things close that window: the service checks the source again after
//! storing, and deletes its own result when the source changed meanwhile
//! ([`crate::service`]); and [`Lifecycle::handle`] reconciles a second time once renders that
//! were in flight must have finished (`settle`), invalidating again, so a stale copy the CDN
//! fetched in between is dropped too.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::Method;
use serde_json::Value;

use crate::error::{bad, Error, Result};
use crate::options::Options;
use crate::request::{check_source_key, is_rendition_key, rendition_prefix, RenderRequest};
use crate::service::Service;
use crate::store::{bare_etag, Store};

/// Deletes renditions at the CDN's edge caches.
#[async_trait]
pub trait Cdn: Send + Sync + 'static {
    /// Invalidates the given URL paths (`/r/photos/cat.jpg/*`).
    async fn invalidate(&self, paths: &[String]) -> Result<()>;
    /// A short description for logs.
    fn describe(&self) -> String;
}

/// What a purge found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purge {
    pub source: String,
    /// Renditions of exactly this source deleted (or, in a dry run, that would be).
    pub deleted: Vec<String>,
    /// Renditions kept because they were rendered from the current source object.
    pub kept: usize,
    /// Whether the CDN was asked to invalidate the source's prefix.
    pub invalidated: bool,
    /// Whether the source existed when it was reconciled.
    pub exists: bool,
}

/// How long one reconcile (listing, lookups, invalidation, deletion) may take.
pub const RECONCILE_TIMEOUT: Duration = Duration::from_secs(120);

/// Which renditions a purge keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep<'a> {
    /// None: the source is gone, or the caller wants everything re-rendered.
    Nothing,
    /// Those whose recorded source ETag is this one (the source as it is now).
    RenderedFrom(&'a str),
}

/// The storage keys of every rendition of exactly `source` in `store`.
pub async fn renditions_of(store: &dyn Store, source: &str) -> Result<Vec<String>> {
    let prefix = rendition_prefix(source);
    let listed = store.list(&prefix).await?;
    Ok(listed
        .into_iter()
        .map(|o| o.key)
        .filter(|key| {
            is_rendition_key(key)
                && RenderRequest::parse_key(key).is_ok_and(|(req, _)| req.source == source)
        })
        .collect())
}

/// Deletes the renditions of `source` that `keep` does not keep; with `dry_run`, only lists
/// them. Never touches a key outside `r/`, nor a key that is not a rendition of `source`.
///
/// With a CDN, the source's prefix is invalidated *before* anything is deleted, so a failure
/// of either leaves the renditions in place and a retry does both again; a copy the CDN
/// fetches between the two is what the second pass of [`Lifecycle::handle`] is for.
pub async fn purge(
    store: &dyn Store,
    cdn: Option<&dyn Cdn>,
    source: &str,
    keep: Keep<'_>,
    dry_run: bool,
) -> Result<Purge> {
    let mut report = Purge {
        source: source.to_string(),
        ..Purge::default()
    };
    for key in renditions_of(store, source).await? {
        if let Keep::RenderedFrom(etag) = keep {
            let current = bare_etag(etag);
            // A rendition that can't be looked at is deleted: deleting one is always safe
            // (it renders again on demand), keeping a stale one is not.
            match store.head(&key).await {
                Ok(None) => continue, // gone meanwhile
                Ok(Some(meta)) if meta.source_etag.as_deref().map(bare_etag) == Some(current) => {
                    report.kept += 1;
                    continue;
                }
                Ok(Some(_)) => {}
                Err(e) => tracing::warn!(key, error = %e, "rendition not readable; deleting it"),
            }
        }
        report.deleted.push(key);
    }
    if dry_run || report.deleted.is_empty() {
        return Ok(report);
    }
    if let Some(cdn) = cdn {
        cdn.invalidate(&[invalidation_path(source)]).await?;
        report.invalidated = true;
    }
    store.delete(&report.deleted).await?;
    Ok(report)
}

/// The CloudFront invalidation path that covers every rendition of `source`.
pub fn invalidation_path(source: &str) -> String {
    format!("/{}*", rendition_prefix(source))
}

/// What happened to a source object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Removed,
}

/// One change to one source object, read from an S3 event notification or an EventBridge event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEvent {
    pub change: Change,
    pub bucket: String,
    pub key: String,
    /// The new object's ETag (created events), without quotes.
    pub etag: Option<String>,
}

/// Reads the source events in an invocation payload: S3 event notifications
/// (`{"Records": [{"s3": ...}]}`, keys URL-encoded with `+` for space) or one EventBridge event
/// from `aws.s3` (`"detail-type": "Object Created"`). Records of other kinds are skipped;
/// a payload of neither shape is a 400, which the handler logs and acknowledges.
pub fn parse_events(payload: &Value) -> Result<Vec<SourceEvent>> {
    if let Some(records) = payload.get("Records").and_then(Value::as_array) {
        let mut events = Vec::new();
        for r in records {
            let name = r.get("eventName").and_then(Value::as_str).unwrap_or("");
            let change = if name.starts_with("ObjectCreated:") {
                Change::Created
            } else if name.starts_with("ObjectRemoved:") || name.starts_with("LifecycleExpiration:")
            {
                Change::Removed
            } else {
                continue;
            };
            let record = (|| {
                let s3 = r.get("s3").ok_or_else(|| bad("S3 record without s3"))?;
                let bucket = str_at(s3, &["bucket", "name"])?;
                let raw_key = str_at(s3, &["object", "key"])?;
                let key = form_decode(raw_key)
                    .ok_or_else(|| bad("S3 record with a key that is not URL-encoded UTF-8"))?;
                let etag = s3
                    .pointer("/object/eTag")
                    .and_then(Value::as_str)
                    .map(|e| bare_etag(e).to_string());
                Ok::<_, Error>(SourceEvent {
                    change,
                    bucket: bucket.to_string(),
                    key,
                    etag,
                })
            })();
            // One bad record must not cost the others their purge.
            match record {
                Ok(ev) => events.push(ev),
                Err(e) => tracing::warn!(error = %e, "skipping a malformed S3 record"),
            }
        }
        return Ok(events);
    }
    if payload.get("source").and_then(Value::as_str) == Some("aws.s3") {
        let change = match payload.get("detail-type").and_then(Value::as_str) {
            Some("Object Created") => Change::Created,
            Some("Object Deleted") => Change::Removed,
            _ => return Ok(Vec::new()),
        };
        let detail = payload
            .get("detail")
            .ok_or_else(|| bad("EventBridge event without detail"))?;
        let bucket = str_at(detail, &["bucket", "name"])?;
        let key = str_at(detail, &["object", "key"])?;
        let etag = detail
            .pointer("/object/etag")
            .and_then(Value::as_str)
            .map(|e| bare_etag(e).to_string());
        let mut events = vec![SourceEvent {
            change,
            bucket: bucket.to_string(),
            key: key.to_string(),
            etag: etag.clone(),
        }];
        // AWS documents EventBridge keys as the plain key, unlike S3 notifications. Should a
        // key ever arrive encoded, reconciling the decoded key as well costs one listing and
        // is harmless either way, since reconciling only ever looks at the source as it is.
        if let Some(decoded) = form_decode(key).filter(|d| d != key) {
            events.push(SourceEvent {
                change,
                bucket: bucket.to_string(),
                key: decoded,
                etag,
            });
        }
        return Ok(events);
    }
    Err(bad(
        "not an S3 event notification (Records) nor an EventBridge event from aws.s3",
    ))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Result<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur
            .get(p)
            .ok_or_else(|| bad(format!("event without {}", path.join("."))))?;
    }
    cur.as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
        bad(format!(
            "event with an empty or non-text {}",
            path.join(".")
        ))
    })
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte.
fn form_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// What one invocation did, for the log.
#[derive(Debug, Default)]
pub struct Summary {
    pub events: usize,
    pub ignored: usize,
    pub deleted: usize,
    pub kept: usize,
    pub invalidations: usize,
    pub prerendered: usize,
    pub failed_prerenders: usize,
}

/// The source-lifecycle side of a deployment: the stores, the CDN and what to pre-render.
pub struct Lifecycle {
    /// Where sources are read (to see what they are now).
    pub sources: Arc<dyn Store>,
    /// The bucket name of `sources`; events for other buckets are ignored.
    pub source_bucket: String,
    /// Sources must start with one of these (the service's `source_prefixes`); events for
    /// other keys are ignored before any storage call. Empty allows every key outside `r/`.
    pub source_prefixes: Vec<String>,
    /// Where renditions live.
    pub renditions: Arc<dyn Store>,
    pub cdn: Option<Arc<dyn Cdn>>,
    /// Presets rendered when a source is created, with the service that renders them.
    pub prerender: Vec<(String, Options)>,
    pub service: Option<Arc<Service>>,
    /// How long renders already in flight may still run (the render timeout plus a margin);
    /// zero skips the second pass.
    pub settle: Duration,
}

impl Lifecycle {
    /// Brings the renditions of `source` in line with the source as it is now, invalidating
    /// the source's prefix at the CDN when anything is deleted, or when `invalidate_anyway`.
    /// Bounded by [`RECONCILE_TIMEOUT`]; a timeout is a storage error (retried).
    pub async fn reconcile(&self, source: &str, invalidate_anyway: bool) -> Result<Purge> {
        match tokio::time::timeout(
            RECONCILE_TIMEOUT,
            self.reconcile_now(source, invalidate_anyway),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(Error::Storage(format!(
                "reconciling a source took over {} s",
                RECONCILE_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn reconcile_now(&self, source: &str, invalidate_anyway: bool) -> Result<Purge> {
        if is_rendition_key(source) || check_source_key(source).is_err() {
            return Ok(Purge {
                source: source.to_string(),
                ..Purge::default()
            });
        }
        let current = self.sources.head(source).await?;
        let keep = match &current {
            Some(meta) => Keep::RenderedFrom(&meta.etag),
            None => Keep::Nothing,
        };
        let cdn = self.cdn.as_deref();
        let mut report = purge(self.renditions.as_ref(), cdn, source, keep, false).await?;
        if let (Some(cdn), true, false) = (cdn, invalidate_anyway, report.invalidated) {
            cdn.invalidate(&[invalidation_path(source)]).await?;
            report.invalidated = true;
        }
        tracing::info!(
            source,
            exists = current.is_some(),
            deleted = report.deleted.len(),
            kept = report.kept,
            invalidated = report.invalidated,
            "reconciled"
        );
        report.exists = current.is_some();
        Ok(report)
    }

    /// Handles one invocation's payload. A malformed payload is logged and acknowledged
    /// (`Ok`), so it is never retried; a storage or CDN failure is an `Err`, so the invocation
    /// is retried (reconciling is idempotent).
    pub async fn handle(&self, payload: &Value) -> Result<Summary> {
        let events = match parse_events(payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a malformed event");
                return Ok(Summary {
                    ignored: 1,
                    ..Summary::default()
                });
            }
        };
        let mut summary = Summary {
            events: events.len(),
            ..Summary::default()
        };
        let mut touched: Vec<(String, bool)> = Vec::new();
        for ev in &events {
            let allowed = self.source_prefixes.is_empty()
                || self
                    .source_prefixes
                    .iter()
                    .any(|p| ev.key.starts_with(p.as_str()));
            if ev.bucket != self.source_bucket || is_rendition_key(&ev.key) || !allowed {
                tracing::debug!(
                    bucket = ev.bucket,
                    key = ev.key,
                    "event for another bucket, a rendition or a key outside the prefixes"
                );
                summary.ignored += 1;
                continue;
            }
            if touched.iter().any(|(k, _)| *k == ev.key) {
                continue;
            }
            let report = self.reconcile(&ev.key, false).await?;
            summary.deleted += report.deleted.len();
            summary.kept += report.kept;
            summary.invalidations += usize::from(report.invalidated);
            // Look again after the wait when this pass changed something, or when the source
            // is gone (a privacy request must not leave a cached copy behind).
            touched.push((ev.key.clone(), !report.deleted.is_empty() || !report.exists));
        }
        if !self.settle.is_zero() && touched.iter().any(|(_, again)| *again) {
            // Renders that read the old source before the purge may store their result after
            // it; each deletes its own result when it sees the source changed, but the CDN may
            // have fetched it in the meantime. Once they must be done, look again.
            tokio::time::sleep(self.settle).await;
            for (key, _) in touched.iter().filter(|(_, again)| *again) {
                let report = self.reconcile(key, true).await?;
                summary.deleted += report.deleted.len();
                summary.invalidations += usize::from(report.invalidated);
            }
        }
        for ev in events.iter().filter(|e| e.change == Change::Created) {
            if touched.iter().any(|(k, _)| *k == ev.key) {
                self.prerender(ev, &mut summary).await?;
            }
        }
        tracing::info!(?summary, "source events handled");
        Ok(summary)
    }

    /// Renders the configured presets of a newly created source, when the event is about the
    /// object that is there now (a late event for an older object renders nothing).
    async fn prerender(&self, ev: &SourceEvent, summary: &mut Summary) -> Result<()> {
        let Some(service) = &self.service else {
            return Ok(());
        };
        if self.prerender.is_empty() {
            return Ok(());
        }
        let current = self.sources.head(&ev.key).await?;
        let is_current = match (&current, &ev.etag) {
            (Some(meta), Some(etag)) => bare_etag(&meta.etag) == bare_etag(etag),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !is_current {
            return Ok(());
        }
        for (name, options) in &self.prerender {
            let signed = options.resolve(&ev.key).and_then(|(ops, output)| {
                let path = service.keys().sign_new(&ev.key, ops, output)?;
                // An auto path is never stored: its negotiated keys are, one per choice.
                Ok(match output.auto() {
                    Some(a) => a
                        .choices()
                        .map(|f| format!("{path}.{}", f.extension()))
                        .to_vec(),
                    None => vec![path],
                })
            });
            let paths = match signed {
                Ok(p) => p,
                Err(e) => {
                    // Not this source's fault alone (a preset asks for a format the key's
                    // extension can't give, say): log it and go on with the others.
                    tracing::warn!(preset = name, source = ev.key, error = %e, "preset not rendered");
                    summary.failed_prerenders += 1;
                    continue;
                }
            };
            for path in paths {
                let response = service.miss(&Method::GET, &path).await;
                let status = response.status();
                if status.is_success() || status.is_redirection() {
                    summary.prerendered += 1;
                } else if matches!(status.as_u16(), 502 | 503) {
                    // Storage trouble: worth retrying the event (reconciling again is harmless).
                    return Err(Error::Storage(format!(
                        "pre-rendering preset {name} failed with {status}"
                    )));
                } else {
                    // The source's own fault (too large, undecodable, too slow to render): a
                    // retry would fail the same way.
                    tracing::warn!(preset = name, source = ev.key, %status, "preset not rendered");
                    summary.failed_prerenders += 1;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn s3_notifications_and_eventbridge_events_are_read() {
        let s3 = json!({"Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"},
             "object": {"key": "my+photos/%C3%A9t%C3%A9.jpg", "eTag": "0123abc", "sequencer": "0A"}}},
            {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"},
             "object": {"key": "a%2Bb.jpg", "sequencer": "0B"}}},
            {"eventName": "ObjectTagging:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "x"}}}
        ]});
        let events = parse_events(&s3).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].key, "my photos/été.jpg");
        assert_eq!(events[0].change, Change::Created);
        assert_eq!(events[0].etag.as_deref(), Some("0123abc"));
        assert_eq!(events[1].key, "a+b.jpg");
        assert_eq!(events[1].change, Change::Removed);

        let eb = json!({"source": "aws.s3", "detail-type": "Object Deleted",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "my photos/été.jpg"}}});
        let events = parse_events(&eb).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].key, "my photos/été.jpg");
        assert_eq!(events[0].change, Change::Removed);
        let eb = json!({"source": "aws.s3", "detail-type": "Object Created",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "a+b.jpg", "etag": "e1"}}});
        let keys: Vec<String> = parse_events(&eb)
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, ["a+b.jpg", "a b.jpg"]);

        for bad in [
            json!({}),
            json!([1]),
            json!({"source": "aws.s3", "detail-type": "Object Created"}),
        ] {
            assert!(parse_events(&bad).is_err(), "{bad}");
        }
        // A bad record is skipped; the good ones in the same notification still count.
        let mixed = json!({"Records": [
            {"eventName": "ObjectCreated:Put"},
            {"eventName": "ObjectRemoved:Delete",
             "s3": {"bucket": {"name": "b"}, "object": {"key": "%zz"}}},
            {"eventName": "ObjectRemoved:Delete",
             "s3": {"bucket": {"name": "b"}, "object": {"key": "ok.jpg"}}}
        ]});
        let keys: Vec<String> = parse_events(&mixed)
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, ["ok.jpg"]);
        assert!(form_decode("%zz").is_none());
        assert!(form_decode("%C3").is_none());
    }

    #[test]
    fn one_wildcard_covers_a_source() {
        assert_eq!(invalidation_path("photos/cat.jpg"), "/r/photos/cat.jpg/*");
    }
}
