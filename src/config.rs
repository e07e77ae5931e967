//! Settings shared by the CLI and the Lambda, read once from flags and the environment.
//!
//! Every setting has a flag and an environment variable of the same name
//! (`--max-source-bytes` / `RENDITION_MAX_SOURCE_BYTES`); the Lambda, which has no flags,
//! parses the same structs from its environment alone. Keys come only from the environment
//! (or, deployed, from a secret store), never from a flag that would show in `ps`.

use clap::Args;

use crate::error::{bad, Result};
use crate::ops::{Format, Limits, Ops};
use crate::options::{Number, Options, Presets};
use crate::request::KeyRing;
use crate::service::{Answer, Config};

/// Environment variable holding `ID:SECRET[,ID:SECRET...]`; the first key signs, all verify.
pub const KEYS_ENV: &str = "RENDITION_KEYS";

/// Reads the signing keys from `RENDITION_KEYS`.
pub fn keys_from_env() -> Result<KeyRing> {
    let spec = std::env::var(KEYS_ENV).map_err(|_| {
        bad(format!(
            "no signing keys: set {KEYS_ENV}=ID:SECRET (make one with `rendition keygen`)"
        ))
    })?;
    KeyRing::from_spec(&spec).map_err(|e| bad(format!("{KEYS_ENV}: {}", e.message())))
}

/// Security limits (see [`Limits`] for what each one protects).
#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Largest source object, in bytes.
    #[arg(long, env = "RENDITION_MAX_SOURCE_BYTES", default_value_t = Limits::default().max_source_bytes)]
    pub max_source_bytes: u64,
    /// Largest source in pixels (width x height), checked from the header before decoding.
    #[arg(long, env = "RENDITION_MAX_SOURCE_PIXELS", default_value_t = Limits::default().max_source_pixels)]
    pub max_source_pixels: u64,
    /// Largest output width or height.
    #[arg(long, env = "RENDITION_MAX_OUTPUT_SIDE", default_value_t = Limits::default().max_output_side)]
    pub max_output_side: u32,
    /// Largest output in pixels.
    #[arg(long, env = "RENDITION_MAX_OUTPUT_PIXELS", default_value_t = Limits::default().max_output_pixels)]
    pub max_output_pixels: u64,
    /// Most frames an animated source may have.
    #[arg(long, env = "RENDITION_MAX_FRAMES", default_value_t = Limits::default().max_frames)]
    pub max_frames: u32,
    /// Time budget of one render in milliseconds (read, render, store).
    #[arg(long, env = "RENDITION_RENDER_TIMEOUT_MS", default_value_t = Limits::default().render_timeout_ms)]
    pub render_timeout_ms: u64,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_source_bytes: self.max_source_bytes,
            max_source_pixels: self.max_source_pixels,
            max_output_side: self.max_output_side,
            max_output_pixels: self.max_output_pixels,
            max_frames: self.max_frames,
            render_timeout_ms: self.render_timeout_ms,
        }
    }
}

/// Settings of the miss path.
#[derive(Args, Debug, Clone)]
pub struct ServiceArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Comma-separated key prefixes sources must start with (default: any key outside r/).
    #[arg(long, env = "RENDITION_SOURCE_PREFIXES", value_delimiter = ',')]
    pub source_prefixes: Vec<String>,
    /// Renders running at once (default: the number of CPUs).
    #[arg(long, env = "RENDITION_MAX_CONCURRENT_RENDERS")]
    pub max_concurrent_renders: Option<usize>,
}

impl ServiceArgs {
    pub fn config(&self, answer: Answer) -> Config {
        let default = Config::default();
        Config {
            limits: self.limits.limits(),
            source_prefixes: self
                .source_prefixes
                .iter()
                .filter(|p| !p.is_empty())
                .cloned()
                .collect(),
            answer,
            max_concurrent_renders: self
                .max_concurrent_renders
                .unwrap_or(default.max_concurrent_renders),
            ..default
        }
    }
}

