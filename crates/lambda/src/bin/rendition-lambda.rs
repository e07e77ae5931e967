//! `rendition-lambda`: the function behind CloudFront's origin failover.
//! Initialises logging, builds the service once, and hands every request to it.

use std::sync::Arc;

use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    rendition_lambda::init_logging();
    let service = Arc::new(
        rendition_lambda::from_env()
            .await
            .map_err(|e| format!("{e:#}"))?,
    );
    lambda_http::run(service_fn(move |req| {
        let service = service.clone();
        async move { Ok::<_, std::convert::Infallible>(rendition_lambda::handle(&service, req).await) }
    }))
    .await
}
