//! The command's flags shared by several subcommands: operations, limits and the miss path.
//!
//! Settings come from the environment first (`rendition::settings`, the one place that reads
//! it); a flag given on the command line overrides its variable. Keys come only from the
//! environment, never from a flag that would show in `ps`.

use clap::Args;

use rendition::auto::Output;
use rendition::ops::Ops;
use rendition::options::{Number, Options};
use rendition::settings::Settings;
use rendition::Result;

/// Security limits; each overrides its `RENDITION_*` variable (`rendition --help` lists them).
#[derive(Args, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Largest source object, in bytes [default: 52428800].
    #[arg(long)]
    pub max_source_bytes: Option<u64>,
    /// Largest source in pixels (width x height), checked from the header before decoding
    /// [default: 100000000].
    #[arg(long)]
    pub max_source_pixels: Option<u64>,
    /// Largest output width or height [default: 8192].
    #[arg(long)]
    pub max_output_side: Option<u32>,
    /// Largest output in pixels [default: 40000000].
    #[arg(long)]
    pub max_output_pixels: Option<u64>,
    /// Time budget of one render in milliseconds (read, render, store) [default: 20000].
    #[arg(long)]
    pub render_timeout_ms: Option<u64>,
}

impl LimitArgs {
    /// `settings` with the limits these flags set.
    pub fn apply(&self, settings: &mut Settings) {
        let l = &mut settings.limits;
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = self.$f { l.$f = v; })* };
        }
        set!(
            max_source_bytes,
            max_source_pixels,
            max_output_side,
            max_output_pixels,
            render_timeout_ms
        );
    }
}

/// Settings of the miss path.
#[derive(Args, Debug, Clone)]
pub struct ServiceArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Comma-separated key prefixes sources must start with (default: any key outside r/).
    #[arg(long, value_delimiter = ',')]
    pub source_prefixes: Option<Vec<String>>,
    /// Renders running at once (default: the number of CPUs).
    #[arg(long)]
    pub max_concurrent_renders: Option<usize>,
}

impl ServiceArgs {
    /// `settings` with what these flags set.
    pub fn apply(&self, settings: &mut Settings) {
        self.limits.apply(settings);
        if let Some(prefixes) = &self.source_prefixes {
            settings.source_prefixes = prefixes
                .iter()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
        }
        if let Some(n) = self.max_concurrent_renders {
            settings.max_concurrent_renders = Some(n);
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
    /// Output format: jpg, png, webp, gif or avif, or auto or auto-alpha (chosen per request
    /// from Accept; signed URLs only), or json for the source's info (size, format,
    /// transparency, ThumbHash placeholder). Default: the source's, if it is one of the five.
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
    pub fn resolve(&self, source: &str) -> Result<(Ops, Output)> {
        Ok(self.options().resolve(source)?)
    }
}
