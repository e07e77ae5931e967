//! Options and presets from JSON (the `json` feature): preset files, the signer vectors, and
//! the JSON that other signers' options are written in.
//!
//! A JSON number is read as the text of its shortest round-trip decimal, so `1.005` means
//! 1.005 and not the binary double just below it; an error names the option at fault.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{bad, Result};
use crate::options::{Number, Options, Presets};

impl Options {
    /// Reads options from JSON; an error names the option at fault (`width: invalid type…`).
    pub fn from_json_value(value: serde_json::Value) -> Result<Options> {
        serde_path_to_error::deserialize(value).map_err(|e| bad(path_error(&e)))
    }
}

impl Presets {
    /// Parses the JSON text of a preset file; names are 1–64 letters, digits, `-` and `_`.
    pub fn from_json(text: &str) -> Result<Self> {
        if text.trim().is_empty() {
            return Ok(Presets::default());
        }
        let de = &mut serde_json::Deserializer::from_str(text);
        let map: BTreeMap<String, Options> = serde_path_to_error::deserialize(de)
            .map_err(|e| bad(format!("presets: {}", path_error(&e))))?;
        for name in map.keys() {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(bad(format!(
                    "presets: name {name:?} must be 1 to 64 letters, digits, - or _"
                )));
            }
        }
        Ok(Presets(map))
    }
}

/// `option: message` for a deserialisation error at `option` (the message alone at the top).
fn path_error(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    if path == "." || path.is_empty() {
        e.inner().to_string()
    } else {
        format!("{path}: {}", e.inner())
    }
}

impl Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum NumberOrText {
            Number(serde_json::Number),
            Text(String),
        }
        Ok(Number(match NumberOrText::deserialize(d)? {
            // serde_json writes a float as its shortest round-trip decimal, with an exponent
            // when it is very small or large; the value is what counts, so write it out.
            NumberOrText::Number(n) => without_exponent(&n.to_string()),
            NumberOrText::Text(t) => t,
        }))
    }
}

/// `1e-6` → `0.000001`, `1.5e3` → `1500`; text without an exponent is returned as it is
/// (and anything odd is left for [`Decimal`] to refuse).
pub(crate) fn without_exponent(text: &str) -> String {
    let Some((mantissa, exp)) = text.split_once(['e', 'E']) else {
        return text.to_string();
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return text.to_string();
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(-40..=40).contains(&exp) || mantissa.starts_with('-') {
        return text.to_string();
    }
    let digits = format!("{int}{frac}");
    let point = int.len() as i32 + exp; // position of the point within `digits`
    let out = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    out
}
