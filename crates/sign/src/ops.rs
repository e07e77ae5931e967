//! Operations and output formats as data.
//!
//! An [`Ops`] value is what one rendition does to its source. It has exactly one text form, the
//! *ops segment* of a render path (`w640_h360_g-ne_q70`), written by [`Ops::segment`] and read
//! by [`Ops::parse_segment`]; anything that is not the canonical form is rejected, so the same
//! rendition can never be asked for under two paths. Whether an option is meaningful can
//! depend on the output format (quality means nothing to PNG), so validation takes the format.
//! The grammar is specified for implementers of other signers in `docs/url-format.md`.

use std::fmt;
use std::str::FromStr;

use crate::error::{bad, Error, Result};

/// How the source is fitted into a box when both width and height are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fit {
    /// Fill the box exactly, cropping what overflows (positioned by gravity). The default.
    #[default]
    Cover,
    /// Fit entirely inside the box and pad the rest with the background (positioned by gravity).
    Contain,
    /// Stretch to the box, ignoring the aspect ratio.
    Fill,
    /// Scale to fit inside the box, keeping the aspect ratio; the output may be smaller.
    Inside,
    /// Scale to cover the box, keeping the aspect ratio; the output may be larger.
    Outside,
}

impl Fit {
    pub const ALL: [Fit; 5] = [
        Fit::Cover,
        Fit::Contain,
        Fit::Fill,
        Fit::Inside,
        Fit::Outside,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fit::Cover => "cover",
            Fit::Contain => "contain",
            Fit::Fill => "fill",
            Fit::Inside => "inside",
            Fit::Outside => "outside",
        }
    }
}

impl FromStr for Fit {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Fit::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                bad(format!(
                    "unknown fit {s:?} (cover, contain, fill, inside, outside)"
                ))
            })
    }
}

/// Where the kept part of the image sits when cropping (cover) or padding (contain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Gravity {
    #[default]
    Centre,
    North,
    NorthEast,
    East,
    SouthEast,
    South,
    SouthWest,
    West,
    NorthWest,
    /// Keep the most detailed region (highest entropy); cover only.
    Smart,
    /// Keep this point (percent of width, percent of height, 0..=100) as central as possible.
    Focal {
        x: u8,
        y: u8,
    },
}

const NAMED_GRAVITIES: [(Gravity, &str); 9] = [
    (Gravity::North, "n"),
    (Gravity::NorthEast, "ne"),
    (Gravity::East, "e"),
    (Gravity::SouthEast, "se"),
    (Gravity::South, "s"),
    (Gravity::SouthWest, "sw"),
    (Gravity::West, "w"),
    (Gravity::NorthWest, "nw"),
    (Gravity::Smart, "smart"),
];

impl Gravity {
    /// The named gravity a focal point on an edge, corner or the centre is equal to: both
    /// place the kept region identically, so only the named form is canonical.
    pub fn named_equivalent(x: u8, y: u8) -> Option<Gravity> {
        let third = |v: u8| match v {
            0 => Some(0),
            50 => Some(1),
            100 => Some(2),
            _ => None,
        };
        let (col, row) = (third(x)?, third(y)?);
        Some(
            [
                [Gravity::NorthWest, Gravity::North, Gravity::NorthEast],
                [Gravity::West, Gravity::Centre, Gravity::East],
                [Gravity::SouthWest, Gravity::South, Gravity::SouthEast],
            ][row][col],
        )
    }

    /// The anchor of the kept region as fractions of the free space (0 = left/top, 1 = right/bottom).
    /// `None` for [`Gravity::Smart`], which looks at the pixels.
    pub fn anchor(self) -> Option<(f64, f64)> {
        Some(match self {
            Gravity::Centre => (0.5, 0.5),
            Gravity::North => (0.5, 0.0),
            Gravity::NorthEast => (1.0, 0.0),
            Gravity::East => (1.0, 0.5),
            Gravity::SouthEast => (1.0, 1.0),
            Gravity::South => (0.5, 1.0),
            Gravity::SouthWest => (0.0, 1.0),
            Gravity::West => (0.0, 0.5),
            Gravity::NorthWest => (0.0, 0.0),
            Gravity::Focal { x, y } => (f64::from(x) / 100.0, f64::from(y) / 100.0),
            Gravity::Smart => return None,
        })
    }
}

