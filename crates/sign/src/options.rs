//! Signer input: rendition options as a person writes them, turned into canonical [`Ops`].
//!
//! The path format (`docs/url-format.md`) accepts exactly one spelling of each rendition. People
//! and templates write options more loosely: `dpr=1.5`, `gravity=NE`, `format=JPEG`,
//! `background=#f80`, `blur=2.0`, an S3 ETag with its quotes. [`Options::resolve`] is the one
//! place that folds them into canonical form, following the signer rules of the spec (§9), and
//! refuses, naming the option, whatever the server would refuse. `rendition sign`, presets and
//! pre-rendering all go through it; `tests/signer-vectors.json` pins it byte for byte so the
//! JavaScript and Python signers agree with it. Pure: no I/O.

use std::collections::BTreeMap;
use std::fmt;

use crate::auto::{Auto, Output, INFO_EXTENSION};
use crate::error::{bad, Error, Result};
use crate::ops::{Fit, Format, Gravity, Ops, Rgb, Rotation, Tenths, MAX_SIDE, MAX_VERSION_LEN};
use crate::request::check_source_key;

/// Largest device pixel ratio a signer accepts.
pub const MAX_DPR: u32 = 8;
/// Most digits a decimal may have after its point (a `devicePixelRatio` such as
/// 1.100000023841858 has 15).
pub const MAX_DECIMAL_PLACES: u32 = 17;

/// Options for one rendition, as a user, a preset file or a template gives them.
///
/// Every field is optional; `None` is the default. Field names are those of the JSON preset
/// file, the signer vectors and the JavaScript and Python signers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "json", serde(deny_unknown_fields))]
pub struct Options {
    /// Output width in CSS pixels (multiplied by `dpr`).
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub width: Option<u32>,
    /// Output height in CSS pixels (multiplied by `dpr`).
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub height: Option<u32>,
    /// Device pixel ratio, 0 < dpr ≤ 8, in exact decimal arithmetic.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub dpr: Option<Number>,
    /// cover (default), contain, fill, inside or outside; any case.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub fit: Option<String>,
    /// Allow an output larger than the source.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub enlarge: Option<bool>,
    /// centre (default), n ne e se s sw w nw, smart, or `X-Y` in percent; any case.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub gravity: Option<String>,
    /// Encoder quality 1–100 for jpg, webp and avif.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub quality: Option<u32>,
    /// Background colour: 3 or 6 hex digits, optional `#`, any case.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub background: Option<String>,
    /// Clockwise rotation in degrees, a multiple of 90 (negative and ≥ 360 fold).
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub rotate: Option<i64>,
    /// Mirror: `h` (left-right), `v` (top-bottom) or `hv`.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub flip: Option<String>,
    /// Gaussian blur sigma, 0.1–100, a multiple of 0.1.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub blur: Option<Number>,
    /// Unsharp-mask sigma, 0.1–10, a multiple of 0.1.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub sharpen: Option<Number>,
    /// Source version token: 1–64 ASCII letters and digits.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub version: Option<String>,
    /// The source's ETag as S3 returns it (quotes, `W/`, multipart `-N` and all); becomes the
    /// version token.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub etag: Option<String>,
    /// Output format: jpg (or jpeg), png, webp, gif, avif, or auto or auto-alpha (chosen per
    /// request from `Accept`), or json for an info request (§14 of the URL format); any case.
    /// Default: the source key's extension, when it is one of the concrete formats.
    #[cfg_attr(
        feature = "json",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub format: Option<String>,
}

impl Options {
    /// `self`, with every option that `over` sets taken from `over` (a preset under flags).
    pub fn overridden_by(&self, over: &Options) -> Options {
        macro_rules! pick {
            ($($f:ident),*) => { Options { $($f: over.$f.clone().or_else(|| self.$f.clone()),)* } };
        }
        pick!(
            width, height, dpr, fit, enlarge, gravity, quality, background, rotate, flip, blur,
            sharpen, version, etag, format
        )
    }

