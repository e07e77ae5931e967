//! Format auto (`docs/url-format.md` §13): one path whose concrete format is chosen per
//! request from the viewer's `Accept` header.
//!
//! A page links an **auto path** (`…/w640.auto`); the edge (CloudFront's viewer-request
//! function, or `rendition serve`) rewrites it to a **negotiated key** (`…/w640.auto.avif`)
//! before the cache lookup, so a cache holds at most three objects per auto path. The negotiated
//! key carries the auto path's signature unchanged. [`Output`] is what a path's extension asks
//! for, [`Auto`] the two auto formats and their choices, [`negotiate_path`] the rewrite and
//! [`auto_path_of`] its inverse. Pure: no I/O.

use std::fmt;
use std::str::FromStr;

use crate::error::{bad, Error, Result};
use crate::ops::{Format, Ops};

/// The extension of an info request (§14).
pub const INFO_EXTENSION: &str = "json";
/// The content type an info request is stored and served with.
pub const INFO_CONTENT_TYPE: &str = "application/json";

/// An output format chosen per request: AVIF, else WebP, else a fallback every client decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auto {
    /// `auto`: falls back to JPEG; for photographs and anything opaque.
    Auto,
    /// `auto-alpha`: falls back to PNG; for images that may be transparent.
    AutoAlpha,
}

impl Auto {
    pub const ALL: [Auto; 2] = [Auto::Auto, Auto::AutoAlpha];

    /// The extension of its auto path: `auto` or `auto-alpha`.
    pub fn extension(self) -> &'static str {
        match self {
            Auto::Auto => "auto",
            Auto::AutoAlpha => "auto-alpha",
        }
    }

    /// What it may become, best first; the last is the fallback.
    pub fn choices(self) -> [Format; 3] {
        [Format::Avif, Format::Webp, self.fallback()]
    }

    /// The choice for a viewer that accepts neither AVIF nor WebP (or says nothing).
    pub fn fallback(self) -> Format {
        match self {
            Auto::Auto => Format::Jpeg,
            Auto::AutoAlpha => Format::Png,
        }
    }

    /// The concrete format whose rules its operations follow (§13.2): one that takes a quality
    /// and keeps transparency, as two of its three choices do.
    pub fn rules(self) -> Format {
        Format::Avif
    }

    /// The auto format an extension names, if it names one (lower case only, as in paths).
    pub fn from_extension(ext: &str) -> Option<Auto> {
        Auto::ALL.into_iter().find(|a| a.extension() == ext)
    }

    /// The choice for a request with these `Accept` header values (several fields are one
    /// list; none at all is the fallback), as §13.3 says.
    pub fn negotiate<'a>(self, accept: impl IntoIterator<Item = &'a str>) -> Format {
        let (mut avif, mut webp) = (None, None);
        for range in accept.into_iter().flat_map(|v| v.split(',')) {
            let mut params = range.split(';');
            let media_type = params.next().unwrap_or("").trim();
            let mut weight = 1000;
            for param in params {
                let (name, value) = param.split_once('=').unwrap_or((param, ""));
                if name.trim().eq_ignore_ascii_case("q") {
                    weight = qvalue(value.trim()).unwrap_or(0);
                }
            }
            // A type listed more than once gets its lowest weight: a refusal anywhere wins.
            let slot = if media_type.eq_ignore_ascii_case("image/avif") {
                &mut avif
            } else if media_type.eq_ignore_ascii_case("image/webp") {
                &mut webp
            } else {
                continue;
            };
            *slot = Some(slot.map_or(weight, |w: u32| w.min(weight)));
        }
        // Weights only refuse; they never reorder: AVIF first, since its files are smaller.
        if avif.is_some_and(|w| w > 0) {
            Format::Avif
        } else if webp.is_some_and(|w| w > 0) {
            Format::Webp
        } else {
            self.fallback()
        }
    }
}

/// An RFC 9110 qvalue in thousandths: `0` with up to three decimals, or `1` with up to three
/// zeros; `None` when malformed.
fn qvalue(text: &str) -> Option<u32> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u32 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

impl fmt::Display for Auto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for Auto {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Auto::from_extension(&s.to_ascii_lowercase())
            .ok_or_else(|| bad(format!("unknown auto format {s:?} (auto, auto-alpha)")))
    }
}

/// What a path's extension asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Output {
    /// `.webp`: one format for every viewer.
    Format(Format),
    /// `.auto`: an auto path. Pages link to it; it is negotiated per request, never rendered
    /// or stored.
    Auto(Auto),
    /// `.auto.avif`: a negotiated key, rendered and stored as the chosen format and signed as
    /// its auto path.
    Negotiated(Auto, Format),
    /// `.json`: an info request (§14). Not an image: the source's displayed size, format,
    /// transparency and a ThumbHash placeholder, as JSON. Its ops are at most a version.
    Info,
}

impl From<Format> for Output {
    fn from(f: Format) -> Self {
        Output::Format(f)
    }
}

