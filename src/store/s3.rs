//! The S3 store: any S3-compatible endpoint through `aws-sdk-s3`.
//!
//! Reads check `Content-Length` before the body and stop reading past the byte limit, so an
//! oversized source costs one response header, not a download. Writes are create-only with
//! `If-None-Match: *`: a 412 means another render already stored the key (success for us), a
//! 409 means a concurrent conditional write is in flight and is retried. Every object is
//! written with its `Content-Type` and the immutable `Cache-Control`, which CloudFront passes on,
//! and a rendition with the bare ETag of its source in `x-amz-meta-source-etag`.
//!
//! Listing follows `ListObjectsV2` continuation tokens for at most [`MAX_LIST_PAGES`] pages.
//! Deletion sends `DeleteObjects` in quiet mode, 1,000 keys a request (S3's limit), and retries
//! throttling, 500s and 503s, and the keys a response reports as failed for a transient reason,
//! [`DELETE_ATTEMPTS`] times in all (the SDK's own retries of a failed request come on top). S3 answers a delete of a missing key as a success, and
//! quiet mode names no deleted key, which is why `delete` does not count.
//!
//! Every call is bounded in time ([`Timeouts`]): connecting, waiting for the first byte of an
//! answer, one attempt, the call with the SDK's own retries, and each pause inside an object's
//! body, which the SDK's timeouts don't cover. A read whose body fails half-way (a reset, a body
//! shorter than its `Content-Length`, a stall) is read again from the start, [`READ_ATTEMPTS`]
//! times in all, as the SDK retries the other calls.
//!
//! Endpoint and addressing come from the usual SDK configuration (`AWS_ENDPOINT_URL_S3`,
//! `AWS_ENDPOINT_URL`, region, credentials) plus `RENDITION_S3_PATH_STYLE=1` for servers that
//! need path-style requests (MinIO, moto, most local servers).

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use bytes::{Bytes, BytesMut};

use super::{
    bare_etag, source_etag_of, too_large, Listed, NewObject, Object, ObjectMeta, Put, Store,
    IMMUTABLE,
};
use crate::error::{Error, Result};

/// How often a 409 (conflicting conditional write in flight) is retried.
const CONFLICT_RETRIES: u32 = 4;

/// Most listing pages read for one prefix: 10 million keys at 1,000 a page. A listing that
/// goes on is refused rather than returned short, which would make a purge incomplete.
pub const MAX_LIST_PAGES: usize = 10_000;

/// Most keys in one `DeleteObjects` request (S3's limit).
const DELETE_BATCH: usize = 1000;

/// Tries of one `DeleteObjects` batch, the first included.
pub const DELETE_ATTEMPTS: u32 = 4;

/// The user metadata (`x-amz-meta-source-etag`) that holds a rendition's source ETag.
const SOURCE_ETAG: &str = "source-etag";

/// Tries of one object read whose body fails half-way, the first included.
pub const READ_ATTEMPTS: u32 = 3;

/// Time limits of every S3 call. The defaults suit S3 from a function in the same region,
/// where a connection takes milliseconds and the first byte of an answer tens of them: a limit
/// reached means the endpoint is down or stalled, and the SDK retries (3 attempts in all, its
/// standard mode) within the operation limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Setting up a connection (TCP and TLS).
    pub connect: Duration,
    /// From a request sent to the first byte of its answer.
    pub first_byte: Duration,
    /// One attempt of a call, its request body included (a rendition of tens of MB uploads in
    /// well under a second in a region).
    pub attempt: Duration,
    /// A call with all its attempts.
    pub operation: Duration,
    /// The longest pause between two pieces of an object's body.
    pub body_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            first_byte: Duration::from_secs(5),
            attempt: Duration::from_secs(10),
            operation: Duration::from_secs(20),
            body_idle: Duration::from_secs(5),
        }
    }
}

/// The longest key S3 accepts, in bytes: a longer one holds no object.
const MAX_KEY_BYTES: usize = 1024;