impl fmt::Display for Gravity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gravity::Centre => f.write_str("centre"),
            Gravity::Focal { x, y } => write!(f, "{x}-{y}"),
            g => {
                let name = NAMED_GRAVITIES
                    .iter()
                    .find(|(n, _)| n == g)
                    .map(|(_, s)| *s);
                f.write_str(name.unwrap_or("?"))
            }
        }
    }
}

impl FromStr for Gravity {
    type Err = Error;
    /// Reads the value of a `g-` token (`ne`, `smart`, `30-70`); also accepts `centre`/`center`
    /// for the command line, which the path never carries.
    fn from_str(s: &str) -> Result<Self> {
        if s == "centre" || s == "center" || s == "c" {
            return Ok(Gravity::Centre);
        }
        if let Some((_, g)) = NAMED_GRAVITIES
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(g, n)| (n, *g))
        {
            return Ok(g);
        }
        if let Some((x, y)) = s.split_once('-') {
            let x = parse_uint(x, "focal x")?;
            let y = parse_uint(y, "focal y")?;
            if x > 100 || y > 100 {
                return Err(bad("focal point coordinates are percentages, 0 to 100"));
            }
            return Ok(Gravity::Focal {
                x: x as u8,
                y: y as u8,
            });
        }
        Err(bad(format!(
            "unknown gravity {s:?} (n, ne, e, se, s, sw, w, nw, smart, or X-Y focal point in percent)"
        )))
    }
}

/// Output format, named by the extension of the render path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Gif,
    /// AV1 in HEIF, lossy, 8-bit; keeps transparency.
    Avif,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Jpeg,
        Format::Png,
        Format::Webp,
        Format::Gif,
        Format::Avif,
    ];

    /// The one extension the path uses for this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Gif => "gif",
            Format::Avif => "avif",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Gif => "image/gif",
            Format::Avif => "image/avif",
        }
    }

    /// The format a path extension names; `jpeg` and upper case are not canonical.
    pub fn from_extension(ext: &str) -> Result<Self> {
        if ext == "jpeg" {
            return Err(bad("use the extension .jpg, not .jpeg"));
        }
        Format::ALL
            .into_iter()
            .find(|f| f.extension() == ext)
            .ok_or_else(|| {
                bad(format!(
                    "unknown output format {ext:?} (jpg, png, webp, gif, avif, auto, auto-alpha, json)"
                ))
            })
    }

    /// Whether the format can carry transparency.
    pub fn has_alpha(self) -> bool {
        !matches!(self, Format::Jpeg)
    }

    /// The quality used when the path does not name one; `None` for lossless formats.
    pub fn default_quality(self) -> Option<u8> {
        match self {
            Format::Jpeg | Format::Webp | Format::Avif => Some(80),
            Format::Png | Format::Gif => None,
        }
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "jpeg" => Ok(Format::Jpeg),
            other => Format::from_extension(other),
        }
    }
}

/// An opaque sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub [u8; 3]);

impl Rgb {
    pub const WHITE: Rgb = Rgb([255, 255, 255]);
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "{r:02x}{g:02x}{b:02x}")
    }
}

impl FromStr for Rgb {
    type Err = Error;
    /// Six lowercase hex digits (`ff8800`); the command line may add a leading `#`.
    fn from_str(s: &str) -> Result<Self> {
        let ok = s.len() == 6
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok {
            return Err(bad(format!(
                "colour {s:?} must be six lowercase hex digits, like ff8800"
            )));
        }
        let byte = |i: usize| u8::from_str_radix(&s[i..i + 2], 16).expect("checked hex");
        Ok(Rgb([byte(0), byte(2), byte(4)]))
    }
}

/// A non-negative number with at most one decimal place, kept in tenths so it has one text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tenths(pub u32);

impl Tenths {
    pub fn as_f32(self) -> f32 {
        self.0 as f32 / 10.0
    }
}

impl fmt::Display for Tenths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (int, frac) = (self.0 / 10, self.0 % 10);
        if frac == 0 {
            write!(f, "{int}")
        } else {
            write!(f, "{int}.{frac}")
        }
    }
}

