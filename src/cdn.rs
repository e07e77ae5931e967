//! CloudFront invalidations, for purges: the CDN edge of [`crate::lifecycle`].
//!
//! One `CreateInvalidation` per call, with every path in it; CloudFront bills per path (a
//! wildcard counts as one), so a purge asks for `/r/<source>/*` once rather than a path per
//! rendition. The caller reference is unique per call, so a retried invocation makes a new
//! invalidation rather than being refused as a duplicate with different paths.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};

use crate::error::{Error, Result};
use crate::lifecycle::Cdn;

#[derive(Debug, Clone)]
pub struct CloudFront {
    client: aws_sdk_cloudfront::Client,
    distribution_id: String,
}

impl CloudFront {
    pub fn new(client: aws_sdk_cloudfront::Client, distribution_id: impl Into<String>) -> Self {
        CloudFront {
            client,
            distribution_id: distribution_id.into(),
        }
    }

    /// A client from the SDK's shared configuration (CloudFront is a global service; the SDK
    /// signs for us-east-1 whatever the region).
    /// Every call is bounded: 3 s to connect, 20 s for the whole operation with its retries.
    pub fn from_config(config: &aws_config::SdkConfig, distribution_id: &str) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_timeout(Duration::from_secs(20))
            .build();
        let conf = aws_sdk_cloudfront::config::Builder::from(config)
            .timeout_config(timeouts)
            .build();
        CloudFront::new(aws_sdk_cloudfront::Client::from_conf(conf), distribution_id)
    }
}

#[async_trait]
impl Cdn for CloudFront {
    async fn invalidate(&self, paths: &[String]) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let reference = format!("rendition-{nanos}-{}", paths.len());
        let batch = InvalidationBatch::builder()
            .paths(
                Paths::builder()
                    .quantity(paths.len() as i32)
                    .set_items(Some(paths.to_vec()))
                    .build()
                    .map_err(|e| Error::Internal(format!("invalidation paths: {e}")))?,
            )
            .caller_reference(reference)
            .build()
            .map_err(|e| Error::Internal(format!("invalidation batch: {e}")))?;
        match self
            .client
            .create_invalidation()
            .distribution_id(&self.distribution_id)
            .invalidation_batch(batch)
            .send()
            .await
        {
            Ok(out) => {
                let id = out.invalidation().map(|i| i.id().to_string());
                tracing::info!(?paths, id, "invalidation created");
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = ?e, distribution = self.distribution_id, "invalidation failed");
                let throttled = e
                    .raw_response()
                    .is_some_and(|r| matches!(r.status().as_u16(), 429 | 503));
                Err(if throttled {
                    Error::Busy("the CDN is throttling invalidations".into())
                } else {
                    Error::Storage("the CDN refused the invalidation".into())
                })
            }
        }
    }

    fn describe(&self) -> String {
        format!("cloudfront distribution {}", self.distribution_id)
    }
}
