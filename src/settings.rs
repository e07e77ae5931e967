//! Every setting rendition reads from its environment, read in one place.
//!
//! [`Settings::from_env`] reads each `RENDITION_*` variable once; the Lambda functions use it
//! as it is, and `rendition` lays its command-line flags over it ([`Settings`] fields are
//! plain data). [`VARS`] lists every variable with what it sets: the CLI's `--help` prints it,
//! and the README's configuration table follows it. Keys come only from the environment (or,
//! deployed, from a secret store), never from a flag that would show in `ps`.
//!
//! The S3 clients and stores are built here too ([`Settings::s3_stores`]), so the rendition
//! bucket, the source bucket and path-style addressing follow one rule everywhere.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::options::Presets;
use crate::request::KeyRing;
use crate::service::{Answer, Config};
use crate::store::{S3Store, Store};

/// `ID:SECRET[,ID:SECRET...]`: the first key signs, all verify.
pub const KEYS: &str = "RENDITION_KEYS";
/// An SSM SecureString parameter holding the keys (the Lambda reads it at init).
pub const KEYS_PARAMETER: &str = "RENDITION_KEYS_PARAMETER";
/// A Secrets Manager secret holding the keys (the Lambda reads it at init).
pub const KEYS_SECRET: &str = "RENDITION_KEYS_SECRET";
pub const MAX_SOURCE_BYTES: &str = "RENDITION_MAX_SOURCE_BYTES";
pub const MAX_SOURCE_PIXELS: &str = "RENDITION_MAX_SOURCE_PIXELS";
pub const MAX_OUTPUT_SIDE: &str = "RENDITION_MAX_OUTPUT_SIDE";
pub const MAX_OUTPUT_PIXELS: &str = "RENDITION_MAX_OUTPUT_PIXELS";
pub const RENDER_TIMEOUT_MS: &str = "RENDITION_RENDER_TIMEOUT_MS";
pub const SOURCE_PREFIXES: &str = "RENDITION_SOURCE_PREFIXES";
pub const MAX_CONCURRENT_RENDERS: &str = "RENDITION_MAX_CONCURRENT_RENDERS";
pub const DIR: &str = "RENDITION_DIR";
pub const ADDR: &str = "RENDITION_ADDR";
pub const BUCKET: &str = "RENDITION_BUCKET";
pub const SOURCE_BUCKET: &str = "RENDITION_SOURCE_BUCKET";
pub const S3_PATH_STYLE: &str = "RENDITION_S3_PATH_STYLE";
pub const ANSWER: &str = "RENDITION_ANSWER";
pub const INLINE_MAX_BYTES: &str = "RENDITION_INLINE_MAX_BYTES";
pub const DISTRIBUTION_ID: &str = "RENDITION_DISTRIBUTION_ID";
pub const PRESETS: &str = "RENDITION_PRESETS";
pub const PRERENDER: &str = "RENDITION_PRERENDER";
pub const PURGE_SETTLE_MS: &str = "RENDITION_PURGE_SETTLE_MS";
pub const METRICS_NAMESPACE: &str = "RENDITION_METRICS_NAMESPACE";

/// Every variable, with what it sets: printed by `rendition --help`.
pub const VARS: [(&str, &str); 22] = [
    (
        KEYS,
        "signing keys ID:SECRET[,ID:SECRET...]; the first signs, all verify",
    ),
    (
        KEYS_PARAMETER,
        "Lambda: SSM SecureString parameter holding the keys",
    ),
    (
        KEYS_SECRET,
        "Lambda: Secrets Manager secret holding the keys",
    ),
    (
        MAX_SOURCE_BYTES,
        "largest source object in bytes (52428800)",
    ),
    (MAX_SOURCE_PIXELS, "largest source in pixels (100000000)"),
    (MAX_OUTPUT_SIDE, "largest output width or height (8192)"),
    (MAX_OUTPUT_PIXELS, "largest output in pixels (40000000)"),
    (
        RENDER_TIMEOUT_MS,
        "time budget of one render: read, render, store (20000)",
    ),
    (
        SOURCE_PREFIXES,
        "comma-separated key prefixes sources must start with",
    ),
    (
        MAX_CONCURRENT_RENDERS,
        "renders running at once (the number of CPUs)",
    ),
    (DIR, "serve, purge: the folder (like --dir)"),
    (ADDR, "serve: the address to listen on (127.0.0.1:8080)"),
    (
        BUCKET,
        "the bucket of the renditions (and the sources, unless the next)",
    ),
    (SOURCE_BUCKET, "the bucket the sources are read from"),
    (
        S3_PATH_STYLE,
        "1 or true: path-style S3 addressing (MinIO, moto)",
    ),
    (ANSWER, "Lambda: redirect (default) or inline"),
    (
        INLINE_MAX_BYTES,
        "Lambda: largest body answered inline (4400000)",
    ),
    (
        DISTRIBUTION_ID,
        "CloudFront distribution a purge invalidates",
    ),
    (PRESETS, "presets: JSON text, or the path of a JSON file"),
    (
        PRERENDER,
        "Lambda events: comma-separated presets rendered on upload",
    ),
    (
        PURGE_SETTLE_MS,
        "Lambda events: wait before a purge's second pass (render timeout + 2000)",
    ),
    (
        METRICS_NAMESPACE,
        "Lambda: CloudWatch namespace of the request metrics (rendition); off: none",
    ),
];

