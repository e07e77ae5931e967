//! The S3 store: any S3-compatible endpoint through `aws-sdk-s3`.
//!
//! Reads check `Content-Length` before the body and stop reading past the byte limit, so an
//! oversized source costs one response header, not a download. Writes are create-only with
//! `If-None-Match: *`: a 412 means another render already stored the key (success for us), a
//! 409 means a concurrent conditional write is in flight and is retried. Every object is
//! written with its `Content-Type` and the immutable `Cache-Control`, which CloudFront passes on.
//!
//! Endpoint and addressing come from the usual SDK configuration (`AWS_ENDPOINT_URL_S3`,
//! `AWS_ENDPOINT_URL`, region, credentials) plus `RENDITION_S3_PATH_STYLE=1` for servers that
//! need path-style requests (MinIO, moto, most local servers).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::{Bytes, BytesMut};

use super::{too_large, Object, ObjectMeta, Put, Store, IMMUTABLE};
use crate::error::{Error, Result};

/// Environment variable that switches to path-style addressing.
pub const PATH_STYLE_ENV: &str = "RENDITION_S3_PATH_STYLE";

/// How often a 409 (conflicting conditional write in flight) is retried.
const CONFLICT_RETRIES: u32 = 4;

#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3Store {
            client,
            bucket: bucket.into(),
        }
    }

    /// An S3 client from the SDK's shared configuration (environment, profile, instance role),
    /// honouring `RENDITION_S3_PATH_STYLE`.
    pub fn client_from_config(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
        let path_style = std::env::var(PATH_STYLE_ENV).is_ok_and(|v| v == "1" || v == "true");
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
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

#[async_trait]
impl Store for S3Store {
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Object> {
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
        let mut body: ByteStream = out.body;
        let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(max_bytes) as usize);
        while let Some(chunk) = body.try_next().await.map_err(|e| {
            tracing::error!(key, error = %e, "s3 body read failed");
            Error::Storage("storage could not read an object".into())
        })? {
            if buf.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(too_large(buf.len() as u64 + chunk.len() as u64, max_bytes));
            }
            buf.extend_from_slice(&chunk);
        }
        let bytes = buf.freeze();
        Ok(Object {
            meta: ObjectMeta {
                size: bytes.len() as u64,
                etag,
                content_type,
            },
            bytes,
        })
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

    async fn put_new(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<Put> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .if_none_match("*")
                .content_type(content_type)
                .cache_control(IMMUTABLE)
                .body(ByteStream::from(bytes.clone()))
                .send()
                .await;
            match result {
                Ok(out) => {
                    let etag = out.e_tag().unwrap_or("\"\"").to_string();
                    let meta = ObjectMeta {
                        size: bytes.len() as u64,
                        etag,
                        content_type: content_type.to_string(),
                    };
                    return Ok(Put::Created(meta));
                }
                Err(e) if status_of(&e) == Some(412) => return Ok(Put::Exists),
                Err(e) if status_of(&e) == Some(409) && attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
                Err(e) => return Err(sdk_error("write an object", key, &e)),
            }
        }
    }

    fn describe(&self) -> String {
        format!("s3://{}", self.bucket)
    }
}