impl FromStr for Tenths {
    type Err = Error;
    /// Minimal decimal form: `2`, `0.5`, `12.5`; not `2.0`, `.5`, `02` or `1.25`.
    fn from_str(s: &str) -> Result<Self> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => {
                if f.len() != 1 || !f.as_bytes()[0].is_ascii_digit() || f == "0" {
                    return Err(bad(format!(
                        "{s:?}: at most one decimal place, no trailing zero"
                    )));
                }
                (i, u32::from(f.as_bytes()[0] - b'0'))
            }
            None => (s, 0),
        };
        let int = parse_uint(int, "number")?;
        int.checked_mul(10)
            .and_then(|t| t.checked_add(frac))
            .map(Tenths)
            .ok_or_else(|| bad(format!("{s:?} is too large")))
    }
}

/// Quarter turns clockwise, applied after EXIF orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rotation {
    #[default]
    R0,
    R90,
    R180,
    R270,
}

impl Rotation {
    pub fn quarter_turns(self) -> u8 {
        self as u8
    }

    pub fn from_degrees(deg: u32) -> Result<Self> {
        match deg % 360 {
            0 => Ok(Rotation::R0),
            90 => Ok(Rotation::R90),
            180 => Ok(Rotation::R180),
            270 => Ok(Rotation::R270),
            _ => Err(bad(format!(
                "rotation {deg} is not a multiple of 90 degrees"
            ))),
        }
    }

    pub fn degrees(self) -> u32 {
        u32::from(self.quarter_turns()) * 90
    }
}

/// Everything a rendition does to its source, except the output format (the path's extension).
///
/// `Default` is the identity: same size, no filters. Field order is the order of the tokens in
/// the ops segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Ops {
    /// Output width in pixels; with no height, the height follows the aspect ratio.
    pub width: Option<u32>,
    /// Output height in pixels; with no width, the width follows the aspect ratio.
    pub height: Option<u32>,
    /// Only meaningful with both width and height.
    pub fit: Fit,
    /// Allow an output larger than the source. Without it, a requested size larger than the
    /// source is scaled down until the output fits within the source's size (`Plan::new`).
    /// Only meaningful with a width or a height.
    pub enlarge: bool,
    /// Only meaningful with both sides and fit cover or contain.
    pub gravity: Gravity,
    /// Encoder quality 1..=100 for lossy formats; `None` uses [`Format::default_quality`].
    pub quality: Option<u8>,
    /// Flatten transparency onto this colour, and pad `contain` with it. Without it, formats
    /// with alpha keep transparency (and pad transparent) and JPEG flattens onto white.
    pub background: Option<Rgb>,
    /// Extra rotation after EXIF orientation.
    pub rotate: Rotation,
    /// Mirror left-right after rotation. (A vertical flip is `r180` plus `flip`.)
    pub flip: bool,
    /// Gaussian blur sigma in pixels of the output.
    pub blur: Option<Tenths>,
    /// Unsharp-mask sigma in pixels of the output.
    pub sharpen: Option<Tenths>,
    /// Source version token (for example the source's ETag), so a changed original gets new URLs.
    pub version: Option<String>,
}

/// Largest width or height the grammar accepts; the configured limit is usually lower.
pub const MAX_SIDE: u32 = 65_535;
/// Largest blur sigma, in tenths (the cost of a blur grows with its sigma).
pub const MAX_BLUR: Tenths = Tenths(1000);
/// Largest sharpen sigma, in tenths.
pub const MAX_SHARPEN: Tenths = Tenths(100);
/// Longest source version token.
pub const MAX_VERSION_LEN: usize = 64;
/// The ops segment of a rendition with no operations.
pub const EMPTY_SEGMENT: &str = "-";
/// The token that allows an output larger than its source.
pub const ENLARGE: &str = "enlarge";

