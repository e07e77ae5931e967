//! Test vectors for signers in other languages: `tests/vectors.json`, checked against the library.
//!
//! `RENDITION_WRITE_VECTORS=1 cargo test --test vectors` regenerates the file from the library
//! API; every run (CI included) then loads the file and checks each vector: a valid one must
//! rebuild from its fields, sign to exactly its path and verify; an invalid one must be refused
//! by [`KeyRing::verify`] with its status. The format is specified in `docs/url-format.md`.
//!
//! Invalid paths that are malformed rather than forged carry a correct HMAC over their own
//! (non-canonical) text, so the only thing wrong with them is what their name says.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use rendition_sign::auto::{Output, INFO_EXTENSION};
use rendition_sign::ops::{Fit, Format, Gravity, Ops, Rgb, Rotation, Tenths};
use rendition_sign::request::{RenderRequest, MAX_KEY_BYTES, SIGNATURE_BYTES, SIGNING_TAG};
use rendition_sign::KeyRing;

/// The secret of `k1`, the signing key of the vectors.
const K1_SECRET: &str = "0123456789abcdef0123456789abcdef";
/// The secret of `k0`, an older key that still verifies.
const K0_SECRET: &str = "fedcba9876543210fedcba9876543210";
/// Set to 1 to rewrite `tests/vectors.json` from the library before checking it.
const WRITE_ENV: &str = "RENDITION_WRITE_VECTORS";