#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    list_page_size: i32,
    body_idle: Duration,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3Store {
            client,
            bucket: bucket.into(),
            list_page_size: 1000,
            body_idle: Timeouts::default().body_idle,
        }
    }

    /// The longest pause inside an object's body before the read is given up (and tried
    /// again); the client's own timeouts are set by [`S3Store::client`].
    pub fn with_body_idle_timeout(mut self, limit: Duration) -> Self {
        self.body_idle = limit;
        self
    }

    /// Keys asked for per listing page, from 1 to 1,000 (the default and S3's maximum). Only
    /// tests of the pagination have a use for smaller pages.
    pub fn with_list_page_size(mut self, keys: i32) -> Self {
        self.list_page_size = keys.clamp(1, 1000);
        self
    }

    /// An S3 client from the SDK's shared configuration (environment, profile, instance role),
    /// with path-style addressing when `path_style` (MinIO, moto; see `settings`) and the
    /// default [`Timeouts`].
    pub fn client(config: &aws_config::SdkConfig, path_style: bool) -> aws_sdk_s3::Client {
        Self::client_with(config, path_style, Timeouts::default())
    }

    /// [`S3Store::client`] with other time limits (tests of stalled servers use short ones).
    pub fn client_with(
        config: &aws_config::SdkConfig,
        path_style: bool,
        limits: Timeouts,
    ) -> aws_sdk_s3::Client {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(limits.connect)
            .read_timeout(limits.first_byte)
            .operation_attempt_timeout(limits.attempt)
            .operation_timeout(limits.operation)
            .build();
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .timeout_config(timeouts)
            .build();
        aws_sdk_s3::Client::from_conf(s3_config)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// Maps an SDK failure to our error, logging the detail (which never reaches a client).
fn sdk_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    op: &str,
    key: &str,
    e: &SdkError<E>,
) -> Error {
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.as_service_error().and_then(|s| s.code()).unwrap_or("");
    tracing::error!(op, key, ?status, code, error = ?e, "s3 request failed");
    match (status, code) {
        (Some(503), _) | (_, "SlowDown") => Error::Busy("storage is throttling requests".into()),
        _ => Error::Storage(format!("storage could not {op}")),
    }
}

fn status_of<E>(e: &SdkError<E>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// Whether an S3 error code or status says "try again shortly".
fn transient(status: Option<u16>, code: &str) -> bool {
    matches!(status, Some(500 | 503))
        || matches!(code, "SlowDown" | "InternalError" | "ServiceUnavailable")
}

/// The source ETag in an object's user metadata, if any.
fn source_etag_in(metadata: Option<&std::collections::HashMap<String, String>>) -> Option<String> {
    let etag = bare_etag(metadata?.get(SOURCE_ETAG)?);
    (!etag.is_empty()).then(|| etag.to_string())
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(50 << attempt)
}

#[async_trait]
impl Store for S3Store {
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Object> {
        let mut attempt = 1;
        loop {
            match self.get_once(key, max_bytes).await? {
                Read::Whole(object) => return Ok(object),
                Read::Broken(why) if attempt < READ_ATTEMPTS => {
                    tracing::warn!(key, attempt, why, "s3 body read failed; reading again");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Read::Broken(why) => {
                    tracing::error!(key, attempt, why, "s3 body read failed");
                    return Err(Error::Storage("storage could not read an object".into()));
                }
            }
        }
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectMeta {
                size: out
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                etag: out.e_tag().unwrap_or("\"\"").to_string(),
                content_type: out
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                source_etag: source_etag_in(out.metadata()),
            })),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_not_found())
                    || status_of(&e) == Some(404) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_error("look up an object", key, &e)),
        }
    }

    async fn put_new(&self, key: &str, bytes: Bytes, new: NewObject<'_>) -> Result<Put> {
        let content_type = new.content_type;
        let source_etag = source_etag_of(&new);
        let mut attempt = 0;
        loop {
            let mut request = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .if_none_match("*")
                .content_type(content_type)
                .cache_control(IMMUTABLE)
                .body(ByteStream::from(bytes.clone()));
            if let Some(etag) = &source_etag {
                request = request.metadata(SOURCE_ETAG, etag);
            }
            let result = request.send().await;
            match result {
                Ok(out) => {
                    let etag = out.e_tag().unwrap_or("\"\"").to_string();
                    let meta = ObjectMeta {
                        size: bytes.len() as u64,
                        etag,
                        content_type: content_type.to_string(),
                        source_etag,
                    };
                    return Ok(Put::Created(meta));
                }
                Err(e) if status_of(&e) == Some(412) => return Ok(Put::Exists),
                Err(e) if status_of(&e) == Some(409) && attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(e) => return Err(sdk_error("write an object", key, &e)),
            }
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Listed>> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .max_keys(self.list_page_size)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error("list objects", prefix, &e))?;
            found.extend(page.contents().iter().filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_string(),
                    size: o.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                    last_modified: o
                        .last_modified()
                        .and_then(|t| SystemTime::try_from(*t).ok()),
                })
            }));
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => {
                    // S3 lists in key (UTF-8 byte) order already; S3-compatible servers may not.
                    found.sort_unstable_by(|a, b| a.key.cmp(&b.key));
                    return Ok(found);
                }
            }
        }
        tracing::error!(prefix, pages = MAX_LIST_PAGES, "s3 listing did not end");
        Err(Error::Storage(
            "storage listed too many objects under one prefix".into(),
        ))
    }

    async fn delete(&self, keys: &[String]) -> Result<()> {
        // A key S3 could never hold holds nothing to delete (and would fail its whole batch).
        let keys: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_BYTES)
            .collect();
        for batch in keys.chunks(DELETE_BATCH) {
            self.delete_batch(batch).await?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("s3://{}", self.bucket)
    }
}

