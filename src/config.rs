//! Settings shared by the CLI and the Lambda, read once from flags and the environment.
//!
//! Every setting has a flag and an environment variable of the same name
//! (`--max-source-bytes` / `RENDITION_MAX_SOURCE_BYTES`); the Lambda, which has no flags,
//! parses the same structs from its environment alone. Keys come only from the environment
//! (or, deployed, from a secret store), never from a flag that would show in `ps`.

use clap::Args;

use crate::error::{bad, Result};
use crate::ops::{Fit, Format, Gravity, Limits, Ops, Rgb, Rotation, Tenths};
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

/// Operation flags, shared by `sign` and `render`.
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
    /// centre (default), n, ne, e, se, s, sw, w, nw, smart, or X-Y focal point in percent.
    #[arg(long)]
    pub gravity: Option<String>,
    /// Encoder quality 1-100 for jpg, webp and avif (default 80).
    #[arg(long, short = 'q')]
    pub quality: Option<u8>,
    /// Background colour as six hex digits, for flattening transparency and padding.
    #[arg(long)]
    pub background: Option<String>,
    /// Rotate clockwise by 90, 180 or 270 degrees (after EXIF orientation).
    #[arg(long)]
    pub rotate: Option<u32>,
    /// Mirror: h (left-right), v (top-bottom) or hv.
    #[arg(long)]
    pub flip: Option<String>,
    /// Gaussian blur sigma in output pixels (0.1 to 100, one decimal).
    #[arg(long)]
    pub blur: Option<String>,
    /// Unsharp-mask sigma in output pixels (0.1 to 10, one decimal).
    #[arg(long)]
    pub sharpen: Option<String>,
    /// Source version token (letters and digits, e.g. the source's ETag).
    #[arg(long)]
    pub source_version: Option<String>,
    /// Device pixel ratio: multiplies width and height.
    #[arg(long)]
    pub dpr: Option<f64>,
    /// Output format: jpg, png, webp, gif or avif (default: the source's, if it is one of these).
    #[arg(long, short = 'f')]
    pub format: Option<String>,
}

impl OpArgs {
    /// The canonical ops and format these flags ask for, for a source named `source`.
    pub fn resolve(&self, source: &str) -> Result<(Ops, Format)> {
        let format: Format = match &self.format {
            Some(f) => f.parse()?,
            None => {
                let ext = source.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
                ext.parse().map_err(|_| {
                    bad("no --format given and the source's extension is not jpg, png, webp, gif or avif")
                })?
            }
        };
        let dpr = self.dpr.unwrap_or(1.0);
        if !(dpr > 0.0 && dpr <= 8.0) {
            return Err(bad("--dpr must be above 0 and at most 8"));
        }
        let scale = |v: u32| ((f64::from(v) * dpr).round() as u32).max(1);
        let (mut rotate, flip) = (
            Rotation::from_degrees(self.rotate.unwrap_or(0))?,
            self.flip.as_deref(),
        );
        // A vertical flip is a half turn plus a mirror: one canonical spelling per transform.
        let mirror = match flip {
            None => false,
            Some("h") => true,
            Some("v") | Some("hv") | Some("vh") => {
                rotate = Rotation::from_degrees(rotate.degrees() + 180)?;
                flip == Some("v")
            }
            Some(other) => return Err(bad(format!("--flip {other:?}: use h, v or hv"))),
        };
        let quality = self
            .quality
            .filter(|q| Some(*q) != format.default_quality());
        let background = self
            .background
            .as_deref()
            .map(|b| {
                b.trim_start_matches('#')
                    .to_ascii_lowercase()
                    .parse::<Rgb>()
            })
            .transpose()?;
        let background = background.filter(|b| format.has_alpha() || *b != Rgb::WHITE);
        let tenths = |v: &Option<String>| v.as_deref().map(str::parse::<Tenths>).transpose();
        let gravity = self
            .gravity
            .as_deref()
            .map(str::parse::<Gravity>)
            .transpose()?
            .unwrap_or_default();
        let gravity = match gravity {
            Gravity::Focal { x, y } => Gravity::named_equivalent(x, y).unwrap_or(gravity),
            g => g,
        };
        let ops = Ops {
            width: self.width.map(scale),
            height: self.height.map(scale),
            fit: self
                .fit
                .as_deref()
                .map(str::parse::<Fit>)
                .transpose()?
                .unwrap_or_default(),
            gravity,
            quality,
            background,
            rotate,
            flip: mirror,
            blur: tenths(&self.blur)?,
            sharpen: tenths(&self.sharpen)?,
            version: self.source_version.clone(),
        };
        ops.validate(format)?;
        Ok((ops, format))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_canonicalised() {
        let args = OpArgs {
            width: Some(100),
            dpr: Some(2.0),
            flip: Some("v".into()),
            quality: Some(80),
            background: Some("#FFFFFF".into()),
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
