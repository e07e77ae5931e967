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

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::Parser;
use http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};

use crate::cdn::{CloudFront, DISTRIBUTION_ENV};
use crate::config::{presets_from, ServiceArgs, KEYS_ENV, PRESETS_ENV};
use crate::error::Error;
use crate::lifecycle::{Cdn, Lifecycle};
use crate::request::KeyRing;
use crate::service::{error_response, Answer, Service};
use crate::store::{S3Store, Store};

/// A buffered Lambda response carries 6 MB of JSON; binary is base64-encoded (4/3) and
/// headers need room too, so the largest body answered inline.
pub const DEFAULT_INLINE_MAX_BYTES: usize = 4_400_000;

/// Settings only the Lambda has, read from the environment alongside [`ServiceArgs`].
#[derive(Parser, Debug, Clone)]
#[command(name = "rendition-lambda", no_binary_name = true)]
pub struct LambdaArgs {
    /// Bucket that holds the renditions (and the sources, unless RENDITION_SOURCE_BUCKET).
    #[arg(long, env = "RENDITION_BUCKET")]
    pub bucket: String,
    /// Bucket the sources are read from, when it is not RENDITION_BUCKET.
    #[arg(long, env = "RENDITION_SOURCE_BUCKET")]
    pub source_bucket: Option<String>,
    /// How a fresh rendition is answered: `redirect` (302 to the same URL, no-store) or
    /// `inline` (the bytes when they fit a buffered response, else a redirect).
    #[arg(long, env = "RENDITION_ANSWER", default_value = "redirect")]
    pub answer: String,
    /// Largest body answered inline.
    #[arg(long, env = "RENDITION_INLINE_MAX_BYTES", default_value_t = DEFAULT_INLINE_MAX_BYTES)]
    pub inline_max_bytes: usize,
    /// Name of an SSM SecureString parameter holding the keys (ID:SECRET,...).
    #[arg(long, env = "RENDITION_KEYS_PARAMETER")]
    pub keys_parameter: Option<String>,
    /// Id or ARN of a Secrets Manager secret holding the keys (ID:SECRET,...).
    #[arg(long, env = "RENDITION_KEYS_SECRET")]
    pub keys_secret: Option<String>,
    #[command(flatten)]
    pub service: ServiceArgs,
}

impl LambdaArgs {
    pub fn answer(&self) -> anyhow::Result<Answer> {
        match self.answer.as_str() {
            "redirect" => Ok(Answer::Redirect),
            "inline" => Ok(Answer::Inline {
                max_bytes: self.inline_max_bytes,
            }),
            other => anyhow::bail!("RENDITION_ANSWER={other:?}: use redirect or inline"),
        }
    }
}

/// Logging for a Lambda function: `RUST_LOG` (default `rendition=info`), no colours, no
/// timestamps (CloudWatch stamps every line). Both functions' `main` call it first.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "rendition=info".into()),
        )
        .with_ansi(false)
        .without_time()
        .init();
}

/// Builds the service from the environment: called once, at init.
pub async fn from_env() -> anyhow::Result<Service> {
    let args = LambdaArgs::try_parse_from(std::iter::empty::<String>())
        .context("reading the configuration")?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let keys = load_keys(&args, &sdk).await?;
    let client = S3Store::client_from_config(&sdk);
    let store: Arc<dyn Store> = Arc::new(S3Store::new(client.clone(), &args.bucket));
    let service = Service::new(store, keys, args.service.config(args.answer()?));
    Ok(match &args.source_bucket {
        Some(b) if !b.is_empty() && *b != args.bucket => {
            service.with_sources(Arc::new(S3Store::new(client, b)))
        }
        _ => service,
    })
}