impl From<Auto> for Output {
    fn from(a: Auto) -> Self {
        Output::Auto(a)
    }
}

impl Output {
    /// The concrete format to render; `None` for an auto path, which is never rendered, and
    /// for an info request, which is not an image.
    pub fn format(self) -> Option<Format> {
        match self {
            Output::Format(f) | Output::Negotiated(_, f) => Some(f),
            Output::Auto(_) | Output::Info => None,
        }
    }

    /// The auto format of an auto path or a negotiated key.
    pub fn auto(self) -> Option<Auto> {
        match self {
            Output::Auto(a) | Output::Negotiated(a, _) => Some(a),
            Output::Format(_) | Output::Info => None,
        }
    }

    /// The image format whose rules the operations follow; `None` for an info request, whose
    /// only operation is a version.
    pub fn rules(self) -> Option<Format> {
        match self {
            Output::Format(f) => Some(f),
            Output::Auto(a) | Output::Negotiated(a, _) => Some(a.rules()),
            Output::Info => None,
        }
    }

    /// The content type of what is stored under this output's key (`None` for an auto path,
    /// which is never stored).
    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Output::Info => Some(INFO_CONTENT_TYPE),
            other => other.format().map(Format::content_type),
        }
    }

    /// Checks that `ops` are valid and canonical for this output: the format's rules of §3,
    /// or for an info request nothing but a version (§14).
    pub fn validate(self, ops: &Ops) -> Result<()> {
        match self.rules() {
            Some(format) => ops.validate(format),
            None => {
                let version_only = Ops {
                    version: ops.version.clone(),
                    ..Ops::default()
                };
                if *ops != version_only {
                    return Err(bad(format!(
                        "an info request (.{INFO_EXTENSION}) takes no operation but a version (v…), not {:?}",
                        ops.segment()
                    )));
                }
                ops.validate(Format::Png)
            }
        }
    }

    /// The extension as it appears in the path: `webp`, `auto`, `auto.avif`, `json`.
    pub fn extension(self) -> String {
        match self {
            Output::Negotiated(a, f) => format!("{}.{}", a.extension(), f.extension()),
            other => other.signed_extension().to_string(),
        }
    }

    /// The extension the signature covers: a negotiated key's is its auto path's.
    pub fn signed_extension(self) -> &'static str {
        match self {
            Output::Format(f) => f.extension(),
            Output::Auto(a) | Output::Negotiated(a, _) => a.extension(),
            Output::Info => INFO_EXTENSION,
        }
    }

    /// Bytes the storage key may need beyond this path's own: an auto path and its negotiated
    /// keys all count as the longest negotiated key (`.avif`, `.webp`), so that no choice is
    /// refused where another is stored.
    pub(crate) fn reserved_len(self) -> usize {
        match self {
            Output::Format(_) | Output::Info => 0,
            Output::Auto(a) | Output::Negotiated(a, _) => {
                let longest = a.choices().iter().map(|f| f.extension().len()).max();
                1 + longest.unwrap_or(0)
            }
        }
    }

    /// This auto path negotiated to `chosen`.
    pub fn negotiated(self, chosen: Format) -> Result<Output> {
        match self {
            Output::Auto(a) | Output::Negotiated(a, _) if a.choices().contains(&chosen) => {
                Ok(Output::Negotiated(a, chosen))
            }
            Output::Auto(a) | Output::Negotiated(a, _) => {
                Err(bad(format!("{a} is negotiated to {}", choice_list(a))))
            }
            other => Err(bad(format!("{} is not an auto format", other.extension()))),
        }
    }

    /// Splits the last segment of a path (`<ops>.<ext>`) into the ops segment and the output.
    pub(crate) fn split(file: &str) -> Result<(&str, Output)> {
        let (ops, ext) = file
            .rsplit_once('.')
            .ok_or_else(|| bad("path has no output extension (the last segment is <ops>.<ext>)"))?;
        // A canonical ops segment never ends in `.auto`: its only `.` is a decimal's.
        for a in Auto::ALL {
            if let Some(ops) = ops.strip_suffix(&format!(".{a}")) {
                let chosen = Format::from_extension(ext)
                    .ok()
                    .filter(|f| a.choices().contains(f));
                let Some(chosen) = chosen else {
                    return Err(bad(format!(
                        "{a} is negotiated to {}, not {ext:?}",
                        choice_list(a)
                    )));
                };
                return Ok((ops, Output::Negotiated(a, chosen)));
            }
        }
        if let Some(a) = Auto::from_extension(ext) {
            return Ok((ops, Output::Auto(a)));
        }
        if ext == INFO_EXTENSION {
            return Ok((ops, Output::Info));
        }
        Ok((ops, Output::Format(Format::from_extension(ext)?)))
    }
}

fn choice_list(a: Auto) -> String {
    let [x, y, z] = a.choices().map(Format::extension);
    format!("{x}, {y} or {z}")
}

