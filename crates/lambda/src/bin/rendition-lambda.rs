//! `rendition-lambda`: the function behind CloudFront's origin failover.
//! Initialises logging, builds the service once, and hands every request to it.

use std::sync::Arc;

use lambda_http::{service_fn, Error};

fn main() -> Result<(), Error> {
    // Before the runtime's threads start: glibc's mallopt is not thread-safe.
    rendition_lambda::memory::keep_freed_memory();
    run()
}

#[tokio::main]
async fn run() -> Result<(), Error> {
    rendition_lambda::init_logging();
    let function = Arc::new(
        rendition_lambda::Function::from_env()
            .await
            .map_err(|e| format!("{e:#}"))?,
    );
    lambda_http::run(service_fn(move |req| {
        let function = function.clone();
        async move { Ok::<_, std::convert::Infallible>(function.handle(req).await) }
    }))
    .await
}