/// Settings of the source-events function (`rendition-events`), read from its environment.
#[derive(Parser, Debug, Clone)]
#[command(name = "rendition-events", no_binary_name = true)]
pub struct EventsArgs {
    #[command(flatten)]
    pub lambda: LambdaArgs,
    /// The CloudFront distribution whose caches a purge invalidates (none: no invalidation).
    #[arg(long, env = DISTRIBUTION_ENV)]
    pub distribution_id: Option<String>,
    /// Presets as JSON text or the path of a JSON file.
    #[arg(long, env = PRESETS_ENV, default_value = "")]
    pub presets: String,
    /// Comma-separated preset names rendered when a source is uploaded (empty: none).
    #[arg(long, env = "RENDITION_PRERENDER", value_delimiter = ',')]
    pub prerender: Vec<String>,
    /// How long to wait before the second purge pass that catches renders in flight, in ms
    /// (default: the render timeout plus 2 s; 0 skips the second pass).
    #[arg(long, env = "RENDITION_PURGE_SETTLE_MS")]
    pub purge_settle_ms: Option<u64>,
}

/// Builds the source-lifecycle handler from the environment: called once, at init.
pub async fn events_from_env() -> anyhow::Result<Lifecycle> {
    let args = EventsArgs::try_parse_from(std::iter::empty::<String>())
        .context("reading the configuration")?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let presets = presets_from(&args.presets).map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let mut prerender = Vec::new();
    for name in args
        .prerender
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
    {
        let options = presets
            .get(name)
            .map_err(|e| anyhow::anyhow!("RENDITION_PRERENDER: {}", e.message()))?;
        prerender.push((name.to_string(), options.clone()));
    }
    let lambda = &args.lambda;
    let client = S3Store::client_from_config(&sdk);
    let renditions: Arc<dyn Store> = Arc::new(S3Store::new(client.clone(), &lambda.bucket));
    let source_bucket = match &lambda.source_bucket {
        Some(b) if !b.is_empty() => b.clone(),
        _ => lambda.bucket.clone(),
    };
    let sources: Arc<dyn Store> = if source_bucket == lambda.bucket {
        renditions.clone()
    } else {
        Arc::new(S3Store::new(client, &source_bucket))
    };
    // Keys are needed only to sign the presets rendered on upload.
    let service = if prerender.is_empty() {
        None
    } else {
        let keys = load_keys(lambda, &sdk).await?;
        let config = lambda.service.config(Answer::Redirect);
        Some(Arc::new(
            Service::new(renditions.clone(), keys, config).with_sources(sources.clone()),
        ))
    };
    let settle = args
        .purge_settle_ms
        .unwrap_or(lambda.service.limits.render_timeout_ms + 2000);
    let cdn = args
        .distribution_id
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| Arc::new(CloudFront::from_config(&sdk, d)) as Arc<dyn Cdn>);
    Ok(Lifecycle {
        sources,
        source_bucket,
        source_prefixes: lambda
            .service
            .source_prefixes
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect(),
        renditions,
        cdn,
        prerender,
        service,
        settle: Duration::from_millis(settle),
    })
}

/// Keys from `RENDITION_KEYS`, else the SSM parameter, else the secret. Never logged.
async fn load_keys(args: &LambdaArgs, sdk: &aws_config::SdkConfig) -> anyhow::Result<KeyRing> {
    let spec = if let Ok(spec) = std::env::var(KEYS_ENV) {
        spec
    } else if let Some(name) = args.keys_parameter.as_deref().filter(|s| !s.is_empty()) {
        let ssm = aws_sdk_ssm::Client::new(sdk);
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
    } else if let Some(id) = args.keys_secret.as_deref().filter(|s| !s.is_empty()) {
        let sm = aws_sdk_secretsmanager::Client::new(sdk);
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
            "no signing keys: set RENDITION_KEYS_PARAMETER, RENDITION_KEYS_SECRET or {KEYS_ENV}"
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
        _ => DEFAULT_INLINE_MAX_BYTES,
    };
    let deadline = invocation_deadline(&req);
    let mut response = service.miss_before(&method, &path, deadline).await;
    if response.status() == StatusCode::FOUND {
        // Redirect to the URL the client used: behind API Gateway that includes the stage.
        let raw = req.raw_http_path();
        if !raw.is_empty() && raw != path {
            if let Ok(v) = header::HeaderValue::from_str(raw) {
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
        response = error_response(&method, &e, 1);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
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