/// The CloudWatch namespace of the Lambda's metrics unless [`METRICS_NAMESPACE`] says.
pub const DEFAULT_METRICS_NAMESPACE: &str = "rendition";

/// A buffered Lambda response carries 6 MB of JSON; binary is base64-encoded (4/3) and
/// headers need room too, so the largest body answered inline.
pub const DEFAULT_INLINE_MAX_BYTES: usize = 4_400_000;

/// The settings, as read from the environment (and, in the CLI, overridden by flags).
/// `Debug` shows whether keys are set, never the keys.
#[derive(Clone)]
pub struct Settings {
    /// The key spec from [`KEYS`]; a secret: never logged.
    pub keys: Option<String>,
    pub keys_parameter: Option<String>,
    pub keys_secret: Option<String>,
    pub limits: Limits,
    /// Sources must start with one of these (empty: any key outside `r/`).
    pub source_prefixes: Vec<String>,
    pub max_concurrent_renders: Option<usize>,
    pub dir: Option<String>,
    pub addr: Option<String>,
    pub bucket: Option<String>,
    pub source_bucket: Option<String>,
    pub s3_path_style: bool,
    /// How the Lambda answers a fresh rendition.
    pub answer: Answer,
    pub distribution_id: Option<String>,
    /// Presets as JSON text or a file path; empty: none.
    pub presets: String,
    pub prerender: Vec<String>,
    pub purge_settle_ms: Option<u64>,
    /// The CloudWatch namespace of the Lambda's request metrics; `None`: no metrics.
    pub metrics_namespace: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("keys", &self.keys.as_ref().map(|_| "<redacted>"))
            .field("keys_parameter", &self.keys_parameter)
            .field("keys_secret", &self.keys_secret)
            .field("limits", &self.limits)
            .field("source_prefixes", &self.source_prefixes)
            .field("max_concurrent_renders", &self.max_concurrent_renders)
            .field("dir", &self.dir)
            .field("addr", &self.addr)
            .field("bucket", &self.bucket)
            .field("source_bucket", &self.source_bucket)
            .field("s3_path_style", &self.s3_path_style)
            .field("answer", &self.answer)
            .field("distribution_id", &self.distribution_id)
            .field("presets", &self.presets)
            .field("prerender", &self.prerender)
            .field("purge_settle_ms", &self.purge_settle_ms)
            .field("metrics_namespace", &self.metrics_namespace)
            .finish()
    }
}