impl Ops {
    /// Checks that every option is in range and meaningful for `format`, so that no two
    /// different `Ops` values produce the same rendition.
    pub fn validate(&self, format: Format) -> Result<()> {
        for (name, side) in [("width", self.width), ("height", self.height)] {
            if let Some(v) = side {
                if v == 0 || v > MAX_SIDE {
                    return Err(bad(format!("{name} must be 1 to {MAX_SIDE}")));
                }
            }
        }
        let boxed = self.width.is_some() && self.height.is_some();
        if self.fit != Fit::Cover && !boxed {
            return Err(bad("fit needs both width and height"));
        }
        if self.enlarge && self.width.is_none() && self.height.is_none() {
            return Err(bad("enlarge needs a width or a height"));
        }
        if self.gravity != Gravity::Centre {
            if !boxed || !matches!(self.fit, Fit::Cover | Fit::Contain) {
                return Err(bad("gravity needs width, height and fit cover or contain"));
            }
            if self.gravity == Gravity::Smart && self.fit != Fit::Cover {
                return Err(bad("smart gravity works with fit cover only"));
            }
            if let Gravity::Focal { x, y } = self.gravity {
                if let Some(named) = Gravity::named_equivalent(x, y) {
                    return Err(bad(format!(
                        "focal point {x}-{y} is the same as gravity {named}: use that instead"
                    )));
                }
            }
        }
        match (self.quality, format.default_quality()) {
            (Some(_), None) => {
                return Err(bad(format!(
                    "quality does not apply to {}",
                    format.extension()
                )))
            }
            (Some(q), Some(default)) => {
                if q == 0 || q > 100 {
                    return Err(bad("quality must be 1 to 100"));
                }
                if q == default {
                    return Err(bad(format!("quality {q} is the default: leave it out")));
                }
            }
            _ => {}
        }
        if self.background == Some(Rgb::WHITE) && !format.has_alpha() {
            return Err(bad(
                "background ffffff is the default for jpg: leave it out",
            ));
        }
        for (name, v, max) in [
            ("blur", self.blur, MAX_BLUR),
            ("sharpen", self.sharpen, MAX_SHARPEN),
        ] {
            if let Some(v) = v {
                if v.0 == 0 || v > max {
                    return Err(bad(format!("{name} sigma must be 0.1 to {max}")));
                }
            }
        }
        if let Some(v) = &self.version {
            let ok = !v.is_empty()
                && v.len() <= MAX_VERSION_LEN
                && v.bytes().all(|b| b.is_ascii_alphanumeric());
            if !ok {
                return Err(bad(format!(
                    "version must be 1 to {MAX_VERSION_LEN} ASCII letters and digits"
                )));
            }
        }
        Ok(())
    }

    /// The width and height a render works to for a displayed `src_w`×`src_h` source: the
    /// requested ones, except that without `enlarge` they never exceed the source.
    ///
    /// A single side is capped at the source's (the other follows the aspect ratio). With both
    /// sides and fit cover, contain or fill, the box is scaled down by
    /// `min(1, src_w / w, src_h / h)` (each side rounded half up, at least 1), so it keeps its
    /// aspect ratio and fits within the source. Inside and outside keep the requested box; the
    /// plan caps their scale at 1 instead.
    pub fn requested_size(&self, src_w: u32, src_h: u32) -> (Option<u32>, Option<u32>) {
        if self.enlarge {
            return (self.width, self.height);
        }
        match (self.width, self.height) {
            (Some(w), Some(h)) if matches!(self.fit, Fit::Cover | Fit::Contain | Fit::Fill) => {
                if w <= src_w && h <= src_h {
                    return (Some(w), Some(h));
                }
                // Exact in integers: the smaller of src_w / w and src_h / h.
                let (num, den) =
                    if u64::from(src_w) * u64::from(h) <= u64::from(src_h) * u64::from(w) {
                        (src_w, w)
                    } else {
                        (src_h, h)
                    };
                let shrink = |v: u32| {
                    let scaled = div_round(u128::from(v) * u128::from(num), u128::from(den));
                    u32::try_from(scaled).unwrap_or(u32::MAX).max(1)
                };
                (Some(shrink(w)), Some(shrink(h)))
            }
            (w, h) if h.is_none() || w.is_none() => {
                (w.map(|w| w.min(src_w)), h.map(|h| h.min(src_h)))
            }
            other => other,
        }
    }

    /// The canonical ops segment (`-` when there are no operations). Call on validated ops.
    pub fn segment(&self) -> String {
        let tokens: Vec<String> = TOKENS.iter().filter_map(|t| (t.write)(self)).collect();
        if tokens.is_empty() {
            return EMPTY_SEGMENT.to_string();
        }
        tokens.join("_")
    }