    /// The canonical ops and format these options ask for, for the source key `source`.
    ///
    /// Errors are 400s whose message starts with the option at fault (`width: ...`).
    pub fn resolve(&self, source: &str) -> Result<(Ops, Output)> {
        check_source_key(source).map_err(|e| named("source", &e))?;
        if crate::request::is_rendition_key(source) {
            return Err(bad(format!(
                "source: {source:?} is under r/, where renditions live; renditions cannot be sources"
            )));
        }
        let format = match &self.format {
            Some(f) => parse_output(f).map_err(|e| named("format", &e))?,
            None => {
                let ext = source.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
                parse_format(ext).map_err(|_| {
                    bad(format!(
                        "format: none given and the source's extension {ext:?} is not jpg, jpeg, png, webp, gif or avif"
                    ))
                })?
                .into()
            }
        };
        let output: Output = format;
        // Options resolve as for the format whose rules apply: an auto format's are avif's. An
        // info request describes the source itself: a version is all it takes.
        let Some(format) = output.rules() else {
            return self.resolve_info();
        };
        let dpr = self.dpr.as_ref().map(|d| d.decimal("dpr")).transpose()?;
        let dpr = match &dpr {
            Some(d) => {
                let max = Decimal::integer(MAX_DPR);
                if d.is_zero() || *d > max {
                    return Err(bad(format!(
                        "dpr: {d} is not above 0 and at most {MAX_DPR}"
                    )));
                }
                Some(d)
            }
            None => None,
        };
        let side = |name: &str, v: Option<u32>| -> Result<Option<u32>> {
            let Some(v) = v else { return Ok(None) };
            if v == 0 {
                return Err(bad(format!(
                    "{name}: 0 is not a size; leave it out to follow the source's aspect ratio"
                )));
            }
            let scaled = dpr.map_or(u128::from(v), |d| d.times_rounded(v).max(1));
            if scaled > u128::from(MAX_SIDE) {
                return Err(bad(format!(
                    "{name}: {v} × dpr is {scaled}, over {MAX_SIDE}"
                )));
            }
            Ok(Some(scaled as u32))
        };
        let width = side("width", self.width)?;
        let height = side("height", self.height)?;
        let boxed = width.is_some() && height.is_some();

        let fit = match &self.fit {
            Some(f) => f
                .to_ascii_lowercase()
                .parse::<Fit>()
                .map_err(|e| named("fit", &e))?,
            None => Fit::Cover,
        };
        if fit != Fit::Cover && !boxed {
            return Err(bad(format!(
                "fit: {} needs both width and height",
                fit.as_str()
            )));
        }
        let enlarge = self.enlarge.unwrap_or(false);
        if enlarge && width.is_none() && height.is_none() {
            return Err(bad("enlarge: needs a width or a height"));
        }
        let gravity = match &self.gravity {
            Some(g) => {
                let g = g
                    .to_ascii_lowercase()
                    .parse::<Gravity>()
                    .map_err(|e| named("gravity", &e))?;
                match g {
                    Gravity::Focal { x, y } => Gravity::named_equivalent(x, y).unwrap_or(g),
                    g => g,
                }
            }
            None => Gravity::Centre,
        };
        if gravity != Gravity::Centre {
            if !boxed || !matches!(fit, Fit::Cover | Fit::Contain) {
                return Err(bad("gravity: needs width, height and fit cover or contain"));
            }
            if gravity == Gravity::Smart && fit != Fit::Cover {
                return Err(bad("gravity: smart works with fit cover only"));
            }
        }
        let quality = match (self.quality, format.default_quality()) {
            (None, _) => None,
            (Some(q), None) => {
                return Err(bad(format!(
                    "quality: {q} does not apply to {}",
                    format.extension()
                )))
            }
            (Some(q), Some(default)) => {
                if !(1..=100).contains(&q) {
                    return Err(bad(format!("quality: {q} is not 1 to 100")));
                }
                (q != u32::from(default)).then_some(q as u8)
            }
        };
        let background = match &self.background {
            Some(b) => {
                let rgb = parse_colour(b)?;
                (format.has_alpha() || rgb != Rgb::WHITE).then_some(rgb)
            }
            None => None,
        };
        let turns = match self.rotate {
            Some(deg) if deg % 90 != 0 => {
                return Err(bad(format!(
                    "rotate: {deg} is not a multiple of 90 degrees"
                )))
            }
            Some(deg) => deg.rem_euclid(360) as u32,
            None => 0,
        };
        let mut rotate = Rotation::from_degrees(turns)?;
        // A vertical flip is a half turn plus a mirror: one canonical spelling per transform.
        let flip = match self.flip.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None => false,
            Some("h") => true,
            Some("v") => {
                rotate = Rotation::from_degrees(rotate.degrees() + 180)?;
                true
            }
            Some("hv") | Some("vh") => {
                rotate = Rotation::from_degrees(rotate.degrees() + 180)?;
                false
            }
            Some(other) => return Err(bad(format!("flip: {other:?} is not h, v or hv"))),
        };
        let blur = sigma("blur", self.blur.as_ref(), crate::ops::MAX_BLUR)?;
        let sharpen = sigma("sharpen", self.sharpen.as_ref(), crate::ops::MAX_SHARPEN)?;
        let version = self.version_token()?;
        let ops = Ops {
            width,
            height,
            fit,
            enlarge,
            gravity,
            quality,
            background,
            rotate,
            flip,
            blur,
            sharpen,
            version,
        };
        ops.validate(format)?;
        Ok((ops, output))
    }
}

