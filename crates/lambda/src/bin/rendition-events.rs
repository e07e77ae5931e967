//! `rendition-events`: the function that receives the source bucket's object-created and
//! object-removed events (S3 event notifications or EventBridge) and keeps the renditions in
//! line with their sources. Initialises logging, builds the handler once, and hands every
//! event to it.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use serde_json::Value;

fn main() -> Result<(), lambda_runtime::Error> {
    // Before the runtime's threads start: glibc's mallopt is not thread-safe.
    rendition_lambda::memory::keep_freed_memory();
    run()
}

#[tokio::main]
async fn run() -> Result<(), lambda_runtime::Error> {
    rendition_lambda::init_logging();
    let lifecycle = Arc::new(
        rendition_lambda::events_from_env()
            .await
            .map_err(|e| format!("{e:#}"))?,
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let lifecycle = lifecycle.clone();
        async move {
            // A storage or CDN failure fails the invocation, so Lambda retries it; a malformed
            // event was already logged and acknowledged inside `handle`.
            let summary = lifecycle
                .handle(&event.payload)
                .await
                .map_err(|e| format!("{}: {}", e.code(), e.message()))?;
            Ok::<_, lambda_runtime::Error>(serde_json::json!({
                "events": summary.events,
                "deleted": summary.deleted,
                "invalidations": summary.invalidations,
                "prerendered": summary.prerendered,
            }))
        }
    }))
    .await
}