    /// Reads an ops segment, accepting only the canonical form for `format`.
    pub fn parse_segment(segment: &str, format: Format) -> Result<Ops> {
        let ops = Ops::parse_tokens(segment)?;
        ops.validate(format)?;
        Ok(ops)
    }

    /// Reads an ops segment's tokens, in canonical order and spelling, without checking what
    /// they mean together or for a format ([`Ops::validate`] does).
    pub fn parse_tokens(segment: &str) -> Result<Ops> {
        if segment == EMPTY_SEGMENT {
            return Ok(Ops::default());
        }
        if segment.is_empty() {
            return Err(bad("empty ops segment (use - for no operations)"));
        }
        let mut ops = Ops::default();
        // Tokens must come in the table's order, which both fixes the order and forbids repeats.
        let mut next = 0;
        for token in segment.split('_') {
            let (rank, kind, value) = Token::find(token)?;
            (kind.read)(&mut ops, value).map_err(|e| match e {
                ReadError::Unknown => bad(format!("unknown operation {token:?}")),
                ReadError::Bad(e) => e,
            })?;
            if rank < next {
                let order: Vec<&str> = TOKENS.iter().map(|t| t.name).collect();
                return Err(bad(format!(
                    "operation {token:?} is repeated or out of order (order: {})",
                    order.join(" ")
                )));
            }
            next = rank + 1;
        }
        Ok(ops)
    }
}

/// One kind of token of the ops segment: how it starts, how it is written from [`Ops`] and
/// how it is read back. [`TOKENS`] lists them in their canonical order; printing, parsing and
/// the error text all come from it, so they cannot disagree.
struct Token {
    /// What the token starts with (for a flag, the whole token).
    prefix: &'static str,
    /// Its name in the error that states the order.
    name: &'static str,
    /// The token for these ops, or `None` when the option is at its default.
    write: fn(&Ops) -> Option<String>,
    /// Reads the text after the prefix into the ops.
    read: fn(&mut Ops, &str) -> Result<(), ReadError>,
}

enum ReadError {
    /// Not this kind of token after all (a flag followed by more text).
    Unknown,
    Bad(Error),
}

impl From<Error> for ReadError {
    fn from(e: Error) -> Self {
        ReadError::Bad(e)
    }
}

impl Token {
    /// The kind of `token` (the longest prefix that matches), its rank and the text after it.
    fn find(token: &str) -> Result<(usize, &'static Token, &str)> {
        TOKENS
            .iter()
            .enumerate()
            .filter(|(_, t)| token.starts_with(t.prefix))
            .max_by_key(|(_, t)| t.prefix.len())
            .map(|(rank, t)| (rank, t, &token[t.prefix.len()..]))
            .ok_or_else(|| bad(format!("unknown operation {token:?}")))
    }
}

/// A flag token: nothing may follow its prefix.
fn flag(value: &str) -> Result<(), ReadError> {
    if value.is_empty() {
        Ok(())
    } else {
        Err(ReadError::Unknown)
    }
}