impl Options {
    /// The version token from `version` or `etag` (not both).
    fn version_token(&self) -> Result<Option<String>> {
        match (&self.version, &self.etag) {
            (Some(_), Some(_)) => Err(bad("etag: give either version or etag, not both")),
            (Some(v), None) => check_version("version", v.clone()).map(Some),
            (None, Some(e)) => check_version("etag", version_from_etag(e)).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// [`Options::resolve`] for an info request (`format: json`, §14): any option but a
    /// version (or an ETag) is refused, naming it, since the answer describes the source as
    /// stored whatever a rendition would do to it.
    fn resolve_info(&self) -> Result<(Ops, Output)> {
        let Options {
            width,
            height,
            dpr,
            fit,
            enlarge,
            gravity,
            quality,
            background,
            rotate,
            flip,
            blur,
            sharpen,
            version: _,
            etag: _,
            format: _,
        } = self;
        let set = [
            ("width", width.is_some()),
            ("height", height.is_some()),
            ("dpr", dpr.is_some()),
            ("fit", fit.is_some()),
            ("enlarge", enlarge.is_some()),
            ("gravity", gravity.is_some()),
            ("quality", quality.is_some()),
            ("background", background.is_some()),
            ("rotate", rotate.is_some()),
            ("flip", flip.is_some()),
            ("blur", blur.is_some()),
            ("sharpen", sharpen.is_some()),
        ];
        if let Some((name, _)) = set.into_iter().find(|(_, is_set)| *is_set) {
            return Err(bad(format!(
                "{name}: an info request (format json) describes the source; it takes no option but version or etag"
            )));
        }
        let version = self.version_token()?;
        let ops = Ops {
            version,
            ..Ops::default()
        };
        Output::Info.validate(&ops)?;
        Ok((ops, Output::Info))
    }
}

/// Named sets of options (`rendition sign --preset thumb`, pre-rendering on upload).
///
/// A preset file is a JSON object of name → [`Options`]: `{"thumb": {"width": 320, "height":
/// 320, "format": "webp"}}`. A preset expands to ordinary operations, so URLs stay
/// self-describing and a preset can change without breaking the URLs already handed out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presets(pub(crate) BTreeMap<String, Options>);

impl Presets {
    pub fn get(&self, name: &str) -> Result<&Options> {
        self.0.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.names().collect();
            bad(format!(
                "no preset named {name:?} (known: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The version token an ETag becomes: without `W/`, quotes and `-` (S3's multipart ETags are
/// `"<md5 of md5s>-<parts>"`).
pub fn version_from_etag(etag: &str) -> String {
    let e = etag.strip_prefix("W/").unwrap_or(etag);
    e.chars().filter(|c| !matches!(c, '"' | '-')).collect()
}

fn check_version(option: &str, v: String) -> Result<String> {
    let ok =
        !v.is_empty() && v.len() <= MAX_VERSION_LEN && v.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(v)
    } else {
        Err(bad(format!(
            "{option}: {v:?} does not make a version token of 1 to {MAX_VERSION_LEN} ASCII letters and digits"
        )))
    }
}

/// A format as the `format` option gives it: a concrete one or an auto format, any case.
fn parse_output(s: &str) -> Result<Output> {
    if s.eq_ignore_ascii_case(INFO_EXTENSION) {
        return Ok(Output::Info);
    }
    match s.parse::<Auto>() {
        Ok(a) => Ok(a.into()),
        Err(_) => parse_format(s).map(Output::Format),
    }
}

fn parse_format(s: &str) -> Result<Format> {
    match s.to_ascii_lowercase().as_str() {
        "jpeg" | "jpg" => Ok(Format::Jpeg),
        other => Format::from_extension(other),
    }
}

/// `#f80`, `F80`, `ff8800`, `#FF8800` → `ff8800`.
fn parse_colour(s: &str) -> Result<Rgb> {
    let hex = s.strip_prefix('#').unwrap_or(s).to_ascii_lowercase();
    let six = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        _ => hex,
    };
    six.parse::<Rgb>().map_err(|_| {
        bad(format!(
            "background: {s:?} is not a colour of 3 or 6 hex digits"
        ))
    })
}

fn sigma(option: &str, v: Option<&Number>, max: Tenths) -> Result<Option<Tenths>> {
    let Some(d) = v else { return Ok(None) };
    let d = d.decimal(option)?;
    let t = d
        .tenths()
        .ok_or_else(|| bad(format!("{option}: {d} is not a multiple of 0.1")))?;
    if t.0 == 0 || t > max {
        return Err(bad(format!("{option}: {d} is not 0.1 to {max}")));
    }
    Ok(Some(t))
}

/// Prefixes an error's message with the option at fault.
fn named(option: &str, e: &Error) -> Error {
    bad(format!("{option}: {}", e.message()))
}

/// A non-negative decimal number kept exactly: `digits / 10^scale`.
///
/// Read from text (`"1.005"`) or from a JSON number, which is first written as its shortest
/// round-trip decimal (what JavaScript's `String(x)` and Python's `repr(x)` print), so
/// `1.005` means 1.005 and not the binary double just below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    digits: u128,
    scale: u32,
}

impl Decimal {
    pub fn integer(v: u32) -> Self {
        Decimal {
            digits: u128::from(v),
            scale: 0,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.digits == 0
    }

    /// `self × other`, exactly.
    pub fn times(&self, other: &Decimal) -> Result<Decimal> {
        let scale = self.scale + other.scale;
        match self.digits.checked_mul(other.digits) {
            Some(digits) => {
                let d = Decimal { digits, scale }.normalised();
                if d.scale > MAX_DECIMAL_PLACES {
                    return Err(bad(format!(
                        "{self} × {other} has more than {MAX_DECIMAL_PLACES} decimal places"
                    )));
                }
                Ok(d)
            }
            None => Err(bad(format!("{self} × {other} is too large"))),
        }
    }

    /// The same value with no trailing zeros after the point.
    fn normalised(mut self) -> Decimal {
        while self.scale > 0 && self.digits.is_multiple_of(10) {
            self.digits /= 10;
            self.scale -= 1;
        }
        self
    }

    /// `round(v × self)`, halves rounded up.
    fn times_rounded(&self, v: u32) -> u128 {
        crate::ops::div_round(self.digits * u128::from(v), 10u128.pow(self.scale))
    }

    /// The value in tenths, when it is a whole number of tenths.
    fn tenths(&self) -> Option<Tenths> {
        let t = if self.scale == 0 {
            self.digits.checked_mul(10)?
        } else {
            let p = 10u128.pow(self.scale - 1);
            if !self.digits.is_multiple_of(p) {
                return None;
            }
            self.digits / p
        };
        u32::try_from(t).ok().map(Tenths)
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let s = self.scale.max(other.scale);
        let a = self.digits.saturating_mul(10u128.pow(s - self.scale));
        let b = other.digits.saturating_mul(10u128.pow(s - other.scale));
        a.cmp(&b)
    }
}

impl std::str::FromStr for Decimal {
    type Err = Error;
    /// Digits with at most one `.`: `2`, `2.0`, `0.5`, `.5`, `1.005`. No sign, no exponent.
    fn from_str(s: &str) -> Result<Self> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits_only = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() && frac.is_empty() || !digits_only(int) || !digits_only(frac) {
            return Err(bad(format!("{s:?} is not a plain decimal number")));
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() as u32 > MAX_DECIMAL_PLACES {
            return Err(bad(format!(
                "{s:?} has more than {MAX_DECIMAL_PLACES} decimal places"
            )));
        }
        let text = format!("{int}{frac}");
        let digits = if text.is_empty() {
            0
        } else {
            text.parse::<u128>()
                .ok()
                .filter(|&d| d <= 10u128.pow(MAX_DECIMAL_PLACES + 6))
                .ok_or_else(|| bad(format!("{s:?} is too large")))?
        };
        Ok(Decimal {
            digits,
            scale: frac.len() as u32,
        })
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = 10u128.pow(self.scale);
        let (int, frac) = (self.digits / p, self.digits % p);
        if self.scale == 0 {
            write!(f, "{int}")
        } else {
            write!(f, "{int}.{frac:0width$}", width = self.scale as usize)
        }
    }
}

/// A number as given: the text of a JSON number or string, read as a [`Decimal`] when the
/// options are resolved (so a bad one is reported under its option's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(pub String);

impl Number {
    fn decimal(&self, option: &str) -> Result<Decimal> {
        self.0
            .parse()
            .map_err(|e: Error| bad(format!("{option}: {}", e.message())))
    }
}

impl From<Decimal> for Number {
    fn from(d: Decimal) -> Self {
        Number(d.to_string())
    }
}

#[cfg(all(test, feature = "json"))]
mod tests {
    use super::*;
    use crate::json::without_exponent;

    fn resolve(json: &str, source: &str) -> Result<String> {
        let o = Options::from_json_value(serde_json::from_str(json).unwrap())?;
        let (ops, format) = o.resolve(source)?;
        Ok(format!("{}.{}", ops.segment(), format.extension()))
    }

    #[test]
    fn user_spellings_fold_into_the_canonical_form() {
        let cases = [
            (r#"{"width": 100, "dpr": 1.005}"#, "w101.jpg"),
            (r#"{"width": 100, "dpr": "1.005"}"#, "w101.jpg"),
            (
                r#"{"width": 100, "dpr": 2, "flip": "v"}"#,
                "w200_r180_flip.jpg",
            ),
            (r#"{"width": 333, "dpr": 1.5}"#, "w500.jpg"),
            (r#"{"width": 1, "dpr": 0.1}"#, "w1.jpg"),
            (r#"{"fit": "cover"}"#, "-.jpg"),
            (r#"{"rotate": 360}"#, "-.jpg"),
            (r#"{"rotate": -90}"#, "r270.jpg"),
            (
                r#"{"blur": "2.0", "sharpen": 0.50}"#,
                "blur2_sharpen0.5.jpg",
            ),
            (
                r#"{"width": 10, "height": 10, "gravity": "NE"}"#,
                "w10_h10_g-ne.jpg",
            ),
            (
                r#"{"width": 10, "height": 10, "gravity": "100-0"}"#,
                "w10_h10_g-ne.jpg",
            ),
            (
                r#"{"width": 10, "height": 10, "gravity": "Centre"}"#,
                "w10_h10.jpg",
            ),
            (r#"{"format": "JPEG", "quality": 80}"#, "-.jpg"),
            (
                r##"{"format": "PNG", "background": "#F80"}"##,
                "bg-ff8800.png",
            ),
            (r##"{"background": "#FFFFFF"}"##, "-.jpg"),
            (
                r#"{"etag": "\"d41d8cd98f00b204e9800998ecf8427e-2\""}"#,
                "vd41d8cd98f00b204e9800998ecf8427e2.jpg",
            ),
            (r#"{"width": 4000, "enlarge": true}"#, "w4000_enlarge.jpg"),
        ];
        for (json, want) in cases {
            assert_eq!(resolve(json, "a/b.JPG").unwrap(), want, "{json}");
        }
    }

    #[test]
    fn refusals_name_the_option() {
        let cases = [
            (r#"{"width": 0}"#, "width"),
            (r#"{"width": 100, "dpr": 0}"#, "dpr"),
            (r#"{"width": 100, "dpr": 8.5}"#, "dpr"),
            (r#"{"width": 40000, "dpr": 2}"#, "width"),
            (r#"{"rotate": 45}"#, "rotate"),
            (r#"{"fit": "contain", "width": 10}"#, "fit"),
            (r#"{"blur": 1.25}"#, "blur"),
            (r#"{"blur": 0}"#, "blur"),
            (r#"{"format": "tiff"}"#, "format"),
            (r#"{"format": "png", "quality": 50}"#, "quality"),
            (r##"{"background": "#ff88"}"##, "background"),
            (r#"{"gravity": "ne"}"#, "gravity"),
            (r#"{"enlarge": true}"#, "enlarge"),
            (r#"{"etag": "\"\""}"#, "etag"),
            (r#"{"flip": "x"}"#, "flip"),
            (r#"{"width": "640"}"#, "width"),
            (r#"{"rotate": 90.5}"#, "rotate"),
            (r#"{"width": 5000000000}"#, "width"),
            (r#"{"enlarge": "true"}"#, "enlarge"),
        ];
        for (json, option) in cases {
            let e = resolve(json, "a/b.jpg").unwrap_err();
            assert!(
                e.message().starts_with(&format!("{option}:")),
                "{json}: {e}"
            );
        }
        assert!(resolve("{}", "../b.jpg")
            .unwrap_err()
            .message()
            .starts_with("source:"));
        assert!(resolve("{}", "a/b.tiff")
            .unwrap_err()
            .message()
            .starts_with("format:"));
        let e = resolve(r#"{"widht": 1}"#, "a/b.jpg").unwrap_err();
        assert!(e.message().contains("unknown field `widht`"), "{e}");
        let e = Presets::from_json(r#"{"thumb": {"width": -1}}"#).unwrap_err();
        assert!(e.message().starts_with("presets: thumb.width:"), "{e}");
    }

    #[test]
    fn presets_expand_and_flags_override_them() {
        let p = Presets::from_json(r#"{"thumb": {"width": 320, "height": 320, "format": "webp"}}"#)
            .unwrap();
        let over = Options {
            quality: Some(60),
            ..Options::default()
        };
        let (ops, format) = p
            .get("thumb")
            .unwrap()
            .overridden_by(&over)
            .resolve("a.jpg")
            .unwrap();
        assert_eq!(
            (ops.segment().as_str(), format),
            ("w320_h320_q60", Output::Format(Format::Webp))
        );
        assert!(p.get("nope").is_err());
        assert!(Presets::from_json(r#"{"bad name": {}}"#).is_err());
    }

    #[test]
    fn decimals_are_exact() {
        let d: Decimal = "1.005".parse().unwrap();
        assert_eq!(d.times_rounded(100), 101);
        assert_eq!(d.to_string(), "1.005");
        assert_eq!(".5".parse::<Decimal>().unwrap().tenths(), Some(Tenths(5)));
        assert_eq!(
            "2.50".parse::<Decimal>().unwrap().tenths(),
            Some(Tenths(25))
        );
        assert!("1e3".parse::<Decimal>().is_err());
        assert!(" 2".parse::<Decimal>().is_err());
        assert_eq!(without_exponent("1e-6"), "0.000001");
        assert_eq!(without_exponent("1.5e-7"), "0.00000015");
        assert_eq!(without_exponent("1.5e3"), "1500");
        assert_eq!(without_exponent("12.25e1"), "122.5");
        assert_eq!(without_exponent("2.5"), "2.5");
        assert!("-1".parse::<Decimal>().is_err());
        assert!(".".parse::<Decimal>().is_err());
    }
}