impl Settings {
    /// Reads every variable from the process environment.
    pub fn from_env() -> Result<Settings> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every variable through `get` (the environment, or a map in tests). Empty values
    /// count as unset, as CloudFormation writes an empty parameter.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings> {
        let text = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let list = |name: &str| -> Vec<String> {
            text(name)
                .map(|v| {
                    v.split(',')
                        .map(|p| p.trim().to_string())
                        .filter(|p| !p.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        fn number<T: std::str::FromStr>(name: &str, value: Option<String>) -> Result<Option<T>> {
            value
                .map(|v| {
                    v.trim().parse().map_err(|_| {
                        Error::Config(format!("{name}={v:?} is not a non-negative integer"))
                    })
                })
                .transpose()
        }
        let d = Limits::default();
        let limits = Limits {
            max_source_bytes: number(MAX_SOURCE_BYTES, text(MAX_SOURCE_BYTES))?
                .unwrap_or(d.max_source_bytes),
            max_source_pixels: number(MAX_SOURCE_PIXELS, text(MAX_SOURCE_PIXELS))?
                .unwrap_or(d.max_source_pixels),
            max_output_side: number(MAX_OUTPUT_SIDE, text(MAX_OUTPUT_SIDE))?
                .unwrap_or(d.max_output_side),
            max_output_pixels: number(MAX_OUTPUT_PIXELS, text(MAX_OUTPUT_PIXELS))?
                .unwrap_or(d.max_output_pixels),
            render_timeout_ms: number(RENDER_TIMEOUT_MS, text(RENDER_TIMEOUT_MS))?
                .unwrap_or(d.render_timeout_ms),
        };
        let inline_max =
            number(INLINE_MAX_BYTES, text(INLINE_MAX_BYTES))?.unwrap_or(DEFAULT_INLINE_MAX_BYTES);
        let answer = match text(ANSWER).as_deref().map(str::trim) {
            None | Some("redirect") => Answer::Redirect,
            Some("inline") => Answer::Inline {
                max_bytes: inline_max,
            },
            Some(other) => {
                return Err(Error::Config(format!(
                    "{ANSWER}={other:?}: use redirect or inline"
                )))
            }
        };
        let s3_path_style = match text(S3_PATH_STYLE).as_deref().map(str::trim) {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(other) => {
                return Err(Error::Config(format!(
                    "{S3_PATH_STYLE}={other:?}: use 1 or true (or leave it unset)"
                )))
            }
        };
        Ok(Settings {
            keys: text(KEYS),
            keys_parameter: text(KEYS_PARAMETER),
            keys_secret: text(KEYS_SECRET),
            limits,
            source_prefixes: list(SOURCE_PREFIXES),
            max_concurrent_renders: number(MAX_CONCURRENT_RENDERS, text(MAX_CONCURRENT_RENDERS))?,
            dir: text(DIR),
            addr: text(ADDR),
            bucket: text(BUCKET),
            source_bucket: text(SOURCE_BUCKET),
            s3_path_style,
            answer,
            distribution_id: text(DISTRIBUTION_ID),
            presets: text(PRESETS).unwrap_or_default(),
            prerender: list(PRERENDER),
            purge_settle_ms: number(PURGE_SETTLE_MS, text(PURGE_SETTLE_MS))?,
            metrics_namespace: match text(METRICS_NAMESPACE) {
                None => Some(DEFAULT_METRICS_NAMESPACE.to_string()),
                Some(off) if off.trim().eq_ignore_ascii_case("off") => None,
                Some(ns) => Some(ns.trim().to_string()),
            },
        })
    }

    /// The signing keys from [`KEYS`].
    pub fn key_ring(&self) -> Result<KeyRing> {
        let spec = self.keys.as_deref().ok_or_else(|| {
            Error::Config(format!(
                "no signing keys: set {KEYS}=ID:SECRET (make one with `rendition keygen`)"
            ))
        })?;
        KeyRing::from_spec(spec).map_err(|e| Error::Config(format!("{KEYS}: {}", e.message())))
    }

    /// The presets from [`PRESETS`]: JSON text, or the file it names when it does not start
    /// with `{`.
    pub fn presets(&self) -> Result<Presets> {
        presets_from(&self.presets)
    }

    /// The service's configuration, answering successes with `answer`.
    pub fn service_config(&self, answer: Answer) -> Config {
        let default = Config::default();
        Config {
            limits: self.limits.clone(),
            source_prefixes: self.source_prefixes.clone(),
            answer,
            max_concurrent_renders: self
                .max_concurrent_renders
                .unwrap_or(default.max_concurrent_renders),
            ..default
        }
    }

    /// How long a purge waits before its second pass: [`PURGE_SETTLE_MS`], or the render
    /// timeout plus 2 s (renders in flight have finished or given up by then).
    pub fn purge_settle(&self) -> Duration {
        Duration::from_millis(
            self.purge_settle_ms
                .unwrap_or(self.limits.render_timeout_ms + 2000),
        )
    }

    /// The rendition store and the source store on S3, with one client: the source store is
    /// the rendition store itself unless [`SOURCE_BUCKET`] names another bucket.
    pub fn s3_stores(&self, sdk: &aws_config::SdkConfig) -> Result<S3Stores> {
        let bucket = self
            .bucket
            .clone()
            .ok_or_else(|| Error::Config(format!("no bucket: set {BUCKET} (or --bucket)")))?;
        let client = S3Store::client(sdk, self.s3_path_style);
        let renditions: Arc<dyn Store> = Arc::new(S3Store::new(client.clone(), &bucket));
        let (sources, source_bucket) = match &self.source_bucket {
            Some(b) if *b != bucket => (
                Arc::new(S3Store::new(client, b)) as Arc<dyn Store>,
                b.clone(),
            ),
            _ => (renditions.clone(), bucket),
        };
        Ok(S3Stores {
            renditions,
            sources,
            source_bucket,
        })
    }
}

/// Where renditions are written and sources read, on S3.
pub struct S3Stores {
    pub renditions: Arc<dyn Store>,
    /// The rendition store itself when sources and renditions share a bucket.
    pub sources: Arc<dyn Store>,
    pub source_bucket: String,
}

/// Reads presets from JSON text, or from the file it names when it does not start with `{`.
pub fn presets_from(value: &str) -> Result<Presets> {
    let v = value.trim();
    if v.is_empty() || v.starts_with('{') {
        return Presets::from_json(v).map_err(Error::from);
    }
    let text = std::fs::read_to_string(v)
        .map_err(|e| Error::Config(format!("{PRESETS}: cannot read the preset file {v}: {e}")))?;
    Presets::from_json(&text).map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn debug_never_shows_the_keys() {
        let s = settings(&[(KEYS, "k1:0123456789abcdef0123456789abcdef")]).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("keys: Some(\"<redacted>\")"), "{shown}");
    }

    #[test]
    fn unset_and_empty_variables_take_the_defaults() {
        let s = settings(&[(SOURCE_PREFIXES, ""), (MAX_OUTPUT_SIDE, " ")]).unwrap();
        assert_eq!(s.limits, Limits::default());
        assert!(s.source_prefixes.is_empty());
        assert_eq!(s.answer, Answer::Redirect);
        assert!(!s.s3_path_style);
        assert_eq!(s.purge_settle(), Duration::from_millis(22_000));
    }

    #[test]
    fn every_variable_is_read() {
        let s = settings(&[
            (MAX_SOURCE_BYTES, "10"),
            (MAX_OUTPUT_SIDE, "100"),
            (RENDER_TIMEOUT_MS, "500"),
            (SOURCE_PREFIXES, "a/, b/,"),
            (ANSWER, "inline"),
            (INLINE_MAX_BYTES, "7"),
            (S3_PATH_STYLE, "true"),
            (PRERENDER, "thumb,,hero"),
            (SOURCE_BUCKET, "src"),
        ])
        .unwrap();
        assert_eq!(s.limits.max_source_bytes, 10);
        assert_eq!(s.limits.max_output_side, 100);
        assert_eq!(s.source_prefixes, ["a/", "b/"]);
        assert_eq!(s.answer, Answer::Inline { max_bytes: 7 });
        assert!(s.s3_path_style);
        assert_eq!(s.prerender, ["thumb", "hero"]);
        assert_eq!(s.purge_settle(), Duration::from_millis(2500));
        assert_eq!(s.source_bucket.as_deref(), Some("src"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            (MAX_SOURCE_BYTES, "-1"),
            (ANSWER, "bytes"),
            (S3_PATH_STYLE, "yes"),
        ] {
            let e = settings(&[(name, value)]).unwrap_err();
            assert!(e.message().contains(name), "{e}");
        }
        let e = settings(&[]).unwrap().key_ring().unwrap_err();
        assert!(e.message().contains(KEYS), "{e}");
    }

    #[test]
    fn every_constant_is_listed() {
        let names: Vec<&str> = VARS.iter().map(|(n, _)| *n).collect();
        let source = include_str!("settings.rs");
        let declared = source
            .lines()
            .filter(|l| l.starts_with("pub const ") && l.contains(": &str = \"RENDITION_"))
            .count();
        assert_eq!(declared, names.len());
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }
}