/// The ops segment's tokens, in canonical order (`docs/url-format.md` §5).
const TOKENS: [Token; 12] = [
    Token {
        prefix: "w",
        name: "w",
        write: |o| o.width.map(|w| format!("w{w}")),
        read: |o, v| {
            o.width = Some(parse_uint(v, "width")?);
            Ok(())
        },
    },
    Token {
        prefix: "h",
        name: "h",
        write: |o| o.height.map(|h| format!("h{h}")),
        read: |o, v| {
            o.height = Some(parse_uint(v, "height")?);
            Ok(())
        },
    },
    Token {
        prefix: "fit-",
        name: "fit",
        write: |o| (o.fit != Fit::Cover).then(|| format!("fit-{}", o.fit.as_str())),
        read: |o, v| {
            o.fit = v.parse()?;
            if o.fit == Fit::Cover {
                return Err(bad("fit cover is the default: leave it out").into());
            }
            Ok(())
        },
    },
    Token {
        prefix: ENLARGE,
        name: ENLARGE,
        write: |o| o.enlarge.then(|| ENLARGE.to_string()),
        read: |o, v| {
            flag(v)?;
            o.enlarge = true;
            Ok(())
        },
    },
    Token {
        prefix: "g-",
        name: "g",
        write: |o| (o.gravity != Gravity::Centre).then(|| format!("g-{}", o.gravity)),
        read: |o, v| {
            if matches!(v, "centre" | "center" | "c") {
                return Err(bad("centre gravity is the default: leave it out").into());
            }
            o.gravity = v.parse()?;
            Ok(())
        },
    },
    Token {
        prefix: "q",
        name: "q",
        write: |o| o.quality.map(|q| format!("q{q}")),
        read: |o, v| {
            let q = parse_uint(v, "quality")?;
            o.quality = Some(u8::try_from(q).map_err(|_| bad("quality must be 1 to 100"))?);
            Ok(())
        },
    },
    Token {
        prefix: "bg-",
        name: "bg",
        write: |o| o.background.map(|bg| format!("bg-{bg}")),
        read: |o, v| {
            o.background = Some(v.parse()?);
            Ok(())
        },
    },
    Token {
        prefix: "r",
        name: "r",
        write: |o| (o.rotate != Rotation::R0).then(|| format!("r{}", o.rotate.degrees())),
        read: |o, v| {
            let deg = parse_uint(v, "rotation")?;
            if !matches!(deg, 90 | 180 | 270) {
                return Err(bad("rotation must be r90, r180 or r270").into());
            }
            o.rotate = Rotation::from_degrees(deg)?;
            Ok(())
        },
    },
    Token {
        prefix: "flip",
        name: "flip",
        write: |o| o.flip.then(|| "flip".to_string()),
        read: |o, v| {
            flag(v)?;
            o.flip = true;
            Ok(())
        },
    },
    Token {
        prefix: "blur",
        name: "blur",
        write: |o| o.blur.map(|s| format!("blur{s}")),
        read: |o, v| {
            o.blur = Some(v.parse()?);
            Ok(())
        },
    },
    Token {
        prefix: "sharpen",
        name: "sharpen",
        write: |o| o.sharpen.map(|s| format!("sharpen{s}")),
        read: |o, v| {
            o.sharpen = Some(v.parse()?);
            Ok(())
        },
    },
    Token {
        prefix: "v",
        name: "v",
        write: |o| o.version.as_ref().map(|v| format!("v{v}")),
        read: |o, v| {
            o.version = Some(v.to_string());
            Ok(())
        },
    },
];

/// `n / d` rounded to the nearest integer, halves up: the one rounding of the path format's
/// size rules (`docs/url-format.md` §8 and §9), done in integers so every signer agrees.
pub fn div_round(n: u128, d: u128) -> u128 {
    (2 * n + d) / (2 * d)
}