#[derive(Debug, Serialize, Deserialize)]
struct Vectors {
    description: String,
    /// Key id to secret (the raw UTF-8 bytes of the string are the HMAC key).
    keys: BTreeMap<String, String>,
    valid: Vec<Valid>,
    invalid: Vec<Invalid>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Valid {
    name: String,
    key_id: String,
    /// The source key, decoded (as stored in the bucket).
    source: String,
    /// The canonical ops segment.
    ops: String,
    format: String,
    /// The exact signed message, for debugging a signer (not needed to check one).
    message: String,
    path: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Invalid {
    name: String,
    path: String,
    status: u16,
    reason: String,
}

fn vectors_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors.json")
}

fn ring_of(keys: &BTreeMap<String, String>) -> KeyRing {
    // k1 first: it signs; k0 only verifies.
    let spec = format!("k1:{},k0:{}", keys["k1"], keys["k0"]);
    KeyRing::from_spec(&spec).expect("vector keys are valid")
}

/// An independent signer: HMAC-SHA256 over the message, first 16 bytes, base64url.
fn mac(secret: &str, message: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(message.as_bytes());
    B64.encode(&m.finalize().into_bytes()[..SIGNATURE_BYTES])
}

/// A path with a correct HMAC over its own parts, canonical or not: `source_text` as it
/// appears in the path and `file`, the last segment (`<ops>.<ext>`).
fn forge(key_id: &str, secret: &str, source_text: &str, file: &str) -> String {
    let sig = mac(
        secret,
        &format!("{SIGNING_TAG}\n{key_id}\n{source_text}\n{file}"),
    );
    format!("/r/{source_text}/{key_id}.{sig}/{file}")
}

/// Splits a path into its source text, its signature segment and its last segment.
fn split(path: &str) -> (&str, &str, &str) {
    let rest = path.strip_prefix("/r/").expect("a render path");
    let (before, file) = rest.rsplit_once('/').expect("a render path");
    let (source, sig) = before.rsplit_once('/').expect("a render path");
    (source, sig, file)
}

/// Replaces the signature segment of `path` (keeps the source and the last segment).
fn with_sig_segment(path: &str, segment: &str) -> String {
    let (source, _, file) = split(path);
    format!("/r/{source}/{segment}/{file}")
}

fn sized(w: u32, h: u32) -> Ops {
    Ops {
        width: Some(w),
        height: Some(h),
        ..Ops::default()
    }
}

/// The valid vectors: (name, key id, source, ops, format).
fn valid_cases() -> Vec<(&'static str, &'static str, String, Ops, Format)> {
    let cat = || "photos/cat.jpg".to_string();
    let boxed = |fit: Fit| Ops {
        fit,
        ..sized(640, 360)
    };
    let mut cases = vec![
        ("no-ops", "k1", cat(), Ops::default(), Format::Jpeg),
        (
            "format-only",
            "k1",
            "logos/brand.png".into(),
            Ops::default(),
            Format::Webp,
        ),
        (
            "width-only",
            "k1",
            cat(),
            Ops {
                width: Some(640),
                ..Ops::default()
            },
            Format::Webp,
        ),
        (
            "height-only",
            "k1",
            cat(),
            Ops {
                height: Some(480),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        ("box-cover", "k1", cat(), sized(640, 360), Format::Jpeg),
        (
            "avif",
            "k1",
            cat(),
            Ops {
                width: Some(640),
                ..Ops::default()
            },
            Format::Avif,
        ),
        (
            "avif-quality-transparent",
            "k1",
            "icons/logo.png".into(),
            Ops {
                quality: Some(60),
                ..sized(256, 256)
            },
            Format::Avif,
        ),
        ("fit-contain", "k1", cat(), boxed(Fit::Contain), Format::Png),
        ("fit-fill", "k1", cat(), boxed(Fit::Fill), Format::Jpeg),
        ("fit-inside", "k1", cat(), boxed(Fit::Inside), Format::Gif),
        (
            "fit-outside",
            "k1",
            cat(),
            boxed(Fit::Outside),
            Format::Webp,
        ),
        (
            "gravity-named",
            "k1",
            cat(),
            Ops {
                gravity: Gravity::NorthEast,
                ..sized(640, 360)
            },
            Format::Jpeg,
        ),
        (
            "gravity-focal",
            "k1",
            cat(),
            Ops {
                gravity: Gravity::Focal { x: 30, y: 70 },
                ..sized(640, 360)
            },
            Format::Jpeg,
        ),
        (
            "gravity-focal-edge",
            "k1",
            cat(),
            Ops {
                gravity: Gravity::Focal { x: 0, y: 85 },
                ..sized(300, 300)
            },
            Format::Webp,
        ),
        (
            "gravity-smart-quality",
            "k1",
            cat(),
            Ops {
                gravity: Gravity::Smart,
                quality: Some(70),
                ..sized(400, 400)
            },
            Format::Webp,
        ),
        (
            "contain-gravity-background",
            "k1",
            cat(),
            Ops {
                fit: Fit::Contain,
                gravity: Gravity::SouthWest,
                background: Some(Rgb([0xff, 0x88, 0x00])),
                ..sized(640, 360)
            },
            Format::Png,
        ),
        (
            "quality",
            "k1",
            cat(),
            Ops {
                quality: Some(90),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "quality-extremes",
            "k1",
            cat(),
            Ops {
                width: Some(1),
                quality: Some(1),
                ..Ops::default()
            },
            Format::Webp,
        ),
        (
            "background-jpg",
            "k1",
            "icons/logo.png".into(),
            Ops {
                background: Some(Rgb([0, 0, 0])),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "background-white-png",
            "k1",
            "icons/logo.png".into(),
            Ops {
                background: Some(Rgb::WHITE),
                ..Ops::default()
            },
            Format::Png,
        ),
        (
            "rotate-90",
            "k1",
            cat(),
            Ops {
                rotate: Rotation::R90,
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "flip",
            "k1",
            cat(),
            Ops {
                flip: true,
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            // `rendition sign --flip v` folds a vertical flip into a half turn plus a mirror.
            "vertical-flip-folded",
            "k1",
            cat(),
            Ops {
                width: Some(200),
                rotate: Rotation::R180,
                flip: true,
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "blur-decimal",
            "k1",
            cat(),
            Ops {
                blur: Some(Tenths(5)),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "blur-max",
            "k1",
            cat(),
            Ops {
                blur: Some(Tenths(1000)),
                ..Ops::default()
            },
            Format::Png,
        ),
        (
            "sharpen-decimal",
            "k1",
            cat(),
            Ops {
                width: Some(320),
                sharpen: Some(Tenths(15)),
                ..Ops::default()
            },
            Format::Webp,
        ),
        (
            "version",
            "k1",
            cat(),
            Ops {
                width: Some(640),
                version: Some("3f9a1cE0".into()),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "everything",
            "k1",
            cat(),
            Ops {
                width: Some(640),
                height: Some(360),
                fit: Fit::Contain,
                enlarge: true,
                gravity: Gravity::NorthWest,
                quality: Some(65),
                background: Some(Rgb([0x12, 0x34, 0x56])),
                rotate: Rotation::R270,
                flip: true,
                blur: Some(Tenths(12)),
                sharpen: Some(Tenths(3)),
                version: Some("v2".into()),
            },
            Format::Webp,
        ),
        (
            "encoded-space",
            "k1",
            "my photos/cat 1.jpg".into(),
            Ops {
                width: Some(300),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "encoded-non-ascii",
            "k1",
            "my photos/été.jpg".into(),
            Ops::default(),
            Format::Webp,
        ),
        (
            "encoded-cjk-emoji",
            "k1",
            "猫/写真🐈.png".into(),
            Ops {
                height: Some(100),
                ..Ops::default()
            },
            Format::Png,
        ),
        (
            "encoded-punctuation",
            "k1",
            "a+b=c&d(1)!.jpg".into(),
            Ops::default(),
            Format::Jpeg,
        ),
        (
            "literal-punctuation",
            "k1",
            "Photos_2024/IMG-0001.final.JPG".into(),
            Ops {
                width: Some(1200),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "deep-key",
            "k1",
            "a/b/c/d/e/f/g/h/i/j/photo.jpeg".into(),
            Ops {
                width: Some(64),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "source-without-extension",
            "k1",
            "avatars/12345".into(),
            sized(96, 96),
            Format::Png,
        ),
        (
            "enlarge",
            "k1",
            cat(),
            Ops {
                width: Some(4000),
                enlarge: true,
                ..Ops::default()
            },
            Format::Jpeg,
        ),
        (
            "enlarge-box",
            "k1",
            cat(),
            Ops {
                fit: Fit::Contain,
                enlarge: true,
                gravity: Gravity::South,
                ..sized(2000, 1000)
            },
            Format::Png,
        ),
        (
            // Renditions of a.jpg/b.png lie under a.jpg's prefix too; they parse back to
            // their own, longer source, which is what keeps a purge of a.jpg off them.
            "source-under-another-source",
            "k1",
            "a.jpg/b.png".into(),
            Ops {
                width: Some(64),
                ..Ops::default()
            },
            Format::Webp,
        ),
        (
            // A key whose first segment has the shape of a version 1 signature segment is
            // an ordinary source in version 2.
            "source-shaped-like-version-1",
            "k1",
            "k1.UgD31OKj2shC8oWOl6FSHA/cat.jpg".into(),
            Ops::default(),
            Format::Jpeg,
        ),
        ("older-key-k0", "k0", cat(), sized(640, 360), Format::Jpeg),
        (
            "older-key-k0-encoded",
            "k0",
            "my photos/été.jpg".into(),
            Ops {
                quality: Some(50),
                ..Ops::default()
            },
            Format::Jpeg,
        ),
    ];
    // The longest accepted path: its storage key is exactly MAX_KEY_BYTES.
    let longest = (1..MAX_KEY_BYTES)
        .rev()
        .map(|n| format!("long/{}", "a".repeat(n)))
        .find(|s| RenderRequest::new("k1", s, Ops::default(), Format::Jpeg).is_ok())
        .expect("some length fits");
    cases.push(("longest-path", "k1", longest, Ops::default(), Format::Jpeg));
    cases
}

/// The info requests (§14): format `json`, no operation but a version.
fn info_cases() -> Vec<(&'static str, &'static str, String, Ops, Output)> {
    let versioned = Ops {
        version: Some("3f2a9c".into()),
        ..Ops::default()
    };
    vec![
        (
            "info",
            "k1",
            "photos/cat.jpg".into(),
            Ops::default(),
            Output::Info,
        ),
        (
            "info-versioned",
            "k1",
            "photos/cat.jpg".into(),
            versioned,
            Output::Info,
        ),
        (
            "info-encoded-source",
            "k0",
            "my photos/été.jpg".into(),
            Ops::default(),
            Output::Info,
        ),
    ]
}

/// The output a vector's `format` names: an image format's extension, or `json`.
fn output_of(ext: &str) -> Output {
    match ext {
        INFO_EXTENSION => Output::Info,
        other => Format::from_extension(other)
            .unwrap_or_else(|e| panic!("{other}: {e}"))
            .into(),
    }
}

fn build_valid(ring: &KeyRing) -> Vec<Valid> {
    let images = valid_cases()
        .into_iter()
        .map(|(name, key_id, source, ops, format)| (name, key_id, source, ops, format.into()));
    images
        .chain(info_cases())
        .map(
            |(name, key_id, source, ops, output): (_, _, _, _, Output)| {
                let req = RenderRequest::new(key_id, &source, ops, output)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let path = ring.sign(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
                Valid {
                    name: name.into(),
                    key_id: key_id.into(),
                    source,
                    ops: req.ops.segment(),
                    format: output.extension(),
                    message: req.signing_message(),
                    path,
                }
            },
        )
        .collect()
}

fn build_invalid(valid: &[Valid]) -> Vec<Invalid> {
    let by_name = |n: &str| {
        valid
            .iter()
            .find(|v| v.name == n)
            .unwrap_or_else(|| panic!("no valid vector {n}"))
    };
    let good = by_name("box-cover"); // /r/photos/cat.jpg/k1.<sig>/w640_h360.jpg
    let (good_source, good_sig_seg, good_file) = split(&good.path);
    let good_sig = good_sig_seg.strip_prefix("k1.").expect("k1");
    // A correctly signed path whose only fault is its (non-canonical) source or last segment.
    let k1 = |source: &str, file: &str| forge("k1", K1_SECRET, source, file);

    let mut out: Vec<(&str, String, u16, &str)> = Vec::new();

    // Forged or tampered: well formed, but the signature does not match (403).
    let first = good_sig.as_bytes()[0];
    let swapped = if first == b'A' { 'B' } else { 'A' };
    out.push((
        "tampered-signature",
        with_sig_segment(&good.path, &format!("k1.{swapped}{}", &good_sig[1..])),
        403,
        "first signature character changed",
    ));
    out.push((
        "tampered-ops",
        good.path.replace("/w640_h360.", "/w641_h360."),
        403,
        "w640 changed to w641, signature kept",
    ));
    out.push((
        "tampered-source",
        good.path
            .replace("/r/photos/cat.jpg/", "/r/photos/dog.jpg/"),
        403,
        "source changed, signature kept",
    ));
    out.push((
        "tampered-format",
        good.path.replace("/w640_h360.jpg", "/w640_h360.png"),
        403,
        "output extension changed, signature kept",
    ));
    out.push((
        "unknown-key-id",
        forge("k9", K1_SECRET, good_source, good_file),
        403,
        "key id k9 is not in the key ring (signed with k1's secret)",
    ));
    out.push((
        "wrong-secret",
        forge("k1", "not-the-k1-secret-at-all", good_source, good_file),
        403,
        "signed under key id k1 with another secret",
    ));
    out.push((
        "key-id-swapped",
        with_sig_segment(&good.path, &format!("k0.{good_sig}")),
        403,
        "a k1 signature presented under key id k0",
    ));

    // Malformed or non-canonical: 400, even with a correct HMAC over the text.
    let bad = [
        (
            "leading-zero",
            "photos/cat.jpg",
            "w0640_h360.jpg",
            "w0640: leading zero",
        ),
        (
            "zero-width",
            "photos/cat.jpg",
            "w0.jpg",
            "width must be 1 to 65535",
        ),
        (
            "width-over-max",
            "photos/cat.jpg",
            "w65536.jpg",
            "width must be 1 to 65535",
        ),
        (
            "out-of-order",
            "photos/cat.jpg",
            "h360_w640.jpg",
            "tokens out of order",
        ),
        (
            "repeated-token",
            "photos/cat.jpg",
            "w640_w640.jpg",
            "token repeated",
        ),
        (
            "empty-token",
            "photos/cat.jpg",
            "w640__h360.jpg",
            "empty token between two _",
        ),
        (
            "empty-ops",
            "photos/cat.jpg",
            ".jpg",
            "empty ops segment (no operations is -)",
        ),
        (
            "dash-with-tokens",
            "photos/cat.jpg",
            "-_w640.jpg",
            "- stands alone",
        ),
        (
            "unknown-token",
            "photos/cat.jpg",
            "w640_x1.jpg",
            "unknown operation",
        ),
        (
            "upper-case-token",
            "photos/cat.jpg",
            "W640.jpg",
            "tokens are lower case",
        ),
        (
            "plus-sign",
            "photos/cat.jpg",
            "w+640.jpg",
            "numbers have no sign",
        ),
        (
            "default-quality-jpg",
            "photos/cat.jpg",
            "q80.jpg",
            "q80 is jpg's default",
        ),
        (
            "default-quality-webp",
            "photos/cat.jpg",
            "q80.webp",
            "q80 is webp's default",
        ),
        (
            "default-quality-avif",
            "photos/cat.jpg",
            "q80.avif",
            "q80 is avif's default",
        ),
        (
            "quality-on-png",
            "photos/cat.jpg",
            "q70.png",
            "quality means nothing to png",
        ),
        (
            "quality-on-gif",
            "photos/cat.jpg",
            "q70.gif",
            "quality means nothing to gif",
        ),
        (
            "quality-over-100",
            "photos/cat.jpg",
            "q101.jpg",
            "quality must be 1 to 100",
        ),
        (
            "default-fit",
            "photos/cat.jpg",
            "w640_h360_fit-cover.jpg",
            "fit-cover is the default",
        ),
        (
            "fit-one-side",
            "photos/cat.jpg",
            "w640_fit-contain.jpg",
            "fit needs width and height",
        ),
        (
            "default-gravity",
            "photos/cat.jpg",
            "w640_h360_g-centre.jpg",
            "centre is the default",
        ),
        (
            "focal-centre",
            "photos/cat.jpg",
            "w640_h360_g-50-50.jpg",
            "focal 50-50 is centre",
        ),
        (
            "focal-corner-is-named",
            "photos/cat.jpg",
            "w640_h360_g-100-0.jpg",
            "focal 100-0 is gravity ne",
        ),
        (
            "focal-over-100",
            "photos/cat.jpg",
            "w640_h360_g-101-0.jpg",
            "focal coordinates are 0 to 100",
        ),
        (
            "gravity-one-side",
            "photos/cat.jpg",
            "w640_g-n.jpg",
            "gravity needs width and height",
        ),
        (
            "gravity-with-fill",
            "photos/cat.jpg",
            "w640_h360_fit-fill_g-n.jpg",
            "gravity needs fit cover or contain",
        ),
        (
            "smart-with-contain",
            "photos/cat.jpg",
            "w640_h360_fit-contain_g-smart.png",
            "smart gravity is cover only",
        ),
        (
            "default-background-jpg",
            "photos/cat.jpg",
            "bg-ffffff.jpg",
            "white is jpg's default background",
        ),
        (
            "upper-case-hex",
            "photos/cat.jpg",
            "bg-FF8800.png",
            "colours are lower-case hex",
        ),
        ("rotate-0", "photos/cat.jpg", "r0.jpg", "r0 is the default"),
        (
            "rotate-360",
            "photos/cat.jpg",
            "r360.jpg",
            "rotation is r90, r180 or r270",
        ),
        (
            "blur-trailing-zero",
            "photos/cat.jpg",
            "blur2.0.jpg",
            "2.0 is written 2",
        ),
        (
            "blur-no-integer-part",
            "photos/cat.jpg",
            "blur.5.jpg",
            ".5 is written 0.5",
        ),
        (
            "blur-two-decimals",
            "photos/cat.jpg",
            "blur0.25.jpg",
            "one decimal place at most",
        ),
        (
            "blur-zero",
            "photos/cat.jpg",
            "blur0.jpg",
            "blur must be 0.1 to 100",
        ),
        (
            "sharpen-over-max",
            "photos/cat.jpg",
            "sharpen10.1.jpg",
            "sharpen must be 0.1 to 10",
        ),
        (
            "version-empty",
            "photos/cat.jpg",
            "v.jpg",
            "version is 1 to 64 letters and digits",
        ),
        (
            "jpeg-extension",
            "photos/cat.jpg",
            "w640_h360.jpeg",
            "the extension is jpg, not jpeg",
        ),
        (
            "upper-case-extension",
            "photos/cat.jpg",
            "w640_h360.JPG",
            "extensions are lower case",
        ),
        (
            "unknown-extension",
            "photos/cat.jpg",
            "w640_h360.tiff",
            "output is jpg, png, webp, gif or avif",
        ),
        (
            "no-extension",
            "photos/cat",
            "w640_h360",
            "no output extension",
        ),
        (
            "percent-encoded",
            "photos/cat%2Ejpg",
            "w640_h360.jpg",
            "% is not an allowed character",
        ),
        (
            "dot-dot-segment",
            "photos/../secret.jpg",
            "w640_h360.jpg",
            "source has a .. segment",
        ),
        (
            "dot-segment",
            "photos/./cat.jpg",
            "w640_h360.jpg",
            "source has a . segment",
        ),
        (
            "empty-segment",
            "photos//cat.jpg",
            "w640_h360.jpg",
            "source has an empty segment",
        ),
        (
            "leading-slash",
            "/photos/cat.jpg",
            "w640_h360.jpg",
            "source starts with /",
        ),
        (
            "bang-inside-literal",
            "photos/cat!.jpg",
            "w640_h360.jpg",
            "! only starts an encoded source",
        ),
        (
            "enlarge-without-size",
            "photos/cat.jpg",
            "enlarge.jpg",
            "enlarge needs a width or a height",
        ),
        (
            "enlarge-out-of-order",
            "photos/cat.jpg",
            "w640_h360_g-n_enlarge.jpg",
            "enlarge comes before gravity",
        ),
        (
            "ops-without-extension",
            "photos/cat.jpg",
            "w640_h360",
            "the last segment is <ops>.<ext>",
        ),
        (
            "no-source",
            "",
            "w640.jpg",
            "no source before the signature segment",
        ),
    ];
    for (name, source, file, reason) in bad {
        let path = if source.is_empty() {
            // Nothing before the signature segment: /r/<key-id>.<signature>/<file>.
            let sig = mac(K1_SECRET, &format!("{SIGNING_TAG}\nk1\n\n{file}"));
            format!("/r/k1.{sig}/{file}")
        } else {
            k1(source, file)
        };
        out.push((name, path, 400, reason));
    }

    let enc = |s: &str| format!("!{}", B64.encode(s.as_bytes()));
    let literal_as_encoded = k1(&enc("photos/cat.jpg"), "w640_h360.jpg");
    out.push((
        "literal-key-encoded",
        literal_as_encoded,
        400,
        "photos/cat.jpg needs no encoding: it must be written literally",
    ));
    // "a b.jpg" is 7 bytes: 10 characters whose last carries 4 unused bits, which must be 0.
    let loose = enc("a b.jpg");
    let mut bytes = loose.into_bytes();
    let last = bytes.last_mut().expect("non-empty");
    assert!(
        matches!(*last, b'A' | b'Q' | b'g' | b'w'),
        "canonical last character"
    );
    *last += 1; // B, R, h or x: one of the unused bits set
    let loose = String::from_utf8(bytes).expect("ascii");
    out.push((
        "encoded-source-non-canonical",
        k1(&loose, "-.jpg"),
        400,
        "unused bits of the last base64url character are not zero",
    ));
    out.push((
        "encoded-source-padding",
        k1(&format!("{}=", enc("a b.jpg")), "-.jpg"),
        400,
        "base64url padding (=) is not allowed",
    ));
    out.push((
        "encoded-control-character",
        k1(&enc("a\nb.jpg"), "-.jpg"),
        400,
        "source has a control character",
    ));
    out.push((
        "encoded-dot-dot",
        k1(&enc("my photos/../x.jpg"), "-.jpg"),
        400,
        "encoded source has a .. segment",
    ));

    // Length: one byte over the longest valid path.
    let longest = by_name("longest-path");
    let source = format!("{}a", longest.source);
    out.push((
        "over-long-path",
        k1(&source, "-.jpg"),
        400,
        "storage key (path without its leading /) is 1025 bytes",
    ));

    // The signature and key id segment.
    out.push((
        "signature-too-short",
        with_sig_segment(&good.path, &format!("k1.{}", &good_sig[..21])),
        400,
        "signature is 21 characters",
    ));
    out.push((
        "signature-too-long",
        with_sig_segment(&good.path, &format!("k1.{good_sig}A")),
        400,
        "signature is 23 characters",
    ));
    let last = good_sig.as_bytes()[21];
    let bumped = (last + 1) as char; // canonical last characters are A, Q, g or w
    out.push((
        "signature-non-canonical",
        with_sig_segment(&good.path, &format!("k1.{}{bumped}", &good_sig[..21])),
        400,
        "unused bits of the last signature character are not zero",
    ));
    out.push((
        "signature-padded",
        with_sig_segment(&good.path, &format!("k1.{good_sig}==")),
        400,
        "base64url padding (=) is not allowed",
    ));
    let long_id = "k1234567890123456";
    out.push((
        "key-id-too-long",
        forge(long_id, K1_SECRET, good_source, good_file),
        400,
        "key id is 17 characters",
    ));
    out.push((
        "key-id-not-alphanumeric",
        forge("k_1", K1_SECRET, good_source, good_file),
        400,
        "key id has a _",
    ));
    out.push((
        "no-key-id",
        with_sig_segment(&good.path, good_sig),
        400,
        "signature segment has no <key-id>.",
    ));
    out.push((
        "wrong-prefix",
        good.path.replacen("/r/", "/x/", 1),
        400,
        "render paths start with /r/",
    ));
    out.push((
        "double-slash-after-prefix",
        good.path.replacen("/r/", "/r//", 1),
        400,
        "source starts with /",
    ));
    out.push((
        "trailing-slash",
        format!("{}/", good.path),
        400,
        "the last segment is empty",
    ));
    // An info request takes no operation but a version, and one spelling of its extension.
    for (name, file, reason) in [
        (
            "info-with-width",
            "w640.json",
            "an info request (.json) describes the source: no operation but a version",
        ),
        (
            "info-with-quality",
            "q50.json",
            "an info request (.json) describes the source: no operation but a version",
        ),
        (
            "info-upper-case",
            "-.JSON",
            "the extension is json, lower case",
        ),
        (
            "info-negotiated",
            "-.auto.json",
            "json is not one of auto's choices (avif, webp, jpg)",
        ),
    ] {
        out.push((name, k1(good_source, file), 400, reason));
    }
    // The same rendition in the retired layout: signature first, then ops, then source.
    out.push((
        "version-1-layout",
        {
            let file = "photos/cat.jpg.jpg";
            let sig = mac(K1_SECRET, &format!("rendition:v1\nk1\nw640_h360/{file}"));
            format!("/r/k1.{sig}/w640_h360/{file}")
        },
        400,
        "layout version 1 (/r/<key-id>.<signature>/<ops>/<source>.<ext>) is retired",
    ));

    out.into_iter()
        .map(|(name, path, status, reason)| Invalid {
            name: name.into(),
            path,
            status,
            reason: reason.into(),
        })
        .collect()
}

fn build() -> Vectors {
    let keys = BTreeMap::from([
        ("k1".to_string(), K1_SECRET.to_string()),
        ("k0".to_string(), K0_SECRET.to_string()),
    ]);
    let ring = ring_of(&keys);
    let valid = build_valid(&ring);
    let invalid = build_invalid(&valid);
    Vectors {
        description: "Test vectors for rendition render paths (docs/url-format.md). The key ring is \
            RENDITION_KEYS=k1:<keys.k1>,k0:<keys.k0>; each secret is the UTF-8 bytes of its string. \
            Each valid vector: signing (key_id, source, ops, format) must give exactly `path` \
            (`message` is the signed message), and `path` must verify. Each invalid vector: \
            verifying `path` must fail with HTTP `status` (400 malformed or non-canonical, \
            403 forged). Generated by crates/sign/tests/vectors.rs (RENDITION_WRITE_VECTORS=1 cargo test \
            --test vectors)."
            .into(),
        keys,
        valid,
        invalid,
    }
}

#[test]
fn vectors_match_the_implementation() {
    let file = vectors_file();
    if std::env::var(WRITE_ENV).as_deref() == Ok("1") {
        let json = serde_json::to_string_pretty(&build()).expect("serialises");
        std::fs::write(&file, json + "\n").expect("writes tests/vectors.json");
    }
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (set {WRITE_ENV}=1 to create it)", file.display()));
    let vectors: Vectors = serde_json::from_str(&text).expect("vectors.json parses");
    let ring = ring_of(&vectors.keys);

    assert!(vectors.valid.len() >= 24, "too few valid vectors");
    assert!(vectors.invalid.len() >= 12, "too few invalid vectors");
    let mut names: Vec<&str> = vectors.valid.iter().map(|v| v.name.as_str()).collect();
    names.extend(vectors.invalid.iter().map(|v| v.name.as_str()));
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "vector names are unique");

    for v in &vectors.valid {
        let output = output_of(&v.format);
        let ops = Ops::parse_tokens(&v.ops).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        output
            .validate(&ops)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(ops.segment(), v.ops, "{}: ops segment is canonical", v.name);
        let req = RenderRequest::new(&v.key_id, &v.source, ops, output)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(req.signing_message(), v.message, "{}: message", v.name);
        assert_eq!(ring.sign(&req).unwrap(), v.path, "{}: path", v.name);
        let secret = &vectors.keys[&v.key_id];
        assert_eq!(
            {
                let (source, _, file) = split(&v.path);
                forge(&v.key_id, secret, source, file)
            },
            v.path,
            "{}: independent HMAC",
            v.name
        );
        assert!(v.path.len() - 1 <= MAX_KEY_BYTES, "{}: length", v.name);
        let verified = ring
            .verify(&v.path)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(verified, req, "{}: verify returns the request", v.name);
    }
    for v in &vectors.invalid {
        assert!(
            matches!(v.status, 400 | 403),
            "{}: status is 400 or 403",
            v.name
        );
        match ring.verify(&v.path) {
            Ok(req) => panic!("{}: {} was accepted as {req:?}", v.name, v.path),
            Err(e) => assert_eq!(e.status_code(), v.status, "{}: {} gave {e}", v.name, v.path),
        }
    }
}

#[test]
fn vectors_file_is_up_to_date() {
    // The generator is deterministic, so a stale file (the format changed, or a vector was
    // added to the generator but not written) shows up here rather than in another language.
    if std::env::var(WRITE_ENV).as_deref() == Ok("1") {
        return; // the other test is rewriting the file
    }
    let text = std::fs::read_to_string(vectors_file()).expect("tests/vectors.json exists");
    let expected = serde_json::to_string_pretty(&build()).expect("serialises") + "\n";
    assert!(
        text == expected,
        "tests/vectors.json differs from what crates/sign/tests/vectors.rs builds: \
         rerun with {WRITE_ENV}=1 and review the diff"
    );
}