/// Operation flags, shared by `sign` and `render`. They take what a person types and go
/// through the signer rules of [`Options::resolve`], like presets and the other signers.
#[derive(Args, Debug, Clone, Default)]
pub struct OpArgs {
    /// Output width in CSS pixels (multiplied by --dpr).
    #[arg(long, short = 'w')]
    pub width: Option<u32>,
    /// Output height in CSS pixels (multiplied by --dpr).
    #[arg(long, short = 'H')]
    pub height: Option<u32>,
    /// cover (default), contain, fill, inside or outside; needs both width and height.
    #[arg(long)]
    pub fit: Option<String>,
    /// Allow an output larger than the source (by default a size larger than the source is
    /// scaled down to fit it).
    #[arg(long)]
    pub enlarge: bool,
    /// centre (default), n, ne, e, se, s, sw, w, nw, smart, or X-Y focal point in percent.
    #[arg(long)]
    pub gravity: Option<String>,
    /// Encoder quality 1-100 for jpg, webp and avif (default 80).
    #[arg(long, short = 'q')]
    pub quality: Option<u32>,
    /// Background colour as 3 or 6 hex digits (#f80, ff8800), for flattening and padding.
    #[arg(long)]
    pub background: Option<String>,
    /// Rotate clockwise by a multiple of 90 degrees (after EXIF orientation).
    #[arg(long, allow_negative_numbers = true)]
    pub rotate: Option<i64>,
    /// Mirror: h (left-right), v (top-bottom) or hv.
    #[arg(long)]
    pub flip: Option<String>,
    /// Gaussian blur sigma in output pixels (0.1 to 100, one decimal).
    #[arg(long)]
    pub blur: Option<String>,
    /// Unsharp-mask sigma in output pixels (0.1 to 10, one decimal).
    #[arg(long)]
    pub sharpen: Option<String>,
    /// Source version token (letters and digits), so a changed original gets new URLs.
    #[arg(long, conflicts_with = "etag")]
    pub source_version: Option<String>,
    /// The source's ETag as S3 reports it (quotes and all): becomes the version token.
    #[arg(long)]
    pub etag: Option<String>,
    /// Device pixel ratio (above 0, at most 8): multiplies width and height, exactly.
    #[arg(long)]
    pub dpr: Option<String>,
    /// Output format: jpg, png, webp, gif or avif (default: the source's, if it is one of these).
    #[arg(long, short = 'f')]
    pub format: Option<String>,
}

impl OpArgs {
    /// The options these flags set (unset flags stay `None`, so they can override a preset).
    pub fn options(&self) -> Options {
        let number = |v: &Option<String>| v.clone().map(Number);
        Options {
            width: self.width,
            height: self.height,
            dpr: number(&self.dpr),
            fit: self.fit.clone(),
            enlarge: self.enlarge.then_some(true),
            gravity: self.gravity.clone(),
            quality: self.quality,
            background: self.background.clone(),
            rotate: self.rotate,
            flip: self.flip.clone(),
            blur: number(&self.blur),
            sharpen: number(&self.sharpen),
            version: self.source_version.clone(),
            etag: self.etag.clone(),
            format: self.format.clone(),
        }
    }

    /// The canonical ops and format these flags ask for, for a source named `source`.
    pub fn resolve(&self, source: &str) -> Result<(Ops, Format)> {
        self.options().resolve(source)
    }
}

/// Environment variable with the presets: JSON text (`{"thumb": {"width": 320}}`) or the path
/// of a file holding it.
pub const PRESETS_ENV: &str = "RENDITION_PRESETS";

/// Reads presets from JSON text, or from the file it names when it does not start with `{`.
pub fn presets_from(value: &str) -> Result<Presets> {
    let v = value.trim();
    if v.is_empty() || v.starts_with('{') {
        return Presets::from_json(v);
    }
    let text = std::fs::read_to_string(v).map_err(|e| {
        bad(format!(
            "{PRESETS_ENV}: cannot read the preset file {v}: {e}"
        ))
    })?;
    Presets::from_json(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_canonicalised() {
        let args = OpArgs {
            width: Some(100),
            dpr: Some("2".into()),
            flip: Some("v".into()),
            quality: Some(80),
            background: Some("#FFFFFF".into()),
            rotate: Some(360),
            gravity: Some("centre".into()),
            ..OpArgs::default()
        };
        let (ops, format) = args.resolve("a/b.jpg").unwrap();
        assert_eq!(format, Format::Jpeg);
        assert_eq!(ops.segment(), "w200_r180_flip");
        let hv = OpArgs {
            flip: Some("hv".into()),
            ..OpArgs::default()
        };
        assert_eq!(hv.resolve("a.png").unwrap().0.segment(), "r180");
        assert!(OpArgs::default().resolve("a.tiff").is_err());
    }
}