/// A decimal integer in minimal form: digits only, no sign, no leading zero (except "0").
pub(crate) fn parse_uint(s: &str, what: &str) -> Result<u32> {
    let minimal = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && !(s.len() > 1 && s.starts_with('0'));
    if !minimal {
        return Err(bad(format!(
            "{what} {s:?} is not a plain decimal number without leading zeros"
        )));
    }
    s.parse()
        .map_err(|_| bad(format!("{what} {s:?} is too large")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_segments_round_trip() {
        let cases = [
            ("-", Format::Jpeg),
            ("w640", Format::Jpeg),
            ("h480", Format::Webp),
            ("w640_h360", Format::Jpeg),
            ("w640_h360_fit-contain_g-sw_bg-ff0000", Format::Png),
            ("w640_h360_g-smart_q70", Format::Webp),
            ("w640_h360_g-30-70", Format::Jpeg),
            ("w100_h100_fit-inside", Format::Gif),
            ("w4000_enlarge", Format::Jpeg),
            ("w640_h360_fit-contain_enlarge_g-sw", Format::Png),
            ("w10_r90_flip_blur0.5_sharpen2_vabc123", Format::Png),
            ("bg-000000", Format::Jpeg),
            ("bg-ffffff", Format::Png),
            ("q1", Format::Jpeg),
            ("q100", Format::Webp),
            ("blur100", Format::Jpeg),
            ("w640_q60", Format::Avif),
            ("q100", Format::Avif),
            ("bg-ffffff", Format::Avif),
        ];
        for (seg, fmt) in cases {
            let ops = Ops::parse_segment(seg, fmt).unwrap_or_else(|e| panic!("{seg}: {e}"));
            assert_eq!(ops.segment(), seg, "{seg}");
        }
    }

    #[test]
    fn non_canonical_segments_are_rejected() {
        let cases = [
            ("", Format::Jpeg, "empty"),
            ("w0640", Format::Jpeg, "leading zero"),
            ("w0", Format::Jpeg, "zero width"),
            ("w+5", Format::Jpeg, "sign"),
            ("h10_w10", Format::Jpeg, "order"),
            ("w10_w10", Format::Jpeg, "repeat"),
            ("w10_fit-contain", Format::Jpeg, "fit one side"),
            ("w10_h10_fit-cover", Format::Jpeg, "default fit"),
            ("w10_h10_g-centre", Format::Jpeg, "default gravity"),
            ("w10_h10_g-50-50", Format::Jpeg, "focal centre"),
            ("w10_h10_g-100-0", Format::Jpeg, "focal corner is ne"),
            ("w10_h10_g-50-100", Format::Jpeg, "focal edge is s"),
            ("w10_h10_g-101-5", Format::Jpeg, "focal range"),
            ("w10_h10_fit-fill_g-n", Format::Jpeg, "gravity with fill"),
            ("w10_h10_fit-contain_g-smart", Format::Jpeg, "smart contain"),
            ("q80", Format::Jpeg, "default quality"),
            ("q80", Format::Avif, "default avif quality"),
            ("q0", Format::Avif, "avif quality range"),
            ("q50", Format::Png, "quality png"),
            ("q101", Format::Jpeg, "quality range"),
            ("bg-ffffff", Format::Jpeg, "default background"),
            ("bg-FFFFFF", Format::Png, "upper hex"),
            ("r0", Format::Jpeg, "r0"),
            ("r360", Format::Jpeg, "r360"),
            ("r45", Format::Jpeg, "r45"),
            ("blur2.0", Format::Jpeg, "trailing zero"),
            ("blur.5", Format::Jpeg, "no int part"),
            ("blur0.25", Format::Jpeg, "two decimals"),
            ("blur0", Format::Jpeg, "zero blur"),
            ("sharpen11", Format::Jpeg, "sharpen range"),
            ("v", Format::Jpeg, "empty version"),
            ("v-x", Format::Jpeg, "version chars"),
            ("x1", Format::Jpeg, "unknown"),
            ("W10", Format::Jpeg, "case"),
            ("w10__h10", Format::Jpeg, "empty token"),
            ("enlarge", Format::Jpeg, "enlarge without a size"),
            ("w10_enlarge_enlarge", Format::Jpeg, "enlarge twice"),
            ("w10_h10_g-n_enlarge", Format::Jpeg, "enlarge after gravity"),
        ];
        for (seg, fmt, why) in cases {
            assert!(
                Ops::parse_segment(seg, fmt).is_err(),
                "{why}: {seg:?} was accepted"
            );
        }
    }

    #[test]
    fn formats_have_one_extension_and_a_content_type() {
        for f in Format::ALL {
            assert_eq!(Format::from_extension(f.extension()).unwrap(), f);
            assert_eq!(f.extension().parse::<Format>().unwrap(), f);
            assert!(f.content_type().starts_with("image/"), "{f:?}");
        }
        assert_eq!(Format::Avif.content_type(), "image/avif");
        assert!(Format::Avif.has_alpha());
        assert_eq!(Format::Avif.default_quality(), Some(80));
        assert!(Format::from_extension("AVIF").is_err());
        assert_eq!("AVIF".parse::<Format>().unwrap(), Format::Avif);
    }

    #[test]
    fn numbers_have_one_form() {
        assert_eq!("12.5".parse::<Tenths>().unwrap(), Tenths(125));
        assert_eq!(Tenths(125).to_string(), "12.5");
        assert_eq!(Tenths(20).to_string(), "2");
        assert!("1.0".parse::<Tenths>().is_err());
        assert_eq!(parse_uint("0", "n").unwrap(), 0);
        assert!(parse_uint("00", "n").is_err());
        assert!(parse_uint("99999999999", "n").is_err());
    }
}
