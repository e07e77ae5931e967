//! The Lambda edge: CloudFront's origin failover calls the function URL on a miss.
//!
//! [`from_env`] builds everything once per execution environment: configuration (the same
//! variables as `rendition serve`), the S3 clients and the signing keys (from
//! `RENDITION_KEYS`, or fetched once from SSM Parameter Store or Secrets Manager).
//! [`handle`] maps the event's path to the storage key CloudFront asked S3 for and hands it to
//! the shared [`Service::miss`]. A problem with a request is always an HTTP response; the
//! function itself never fails an invocation for one.
//!
//! [`events_from_env`] builds the second function, `rendition-events`, which receives the source
//! bucket's object-created and object-removed events and hands them to [`Lifecycle::handle`].

/// The allocator's settings for a rendering process, shared with the `rendition` command
/// (which has the file): each binary's `main` calls [`memory::keep_freed_memory`] first.
#[path = "../../../src/bin/rendition/memory.rs"]
pub mod memory;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};

use rendition::cdn::CloudFront;
use rendition::error::Error;
use rendition::lifecycle::{Cdn, Lifecycle};
use rendition::request::KeyRing;
use rendition::service::{error_response, Answer, Report, Service};
use rendition::settings::{self, Settings};

/// Logging for a Lambda function: one JSON object per line (CloudWatch Logs Insights reads
/// its fields: `filter outcome = "error" | stats avg(render_ms) by bin(5m)`), `RUST_LOG`
/// (default `rendition=info`), no timestamps (CloudWatch stamps every line). Each request is
/// one line with `message` "request" ([`Report::log`]). Both functions' `main` call it first.
pub fn init_logging() {
    tracing::subscriber::set_global_default(logging_to(std::io::stdout))
        .expect("logging is set up once");
}

/// The functions' log format, writing to `writer` (the tests read it back).
pub fn logging_to<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "rendition=info".into()),
        )
        .without_time()
        .with_writer(writer)
        .finish()
}

/// The render function: the service, and where its metrics go.
pub struct Function {
    pub service: Service,
    /// CloudWatch namespace of the per-request metrics; `None` prints none.
    pub metrics_namespace: Option<String>,
}

impl Function {
    /// Builds the function from the environment: called once, at init.
    pub async fn from_env() -> anyhow::Result<Function> {
        let settings = Settings::from_env().context("reading the configuration")?;
        Ok(Function {
            service: from_env().await?,
            metrics_namespace: settings.metrics_namespace,
        })
    }

    /// Answers one invocation, and prints its metrics.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let response = handle(&self.service, req).await;
        if let (Some(namespace), Some(report)) = (
            &self.metrics_namespace,
            response.extensions().get::<Report>(),
        ) {
            println!("{}", metrics_line(report, namespace));
        }
        response
    }
}

/// A request's metrics as one CloudWatch Embedded Metric Format line: CloudWatch Logs makes
/// them metrics (requests, renders, errors by code, bytes, stage times) without an API call.
pub fn metrics_line(report: &Report, namespace: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    report.emf(namespace, now).to_string()
}

/// Builds the service from the environment: called once, at init.
pub async fn from_env() -> anyhow::Result<Service> {
    let settings = Settings::from_env().context("reading the configuration")?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let keys = load_keys(&settings, &sdk).await?;
    let stores = settings
        .s3_stores(&sdk)
        .context("reading the configuration")?;
    let config = settings.service_config(settings.answer);
    Ok(Service::new(stores.renditions, keys, config).with_sources(stores.sources))
}

/// Builds the source-lifecycle handler (`rendition-events`) from the environment: called once,
/// at init.
pub async fn events_from_env() -> anyhow::Result<Lifecycle> {
    let settings = Settings::from_env().context("reading the configuration")?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let presets = settings
        .presets()
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let mut prerender = Vec::new();
    for name in &settings.prerender {
        let options = presets
            .get(name)
            .map_err(|e| anyhow::anyhow!("{}: {}", settings::PRERENDER, e.message()))?;
        prerender.push((name.to_string(), options.clone()));
    }
    let stores = settings
        .s3_stores(&sdk)
        .context("reading the configuration")?;
    // Keys are needed only to sign the presets rendered on upload.
    let service = if prerender.is_empty() {
        None
    } else {
        let keys = load_keys(&settings, &sdk).await?;
        let config = settings.service_config(Answer::Redirect);
        Some(Arc::new(
            Service::new(stores.renditions.clone(), keys, config)
                .with_sources(stores.sources.clone()),
        ))
    };
    let cdn = settings
        .distribution_id
        .as_deref()
        .map(|d| Arc::new(CloudFront::from_config(&sdk, d)) as Arc<dyn Cdn>);
    Ok(Lifecycle {
        sources: stores.sources,
        source_bucket: stores.source_bucket,
        source_prefixes: settings.source_prefixes.clone(),
        renditions: stores.renditions,
        cdn,
        prerender,
        service,
        settle: settings.purge_settle(),
    })
}

/// Time limits of the key reads at init: Lambda gives the whole init phase 10 s, so a stalled
/// endpoint must fail the start (and be retried by Lambda) well within it.
fn init_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .operation_attempt_timeout(std::time::Duration::from_secs(2))
        .operation_timeout(std::time::Duration::from_secs(6))
        .build()
}