/// The negotiated key for `path` when it is an auto path (its extension is `auto` or
/// `auto-alpha`), given the request's `Accept` values; `None` for any other path. Only looks at
/// the extension: the verifier judges the rest.
pub fn negotiate_path<'a>(path: &str, accept: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let ext = &path[path.rfind(['.', '/'])? + 1..];
    let auto = Auto::from_extension(ext).filter(|_| path.ends_with(&format!(".{ext}")))?;
    Some(format!("{path}.{}", auto.negotiate(accept).extension()))
}

/// The auto path a negotiated key was rewritten from (`…/w640.auto.avif` → `…/w640.auto`):
/// the inverse of [`negotiate_path`]; `None` for any other path. Only looks at the extensions.
pub fn auto_path_of(path: &str) -> Option<&str> {
    let (auto_path, _choice) = path.rsplit_once('.')?;
    let ext = &auto_path[auto_path.rfind(['.', '/'])? + 1..];
    Auto::from_extension(ext)
        .filter(|_| auto_path.ends_with(&format!(".{ext}")))
        .map(|_| auto_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qvalues_follow_rfc_9110() {
        for (text, want) in [
            ("0", Some(0)),
            ("0.", Some(0)),
            ("0.000", Some(0)),
            ("0.001", Some(1)),
            ("0.5", Some(500)),
            ("1", Some(1000)),
            ("1.000", Some(1000)),
            ("1.001", None),
            ("2", None),
            ("0.0001", None),
            ("high", None),
            ("", None),
            (".5", None),
            ("-0", None),
        ] {
            assert_eq!(qvalue(text), want, "{text:?}");
        }
    }

    #[test]
    fn negotiation_prefers_avif_then_webp_and_only_exact_types_count() {
        let choose = |h: &str| Auto::Auto.negotiate([h]);
        assert_eq!(choose("image/avif,image/webp,*/*"), Format::Avif);
        assert_eq!(choose("image/webp,image/avif"), Format::Avif);
        assert_eq!(choose("image/webp,image/*,*/*;q=0.8"), Format::Webp);
        assert_eq!(choose("image/*,*/*"), Format::Jpeg);
        assert_eq!(choose("image/avif;q=0,image/webp"), Format::Webp);
        assert_eq!(Auto::AutoAlpha.negotiate(["*/*"]), Format::Png);
        assert_eq!(Auto::AutoAlpha.negotiate(None::<&str>), Format::Png);
    }

    #[test]
    fn only_auto_paths_are_rewritten() {
        let accept = ["image/webp"];
        assert_eq!(
            negotiate_path("/r/a.jpg/k1.x/w640.auto", accept).as_deref(),
            Some("/r/a.jpg/k1.x/w640.auto.webp")
        );
        assert_eq!(
            negotiate_path("/r/a.jpg/k1.x/w640.auto-alpha", ["*/*"]).as_deref(),
            Some("/r/a.jpg/k1.x/w640.auto-alpha.png")
        );
        for other in [
            "/r/a.jpg/k1.x/w640.webp",
            "/r/a.jpg/k1.x/w640.auto.avif",
            "/auto",
            "/r/a.auto/k1.x/w640",
        ] {
            assert_eq!(negotiate_path(other, accept), None, "{other}");
        }
        // And back: a negotiated key names its auto path; nothing else does.
        for path in ["/r/a.jpg/k1.x/w640.auto", "/r/a.jpg/k1.x/-.auto-alpha"] {
            let key = negotiate_path(path, accept).unwrap();
            assert_eq!(auto_path_of(&key), Some(path));
        }
        for other in [
            "/r/a.jpg/k1.x/w640.auto",
            "/r/a.jpg/k1.x/w640.webp",
            "/r/a.jpg/k1.x/-.json",
            "/r/a.auto/k1.x/w640.jpg",
        ] {
            assert_eq!(auto_path_of(other), None, "{other}");
        }
    }

    #[test]
    fn negotiated_extensions_are_one_of_the_choices() {
        assert_eq!(
            Output::split("w640.auto.avif").unwrap(),
            ("w640", Output::Negotiated(Auto::Auto, Format::Avif))
        );
        assert_eq!(
            Output::split("-.auto-alpha.png").unwrap(),
            ("-", Output::Negotiated(Auto::AutoAlpha, Format::Png))
        );
        assert_eq!(
            Output::split("w640.auto").unwrap(),
            ("w640", Output::Auto(Auto::Auto))
        );
        assert_eq!(
            Output::split("w1_blur0.5.webp").unwrap(),
            ("w1_blur0.5", Output::Format(Format::Webp))
        );
        for bad in [
            "w640.auto.png",
            "w640.auto-alpha.jpg",
            "w640.auto.gif",
            "w640.auto.auto",
            "w640.auto.jpeg",
            "w640.auto.",
        ] {
            assert!(Output::split(bad).is_err(), "{bad}");
        }
    }
}