/// One read of an object.
enum Read {
    Whole(Object),
    /// The answer started but its body did not arrive whole; worth reading again.
    Broken(&'static str),
}

impl S3Store {
    /// One `GetObject`: an error for what a second try would not change (missing, too large,
    /// refused), [`Read::Broken`] for a body that ended early, failed or stalled.
    async fn get_once(&self, key: &str, max_bytes: u64) -> Result<Read> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            // Only NoSuchKey: a missing bucket is a 404 too, and a misconfiguration.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Err(Error::NotFound(format!("no object {key:?}")))
            }
            Err(e) => return Err(sdk_error("read an object", key, &e)),
        };
        let declared = out.content_length().and_then(|n| u64::try_from(n).ok());
        if let Some(size) = declared.filter(|&n| n > max_bytes) {
            // Dropping the body closes the connection without downloading it.
            return Err(too_large(size, max_bytes));
        }
        let etag = out.e_tag().unwrap_or("\"\"").to_string();
        let content_type = out
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_string();
        let source_etag = source_etag_in(out.metadata());
        let mut body: ByteStream = out.body;
        let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(max_bytes) as usize);
        loop {
            let chunk = match tokio::time::timeout(self.body_idle, body.try_next()).await {
                Err(_) => return Ok(Read::Broken("the body stalled")),
                Ok(Err(e)) => {
                    tracing::debug!(key, error = %e, "s3 body error");
                    return Ok(Read::Broken("the body broke off"));
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(chunk))) => chunk,
            };
            if buf.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(too_large(buf.len() as u64 + chunk.len() as u64, max_bytes));
            }
            buf.extend_from_slice(&chunk);
        }
        // The HTTP client checks this too; a body that ends short must never be rendered.
        if declared.is_some_and(|n| n != buf.len() as u64) {
            return Ok(Read::Broken("the body was shorter than its Content-Length"));
        }
        let bytes = buf.freeze();
        Ok(Read::Whole(Object {
            meta: ObjectMeta {
                size: bytes.len() as u64,
                etag,
                content_type,
                source_etag,
            },
            bytes,
        }))
    }

    /// One `DeleteObjects` request of at most [`DELETE_BATCH`] keys, with its retries.
    async fn delete_batch(&self, batch: &[&str]) -> Result<()> {
        let mut pending: Vec<String> = batch.iter().map(|k| k.to_string()).collect();
        let mut attempt = 1;
        loop {
            let objects = pending
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::Internal(format!("delete request: {e}")))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| Error::Internal(format!("delete request: {e}")))?;
            let sent = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await;
            let failure = match sent {
                Ok(out) if out.errors().is_empty() => return Ok(()),
                Ok(out) => {
                    let errors = out.errors();
                    let first = errors.first();
                    let key = first.and_then(|e| e.key());
                    let code = first.and_then(|e| e.code()).unwrap_or("");
                    tracing::warn!(
                        failed = errors.len(),
                        key,
                        code,
                        attempt,
                        "s3 kept some keys"
                    );
                    let mut retry = Vec::new();
                    let mut throttled = false;
                    for e in errors {
                        let code = e.code().unwrap_or("");
                        match e.key() {
                            Some(key) if transient(None, code) => {
                                throttled |= code == "SlowDown";
                                retry.push(key.to_string());
                            }
                            _ => {
                                tracing::error!(key = e.key(), code, "s3 refused to delete a key");
                                return Err(Error::Storage(
                                    "storage could not delete objects".into(),
                                ));
                            }
                        }
                    }
                    pending = retry;
                    if throttled {
                        Error::Busy("storage is throttling requests".into())
                    } else {
                        Error::Storage("storage could not delete objects".into())
                    }
                }
                Err(e) => {
                    let code = e.as_service_error().and_then(|s| s.code()).unwrap_or("");
                    let retry = transient(status_of(&e), code);
                    let first = pending.first().map_or("", String::as_str);
                    let error = sdk_error("delete objects", first, &e);
                    if !retry {
                        return Err(error);
                    }
                    error
                }
            };
            if attempt >= DELETE_ATTEMPTS {
                return Err(failure);
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }
}