/// Keys from `RENDITION_KEYS`, else the SSM parameter, else the secret. Never logged.
async fn load_keys(settings: &Settings, sdk: &aws_config::SdkConfig) -> anyhow::Result<KeyRing> {
    let spec = if settings.keys.is_some() {
        return settings
            .key_ring()
            .map_err(|e| anyhow::anyhow!("signing keys: {}", e.message()));
    } else if let Some(name) = &settings.keys_parameter {
        let ssm = aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(sdk)
                .timeout_config(init_timeouts())
                .build(),
        );
        let out = ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .with_context(|| format!("reading the keys from SSM parameter {name}"))?;
        out.parameter()
            .and_then(|p| p.value())
            .context("the SSM parameter has no value")?
            .to_string()
    } else if let Some(id) = &settings.keys_secret {
        let sm = aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(sdk)
                .timeout_config(init_timeouts())
                .build(),
        );
        let out = sm
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .with_context(|| format!("reading the keys from secret {id}"))?;
        out.secret_string()
            .context("the secret has no string value")?
            .to_string()
    } else {
        anyhow::bail!(
            "no signing keys: set {}, {} or {}",
            settings::KEYS_PARAMETER,
            settings::KEYS_SECRET,
            settings::KEYS
        );
    };
    KeyRing::from_spec(&spec).map_err(|e| anyhow::anyhow!("signing keys: {}", e.message()))
}

/// The path CloudFront asked S3 for: the event's raw path without an API Gateway stage.
///
/// Function URLs (what CloudFront calls) deliver the viewer's path as it was. API Gateway
/// prefixes a named stage (`/prod/r/...`), which is not part of the key.
pub fn key_path(req: &Request) -> String {
    let raw = req.raw_http_path();
    let raw = if raw.is_empty() {
        req.uri().path()
    } else {
        raw
    };
    let stage = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(c)) => c.stage.clone(),
        Some(lambda_http::request::RequestContext::ApiGatewayV1(c)) => c.stage.clone(),
        _ => None,
    };
    if let Some(stage) = stage.filter(|s| !s.is_empty() && s != "$default") {
        if let Some(rest) = raw.strip_prefix(&format!("/{stage}")) {
            if rest.starts_with('/') {
                return rest.to_string();
            }
        }
    }
    raw.to_string()
}

/// When this invocation must have answered: Lambda's deadline less a safety margin for
/// writing the response, so a render that runs long answers 504 rather than being killed.
fn invocation_deadline(req: &Request) -> Option<Instant> {
    let ctx = req.lambda_context_ref()?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    let left = ctx
        .deadline
        .checked_sub(now_ms)?
        .saturating_sub(DEADLINE_MARGIN_MS);
    Some(Instant::now() + Duration::from_millis(left))
}

/// Time kept back from Lambda's deadline to send the answer.
const DEADLINE_MARGIN_MS: u64 = 1500;

/// Answers one invocation.
pub async fn handle(service: &Service, req: Request) -> Response<Body> {
    let method = req.method().clone();
    let path = key_path(&req);
    let inline_max = match service.config().answer {
        Answer::Inline { max_bytes } => max_bytes,
        _ => settings::DEFAULT_INLINE_MAX_BYTES,
    };
    let deadline = invocation_deadline(&req);
    let mut response = service.miss_before(&method, &path, deadline).await;
    if response.status() == StatusCode::FOUND {
        // Redirect to the URL the client used: behind API Gateway that includes the stage,
        // before the service's location (the path, or the auto path of a negotiated key).
        let raw = req.raw_http_path();
        let stage = raw.strip_suffix(path.as_str()).filter(|s| !s.is_empty());
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok());
        if let (Some(stage), Some(location)) = (stage, location) {
            if let Ok(v) = header::HeaderValue::from_str(&format!("{stage}{location}")) {
                response.headers_mut().insert(header::LOCATION, v);
            }
        }
    }
    if response.status() == StatusCode::OK && response.body().len() > inline_max {
        // The object exists but is too big for a buffered response. A redirect could loop
        // if CloudFront keeps missing it; a short 503 lets the next request hit S3.
        tracing::warn!(
            path,
            bytes = response.body().len(),
            "stored object too large to relay"
        );
        let e = Error::Busy("the rendition is stored; retry to fetch it from the CDN".into());
        let report = response.extensions_mut().remove::<Report>();
        // max-age=1, and with it `Retry-After: 1`.
        response = error_response(&method, &e, 1);
        if let Some(mut report) = report {
            // The metrics count what the viewer got.
            report.status = response.status().as_u16();
            report.outcome = "error";
            report.code = Some(e.code());
            response.extensions_mut().insert(report);
        }
    }
    let (parts, body) = response.into_parts();
    let is_text = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/"));
    let body = if body.is_empty() {
        Body::Empty
    } else if is_text {
        Body::Text(String::from_utf8_lossy(&body).into_owned())
    } else {
        Body::Binary(body.to_vec())
    };
    Response::from_parts(parts, body)
}
